/**
 * Engine configuration: the knobs of the world, its thermodynamics, plugins and output, with
 * defaults and validation that names the offending field.
 *
 * @module
 */

import { ANCESTOR_SOURCE, checkAncestorShape } from "./ancestor.ts";
import type { Topology } from "./world.ts";

/** Energy and entropy rules. */
export interface ThermoConfig {
  /** Energy cap per organism. */
  maxEnergy: number;
  /** Death when entropy reaches this. */
  maxEntropy: number;
  /** Extra energy charged for a failed instruction. */
  failEnergy: number;
  /** Extra entropy added for a failed instruction. */
  failEntropy: number;
  /** Extra energy for touching an unowned non-empty cell (PEEK/XCHG). */
  unownedAccess: number;
  /** Extra energy for touching a cell owned by another organism. */
  foreignAccess: number;
  /** Extra energy for writing a molecule (POKE/XCHG); STRUCTURE costs `structureWrite`. */
  write: number;
  structureWrite: number;
  /** Extra energy for removing a STRUCTURE molecule. */
  structureBreak: number;
  /** Entropy added per molecule written. */
  writeEntropy: number;
  /** Hamming distance tolerated when matching labels. */
  labelTolerance: number;
  /**
   * 1 lets PEEK take cells of other living organisms (predation, at `foreignAccess`); 0 makes
   * it fail. Off by default: check-then-act races then tear holes into bodies under
   * construction faster than selection removes them.
   */
  foreignPeek: number;
}

/** Energy sources. */
export interface EnergyConfig {
  /** ENERGY molecules placed at random before the first tick. */
  initialCount: number;
  /** Value of every ENERGY molecule placed by the sources. */
  value: number;
  /** Solar: molecules dropped at random cells per 1000 ticks. */
  solarPer1000Ticks: number;
  /** Geysers: fixed sources emitting into their neighbourhood. */
  geysers: number;
  geyserInterval: number;
  geyserRadius: number;
  /** Sources pause while ENERGY molecules cover more than this share (per mille) of the world. */
  maxCoveragePerMille: number;
}

/** What happens to dead bodies. */
export interface DecayConfig {
  /** Ticks after death before a body cell decays. */
  delayTicks: number;
  /** Chance (per mille) that a decaying cell turns into ENERGY instead of vanishing. */
  energyPerMille: number;
  /** Value of ENERGY left by decay. */
  energyValue: number;
}

/** Mutation at birth, chances per mille per birth. */
export interface MutationConfig {
  substitutionPerMille: number;
  insertionPerMille: number;
  deletionPerMille: number;
  labelRewritePerMille: number;
}

/** Sampling and chunking of the emitted tick stream. */
export interface IntervalsConfig {
  /** Ticks between samples. */
  sampling: number;
  /** Samples between accumulated deltas (relative to the chunk's snapshot). */
  accumulatedDelta: number;
  /** Samples between full states. */
  snapshot: number;
  /** Snapshot periods per chunk; every chunk starts with a snapshot. */
  chunk: number;
  /**
   * Chunks between checkpoints: 1 takes one after every chunk (with the default `chunk` of 1,
   * at each snapshot), 0 none. Changes no chunk, so a checkpoint restores under any value.
   */
  checkpoint: number;
}

/** A program placed at start. */
export interface ProgramPlacement {
  name: string;
  /** Assembler source. */
  source: string;
  /** How many copies (spread over the world by the seeded RNG when `origin` is absent). */
  count: number;
  /** Fixed origin of the first copy. */
  origin?: number[];
  energy: number;
}

/** The whole engine configuration. */
export interface EngineConfig {
  shape: number[];
  topology: Topology;
  seed: bigint;
  thermo: ThermoConfig;
  energy: EnergyConfig;
  decay: DecayConfig;
  mutation: MutationConfig;
  intervals: IntervalsConfig;
  programs: ProgramPlacement[];
}

