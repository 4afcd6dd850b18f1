/**
 * `evochora sim`: runs the engine alone and reports what evolved, with a content hash of the
 * emitted chunks for determinism checks.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import {
  ancestorPlacement,
  createEngine,
  type EncodedChunk,
  type Engine,
  type EngineConfig,
  type EngineConfigInput,
  type ProgramPlacement,
  resolveEngineConfig,
  type Simulation,
  TickStream,
} from "../services/simulation_engine/runtime/mod.ts";
import type { CapturedChunk } from "../codec/mod.ts";
import { CliError, encoderFlag, intFlag, seedFlag, shapeFlag } from "./cli_error.ts";
import { ChunkEncoderThread } from "../services/simulation_engine/chunk_encoder_thread.ts";
import { type EngineOrigin, engineSetupError, isEngineSetupError } from "./engine_setup_error.ts";
import { compact, Progress } from "./progress.ts";

export const SIM_USAGE = `Usage: evochora sim [options]

Runs the simulation engine alone (no pipeline) and prints a summary.

Options:
  --ticks N          ticks to run (default 10000)
  --shape WxH        world shape, 2 to 4 sizes joined by 'x' (default 256x256)
  --seed S           random seed, 0..2^64-1 (default 42)
  --topology T       torus or bounded (default torus)
  --program FILE     assembler source to place instead of the shipped ancestor
  --count N          copies of the program to place (default 1)
  --energy N         initial energy per copy (default 20000)
  --sampling N       ticks between samples (default 10)
  --encoder E        where the chunks are encoded: 'worker' (a thread of their own, beside
                     the simulation) or 'inline' (the engine's thread); default: worker on
                     machines with 2 or more cores. The bytes are the same
  --json             print one JSON object as the last line of stdout
  -h, --help         show this help`;

/** The --json summary. */
export interface SimSummary {
  ticks: number;
  seed: string;
  shape: number[];
  organismsAlive: number;
  organismsCreated: number;
  maxGeneration: number;
  maxGenerationEver: number;
  distinctGenomes: number;
  instructionsExecuted: number;
  chunks: number;
  chunkBytes: number;
  chunkSha256: string;
  /** Where the chunks were encoded. */
  encoder: "worker" | "inline";
  mutations: Record<string, number>;
  elapsedMs: number;
  ticksPerSecond: number;
  instructionsPerSecond: number;
}

/** The most bytes a --program file may have; the shipped ancestor has about 3 KB. */
const MAX_PROGRAM_BYTES = 1 << 20;

/**
 * Reads a --program file: a regular file of at most {@link MAX_PROGRAM_BYTES}. Errors name
 * the file and the kind of problem, never its content.
 */
async function readProgram(path: string): Promise<string> {
  const fail = (why: string) =>
    new CliError(`Cannot read program '${path}': ${why}; pass an existing .evo file`);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw fail("not a regular file");
    if (info.size > MAX_PROGRAM_BYTES) {
      throw fail(`${info.size} bytes, more than the ${MAX_PROGRAM_BYTES} a program may have`);
    }
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof Deno.errors.NotFound) throw fail("no such file");
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      throw fail("permission denied");
    }
    throw fail(`cannot read it (${(e as Error).name})`);
  }
}

/** The flags behind each engine setting, for messages about a world that cannot be set up. */
function simOrigin(
  values: Partial<Record<"shape" | "count" | "energy" | "sampling" | "program", string>>,
  programName: string,
): EngineOrigin {
  const flag = (name: keyof typeof values, fallback: string) =>
    `--${name} ${values[name] ?? `${fallback} (the default)`}`;
  const shape = flag("shape", "256x256");
  const fields: [string, string][] = [
    ["shape", shape],
    ["programs[0].count", flag("count", "1")],
    ["programs[0].energy", flag("energy", "20000")],
    ["programs[0].source", flag("program", "ancestor.evo")],
    ["intervals.sampling", flag("sampling", "10")],
  ];
  const origin: EngineOrigin = {
    flagOf: (field) => fields.find(([f]) => field.startsWith(f))?.[1],
    world: values.program === undefined
      ? `${shape} with the shipped ancestor`
      : `${shape} with --program ${values.program}`,
    fix: values.program === undefined
      ? "choose another --shape"
      : "choose another --shape or --program",
  };
  if (values.program !== undefined) {
    origin.program = { path: values.program, assembledAs: `${programName}.evo` };
  }
  return origin;
}