/** Deep-partial input accepted by {@link resolveEngineConfig}. */
export type EngineConfigInput = {
  shape?: number[];
  topology?: Topology;
  seed?: bigint | number;
  thermo?: Partial<ThermoConfig>;
  energy?: Partial<EnergyConfig>;
  decay?: Partial<DecayConfig>;
  mutation?: Partial<MutationConfig>;
  intervals?: Partial<IntervalsConfig>;
  programs?: ProgramPlacement[];
};

/** Defaults, tuned so the shipped ancestor evolves on tori from 64x64 to 256x256. */
export const DEFAULT_THERMO: ThermoConfig = {
  maxEnergy: 60000,
  maxEntropy: 20000,
  failEnergy: 3,
  failEntropy: 2,
  unownedAccess: 1,
  foreignAccess: 4,
  write: 1,
  structureWrite: 5,
  structureBreak: 10,
  writeEntropy: 1,
  labelTolerance: 2,
  foreignPeek: 0,
};

export const DEFAULT_ENERGY: EnergyConfig = {
  initialCount: 2000,
  value: 1000,
  solarPer1000Ticks: 2500,
  geysers: 8,
  geyserInterval: 20,
  geyserRadius: 6,
  maxCoveragePerMille: 40,
};

/**
 * A body returns 15 energy per cell on average as a few full-sized ENERGY molecules. The
 * sources pause at a share of the world covered by ENERGY molecules, whatever their value: as
 * many small ones (formerly 150 per mille of value 100) they held that share in worlds of
 * 64x64 to 180x180 and starved the population, which died out in 60000 to 140000 ticks.
 */
export const DEFAULT_DECAY: DecayConfig = {
  delayTicks: 200,
  energyPerMille: 15,
  energyValue: 1000,
};

export const DEFAULT_MUTATION: MutationConfig = {
  substitutionPerMille: 60,
  insertionPerMille: 15,
  deletionPerMille: 15,
  labelRewritePerMille: 20,
};

/**
 * A snapshot every 50 samples (one chunk per 500 ticks at sampling 10) and no accumulated deltas
 * (`accumulatedDelta` equal to `snapshot`): a snapshot of the evolved 256x256 world is ~26 deltas'
 * bytes, so with one every 20 samples snapshots were 58% of the raw bytes, and writing,
 * compressing, decoding and replaying them most of what the pipeline did per tick. Measured
 * (docs/benchmarks.md, "intervals"): `run` 24% less wall and 34% less CPU, 30% fewer bytes
 * stored; a random tick's organisms through the API take ~2x as long (a chunk's organisms
 * decode whole; its world decodes only the cells), sequential ticks as fast. Accumulated deltas
 * (every 10 samples) saved the API nothing measurable and cost 8% more bytes.
 */
export const DEFAULT_INTERVALS: IntervalsConfig = {
  sampling: 10,
  accumulatedDelta: 50,
  snapshot: 50,
  chunk: 1,
  checkpoint: 1,
};

/** Thrown for a configuration that cannot run; names the field. */
export class ConfigError extends Error {
  /** Dotted path of the bad field, e.g. `thermo.maxEntropy`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`Invalid config '${field}': ${message}`);
    this.name = "ConfigError";
    this.field = field;
  }
}

/** Inclusive `[min, max]` of every field of a section. */
type Ranges<T> = { [K in keyof T]: [number, number] };

/** Upper bound of the counts, costs and intervals that have no tighter natural limit. */
const BIG = 1 << 30;

/** Most cells a world may have (2^28, as the error message says). */
const MAX_CELLS = 1 << 28;

const THERMO_RANGES: Ranges<ThermoConfig> = {
  maxEnergy: [1, 500000],
  maxEntropy: [1, BIG],
  failEnergy: [0, BIG],
  failEntropy: [0, BIG],
  unownedAccess: [0, BIG],
  foreignAccess: [0, BIG],
  write: [0, BIG],
  structureWrite: [0, BIG],
  structureBreak: [0, BIG],
  writeEntropy: [0, BIG],
  labelTolerance: [0, 3],
  foreignPeek: [0, 1],
};

const ENERGY_RANGES: Ranges<EnergyConfig> = {
  initialCount: [0, BIG],
  value: [1, 500000],
  solarPer1000Ticks: [0, BIG],
  geysers: [0, 10000],
  geyserInterval: [1, BIG],
  geyserRadius: [1, 1000],
  maxCoveragePerMille: [0, 1000],
};

const DECAY_RANGES: Ranges<DecayConfig> = {
  delayTicks: [0, BIG],
  energyPerMille: [0, 1000],
  energyValue: [1, 500000],
};

const MUTATION_RANGES: Ranges<MutationConfig> = {
  substitutionPerMille: [0, 1000],
  insertionPerMille: [0, 1000],
  deletionPerMille: [0, 1000],
  labelRewritePerMille: [0, 1000],
};

const INTERVALS_RANGES: Ranges<IntervalsConfig> = {
  sampling: [1, BIG],
  accumulatedDelta: [1, BIG],
  snapshot: [1, BIG],
  chunk: [1, 10000],
  checkpoint: [0, BIG],
};

/** Checks one integer field; the error names its dotted `path` so the user can find it. */
function intField(
  path: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ConfigError(path, `expected an integer, got ${JSON.stringify(value)}`);
  }
  if (value < min || value > max) {
    throw new ConfigError(path, `expected ${min}..${max}, got ${value}`);
  }
  return value;
}

/**
 * Merges one section over its defaults. Unknown fields are refused rather than ignored, so a
 * misspelt knob cannot silently leave its default in place.
 */
function section<T extends object>(
  name: string,
  defaults: T,
  input: Partial<T> | undefined,
  ranges: Ranges<T>,
): T {
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    throw new ConfigError(name, "expected an object");
  }
  const out = { ...defaults };
  for (const key of Object.keys(input ?? {})) {
    if (!(key in defaults)) {
      throw new ConfigError(
        `${name}.${key}`,
        `unknown field; known: ${Object.keys(defaults).join(", ")}`,
      );
    }
  }
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const v = input?.[key] ?? defaults[key];
    const [min, max] = ranges[key];
    (out as Record<string, unknown>)[key] = intField(`${name}.${key}`, v, min, max);
  }
  return out;
}

/** Parses `256x256` or `64x64x8` into a shape. */
export function parseShape(text: string): number[] {
  const parts = text.trim().toLowerCase().split("x");
  const shape = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (shape.length < 1 || shape.length > 4 || shape.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new ConfigError(
      "shape",
      `'${text}' is not a shape; expected sizes joined by 'x', e.g. 256x256 or 32x32x16`,
    );
  }
  return shape;
}

/**
 * Validates the world's shape. Returns the given array itself; the resolved config takes a
 * copy, so later changes to the input cannot reach it.
 */
function resolveShape(input: number[] | undefined): number[] {
  const shape = input ?? [256, 256];
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 4) {
    throw new ConfigError("shape", "expected 1 to 4 dimension sizes, e.g. [256, 256]");
  }
  let cells = 1;
  shape.forEach((s, i) => {
    intField(`shape[${i}]`, s, 4, 1 << 20);
    cells *= s;
  });
  if (cells > MAX_CELLS) {
    throw new ConfigError("shape", `${shape.join("x")} has ${cells} cells; at most 2^28`);
  }
  return shape;
}

/** Validates the topology at run time: config files are untyped, whatever the type says. */
function resolveTopology(input: Topology | undefined): Topology {
  const topology = input ?? "torus";
  if (topology !== "torus" && topology !== "bounded") {
    throw new ConfigError(
      "topology",
      `expected "torus" or "bounded", got ${JSON.stringify(topology)}`,
    );
  }
  return topology;
}

/**
 * Turns the seed into a bigint. A number beyond the safe integers may already have lost
 * precision, so it is refused rather than turned into some other seed.
 */
function resolveSeed(input: bigint | number | undefined): bigint {
  let seed: bigint;
  const rawSeed = input ?? 42;
  if (typeof rawSeed === "bigint") seed = rawSeed;
  else if (typeof rawSeed === "number" && Number.isSafeInteger(rawSeed)) seed = BigInt(rawSeed);
  else throw new ConfigError("seed", `expected an integer, got ${JSON.stringify(rawSeed)}`);
  if (seed < 0n || seed >= 1n << 64n) {
    throw new ConfigError("seed", "expected 0..2^64-1");
  }
  return seed;
}