/** Parses the flags of `sim` (unknown ones throw). */
function parseSimFlags(args: string[]) {
  return parseArgs({
    args,
    options: {
      ticks: { type: "string" },
      shape: { type: "string" },
      seed: { type: "string" },
      topology: { type: "string" },
      program: { type: "string" },
      count: { type: "string" },
      energy: { type: "string" },
      sampling: { type: "string" },
      encoder: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/** The flags of `sim` as parsed. */
type SimFlags = ReturnType<typeof parseSimFlags>;

/** The engine settings of the flags, before the engine resolves them. */
interface SimSetup {
  input: EngineConfigInput;
  placement: ProgramPlacement;
}

/**
 * The world and the program placed in it, from the flags; --program replaces the shipped
 * ancestor's source. The order of the checks decides which of several bad flags is reported.
 */
async function simSetup(flags: SimFlags): Promise<SimSetup> {
  const shape = shapeFlag(flags.shape) ?? [256, 256];
  const topology = flags.topology ?? "torus";
  if (topology !== "torus" && topology !== "bounded") {
    throw new CliError(`--topology expects 'torus' or 'bounded', got '${topology}'`);
  }
  const placement = ancestorPlacement(
    intFlag("count", flags.count, 1),
    intFlag("energy", flags.energy, 20000, 1),
  );
  if (flags.program !== undefined) {
    placement.source = await readProgram(flags.program);
    placement.name = flags.program.replace(/^.*\//, "").replace(/\.evo$/, "");
  }
  const input: EngineConfigInput = {
    shape,
    topology,
    seed: seedFlag(flags.seed) ?? 42n,
    intervals: { sampling: intFlag("sampling", flags.sampling, 10, 1) },
  };
  return { input, placement };
}

/**
 * The engine of `setup`. A world that cannot be set up becomes a CliError naming the flag at
 * fault (see {@link simOrigin}).
 */
function createSimEngine(
  setup: SimSetup,
  flags: SimFlags,
): { config: EngineConfig; engine: Engine } {
  try {
    const config = resolveEngineConfig(setup.input, setup.placement);
    return { config, engine: createEngine(config) };
  } catch (e) {
    if (!isEngineSetupError(e)) throw e;
    throw engineSetupError(e, simOrigin(flags, setup.placement.name));
  }
}

/** The emitted chunks: how many, their bytes and a hash of their content in order. */
class ChunkTally {
  readonly #hash = createHash("sha256");
  #count = 0;
  #bytes = 0;

  /** Chunks added. */
  get count(): number {
    return this.#count;
  }

  /** Their bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds a chunk; null (no chunk completed this tick) is ignored. */
  add(chunk: EncodedChunk | null): void {
    if (chunk === null) return;
    const bytes = chunk.bytes;
    this.#hash.update(bytes);
    this.#count++;
    this.#bytes += bytes.length;
  }

  /** The SHA-256 of every chunk added, in hex; ends the hash, so call it once. */
  digest(): string {
    return this.#hash.digest("hex");
  }
}

/** What the ticks' loop works with. */
interface SimLoop {
  sim: Simulation;
  stream: TickStream;
  ticks: number;
  /** Sees the chunks in order. */
  emit: (chunk: EncodedChunk | null) => void;
  /** Redraws the status line (it limits itself to a few redraws a second). */
  progress: () => void;
}

/** The loop of `sim --encoder inline`: the stream encodes each chunk on this thread. */
function simulateInline(o: SimLoop): void {
  o.emit(o.stream.observe());
  for (let t = 0; t < o.ticks; t++) {
    o.sim.step();
    o.emit(o.stream.observe());
    if ((t & 63) === 0) o.progress();
  }
  o.emit(o.stream.flush());
}

/**
 * The loop of `sim --encoder worker`: the stream captures, a {@link ChunkEncoderThread}
 * encodes, up to two chunks in flight, and `emit` sees the chunks in order.
 */
async function simulateEncodingOnWorker(o: SimLoop): Promise<void> {
  const { sim, stream, emit } = o;
  const encoder = new ChunkEncoderThread();
  encoder.warmUp();
  const pending: Promise<EncodedChunk>[] = [];
  const add = async (capture: CapturedChunk | null) => {
    if (capture === null) return;
    const chunk = encoder.encode(capture, stream.recycle);
    chunk.catch(() => {}); // awaited below, in order
    pending.push(chunk);
    while (pending.length > 2) emit(await pending.shift()!);
  };
  try {
    await add(stream.capture());
    for (let t = 0; t < o.ticks; t++) {
      sim.step();
      const capture = stream.capture();
      if (capture !== null) await add(capture);
      if ((t & 63) === 0) o.progress();
    }
    await add(stream.flushCapture());
    for (const chunk of pending) emit(await chunk);
  } finally {
    encoder.close();
  }
}

/** Options of {@link simulate}. */
interface SimulateOptions {
  sim: Simulation;
  config: EngineConfig;
  ticks: number;
  /** Encode the chunks on a worker thread. */
  onWorker: boolean;
}

/** What {@link simulate} did: the chunks it emitted and the time it took. */
interface SimRun {
  chunks: ChunkTally;
  elapsedMs: number;
}

/** Runs the ticks with a live status line; the chunks are only counted and hashed. */
async function simulate(o: SimulateOptions): Promise<SimRun> {
  // Content only: no run id, no wall clock, so equal seeds give equal hashes.
  const stream = new TickStream(o.sim, {
    intervals: o.config.intervals,
    runId: "",
    clock: () => 0,
    capture: o.onWorker,
  });
  const chunks = new ChunkTally();
  const progress = new Progress();
  const started = performance.now();
  const status = simStatus({ sim: o.sim, ticks: o.ticks, started, chunks });
  const loop: SimLoop = {
    sim: o.sim,
    stream,
    ticks: o.ticks,
    emit: (chunk) => chunks.add(chunk),
    progress: () => progress.update(status),
  };
  if (o.onWorker) await simulateEncodingOnWorker(loop);
  else simulateInline(loop);
  progress.done(status);
  return { chunks, elapsedMs: performance.now() - started };
}

/** The live status line of `sim`, with rates since `started`. */
function simStatus(
  o: { sim: Simulation; ticks: number; started: number; chunks: ChunkTally },
): () => string {
  const { sim, ticks, started, chunks } = o;
  return () => {
    const secs = (performance.now() - started) / 1000;
    return `tick ${sim.tick}/${ticks} | ${compact(sim.tick / Math.max(secs, 1e-9))} ticks/s | ` +
      `alive ${sim.organisms.length} | gen ${sim.maxGeneration} | ` +
      `${compact(sim.instructionsExecuted / Math.max(secs, 1e-9))} instr/s | ` +
      `chunks ${chunks.count} (${(chunks.bytes / 1e6).toFixed(1)} MB, ${
        (chunks.bytes / 1e6 / Math.max(secs, 1e-9)).toFixed(1)
      } MB/s)`;
  };
}

/** The highest generation among the living and how many distinct genomes they have. */
function livingGenerations(sim: Simulation): { maxGeneration: number; distinctGenomes: number } {
  let maxGeneration = 0;
  const genomes = new Set<number>();
  for (const o of sim.organisms) {
    if (o.generation > maxGeneration) maxGeneration = o.generation;
    genomes.add(o.genomeHash);
  }
  return { maxGeneration, distinctGenomes: genomes.size };
}

/** Options of {@link simSummary}. */
interface SimSummaryInput {
  engine: Engine;
  config: EngineConfig;
  run: SimRun;
  onWorker: boolean;
}

/** The summary of a finished `sim`. */
function simSummary(o: SimSummaryInput): SimSummary {
  const sim = o.engine.sim;
  const { chunks, elapsedMs } = o.run;
  const living = livingGenerations(sim);
  return {
    ticks: sim.tick,
    seed: o.config.seed.toString(),
    shape: o.config.shape,
    organismsAlive: sim.organisms.length,
    organismsCreated: sim.organismsCreated,
    maxGeneration: living.maxGeneration,
    maxGenerationEver: sim.maxGeneration,
    distinctGenomes: living.distinctGenomes,
    instructionsExecuted: sim.instructionsExecuted,
    chunks: chunks.count,
    chunkBytes: chunks.bytes,
    chunkSha256: chunks.digest(),
    encoder: o.onWorker ? "worker" : "inline",
    mutations: { ...o.engine.mutation.counts },
    elapsedMs: Math.round(elapsedMs),
    ticksPerSecond: Math.round(sim.tick / (elapsedMs / 1000)),
    instructionsPerSecond: Math.round(sim.instructionsExecuted / (elapsedMs / 1000)),
  };
}

/**
 * Prints the summary: one JSON line with `json`, else one sentence. `elapsedMs` is the
 * unrounded time, so the seconds shown are rounded once.
 */
function printSimSummary(summary: SimSummary, json: boolean, elapsedMs: number): void {
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(
    `${summary.ticks} ticks in ${
      (elapsedMs / 1000).toFixed(1)
    } s: ${summary.organismsAlive} alive, ` +
      `${summary.organismsCreated} created, max generation ${summary.maxGeneration}, ` +
      `${summary.distinctGenomes} distinct genomes, ${summary.chunks} chunks ` +
      `(${(summary.chunkBytes / 1e6).toFixed(1)} MB), sha256 ${summary.chunkSha256}`,
  );
}

/** Runs `evochora sim` with the given arguments; returns the process exit code. */
export async function simCommand(args: string[]): Promise<number> {
  const flags = parseSimFlags(args);
  if (flags.help) {
    console.log(SIM_USAGE);
    return 0;
  }
  const ticks = intFlag("ticks", flags.ticks, 10000);
  const { config, engine } = createSimEngine(await simSetup(flags), flags);
  // Nothing runs beside the engine here: any second core is free for the encoder (1.2-1.5x the
  // ticks/s on two cores, docs/benchmarks.md). A pipeline's engine needs more cores for it.
  const onWorker = encoderFlag(flags.encoder) ?? navigator.hardwareConcurrency >= 2;
  const run = await simulate({ sim: engine.sim, config, ticks, onWorker });
  printSimSummary(simSummary({ engine, config, run, onWorker }), flags.json, run.elapsedMs);
  return 0;
}