/** The numeric sections, validated in a fixed order so the first bad field is reported. */
type Sections = Pick<EngineConfig, "thermo" | "energy" | "decay" | "mutation" | "intervals">;

/** Resolves every numeric section over its defaults. */
function resolveSections(input: EngineConfigInput): Sections {
  return {
    thermo: section("thermo", DEFAULT_THERMO, input.thermo, THERMO_RANGES),
    energy: section("energy", DEFAULT_ENERGY, input.energy, ENERGY_RANGES),
    decay: section("decay", DEFAULT_DECAY, input.decay, DECAY_RANGES),
    mutation: section("mutation", DEFAULT_MUTATION, input.mutation, MUTATION_RANGES),
    intervals: section("intervals", DEFAULT_INTERVALS, input.intervals, INTERVALS_RANGES),
  };
}

/** What {@link resolvePrograms} needs besides the programs themselves. */
interface ProgramsContext {
  /** Programs given in the input; when absent, `ancestor` alone. */
  programs: ProgramPlacement[] | undefined;
  ancestor: ProgramPlacement | undefined;
  /** The validated shape, as given. */
  shape: number[];
  /** Bound of a program's initial energy: it cannot start with more than it may hold. */
  maxEnergy: number;
}

/**
 * Chooses the programs (the given ones, else the ancestor) and validates them. The shipped
 * ancestor is checked against the shape first, so an unusable world is refused with the reason.
 */
function resolvePrograms(ctx: ProgramsContext): ProgramPlacement[] {
  const { shape, maxEnergy } = ctx;
  const programs = ctx.programs ?? (ctx.ancestor ? [ctx.ancestor] : []);
  // Config files are untyped: a list of objects is checked before anything reads them.
  if (!Array.isArray(programs)) throw new ConfigError("programs", "expected a list of programs");
  programs.forEach((p: unknown, i) => {
    if (typeof p !== "object" || p === null || Array.isArray(p)) {
      throw new ConfigError(
        `programs[${i}]`,
        "expected an object with 'source', 'count', 'energy'",
      );
    }
  });
  // The shipped ancestor is known by its source (also when given as a file of one's own).
  if (programs.some((p) => p.source === ANCESTOR_SOURCE && p.count > 0)) {
    checkAncestorShape(shape);
  }
  programs.forEach((p, i) => {
    if (typeof p.source !== "string" || p.source.length === 0) {
      throw new ConfigError(`programs[${i}].source`, "expected assembler source text");
    }
    intField(`programs[${i}].count`, p.count, 0, 100000);
    intField(`programs[${i}].energy`, p.energy, 1, maxEnergy);
    if (p.origin !== undefined && p.origin.length !== shape.length) {
      throw new ConfigError(`programs[${i}].origin`, `expected ${shape.length} coordinates`);
    }
  });
  return programs;
}

/**
 * Fills in defaults and validates. Throws {@link ConfigError} naming the field, and an
 * UnsupportedShapeError (a RangeError naming the shape, the reason and the shapes that work)
 * when the shipped ancestor is to be placed in a world it cannot live in. Programs of one's own
 * have no fixed limits: `createEngine` refuses one only when its body does not fit.
 */
export function resolveEngineConfig(
  input: EngineConfigInput,
  ancestor?: ProgramPlacement,
): EngineConfig {
  const shape = resolveShape(input.shape);
  const topology = resolveTopology(input.topology);
  const seed = resolveSeed(input.seed);
  const { thermo, energy, decay, mutation, intervals } = resolveSections(input);
  const programs = resolvePrograms({
    programs: input.programs,
    ancestor,
    shape,
    maxEnergy: thermo.maxEnergy,
  });
  return {
    shape: [...shape],
    topology,
    seed,
    thermo,
    energy,
    decay,
    mutation,
    intervals,
    programs,
  };
}
