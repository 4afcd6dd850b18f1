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

/**
 * The loop of `sim --encoder worker`: the stream captures, a {@link ChunkEncoderThread}
 * encodes, up to two chunks in flight, and `emit` sees the chunks in order.
 */
async function simulateEncodingOnWorker(
  sim: Simulation,
  stream: TickStream,
  ticks: number,
  emit: (chunk: EncodedChunk) => void,
  progress: () => void,
): Promise<void> {
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
    for (let t = 0; t < ticks; t++) {
      sim.step();
      const capture = stream.capture();
      if (capture !== null) await add(capture);
      if ((t & 63) === 0) progress();
    }
    await add(stream.flushCapture());
    for (const chunk of pending) emit(await chunk);
  } finally {
    encoder.close();
  }
}

/** Runs `evochora sim` with the given arguments; returns the process exit code. */
export async function simCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
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
  });
  if (values.help) {
    console.log(SIM_USAGE);
    return 0;
  }
  const ticks = intFlag("ticks", values.ticks, 10000);
  const shape = shapeFlag(values.shape) ?? [256, 256];
  const topology = values.topology ?? "torus";
  if (topology !== "torus" && topology !== "bounded") {
    throw new CliError(`--topology expects 'torus' or 'bounded', got '${topology}'`);
  }
  const placement = ancestorPlacement(
    intFlag("count", values.count, 1),
    intFlag("energy", values.energy, 20000, 1),
  );
  if (values.program !== undefined) {
    placement.source = await readProgram(values.program);
    placement.name = values.program.replace(/^.*\//, "").replace(/\.evo$/, "");
  }
  const input: EngineConfigInput = {
    shape,
    topology,
    seed: seedFlag(values.seed) ?? 42n,
    intervals: { sampling: intFlag("sampling", values.sampling, 10, 1) },
  };
  let config: EngineConfig;
  let engine: Engine;
  try {
    config = resolveEngineConfig(input, placement);
    engine = createEngine(config);
  } catch (e) {
    if (!isEngineSetupError(e)) throw e;
    throw engineSetupError(e, simOrigin(values, placement.name));
  }
  const sim = engine.sim;
  // Nothing runs beside the engine here: any second core is free for the encoder (1.2-1.5x the
  // ticks/s on two cores, docs/benchmarks.md). A pipeline's engine needs more cores for it.
  const onWorker = encoderFlag(values.encoder) ?? navigator.hardwareConcurrency >= 2;
  // Content only: no run id, no wall clock, so equal seeds give equal hashes.
  const stream = new TickStream(sim, {
    intervals: config.intervals,
    runId: "",
    clock: () => 0,
    capture: onWorker,
  });
  const hash = createHash("sha256");
  let chunks = 0;
  let chunkBytes = 0;
  const emit = (chunk: ReturnType<TickStream["observe"]>) => {
    if (chunk === null) return;
    const bytes = chunk.bytes;
    hash.update(bytes);
    chunks++;
    chunkBytes += bytes.length;
  };
  const progress = new Progress();
  const started = performance.now();
  const status = () => {
    const secs = (performance.now() - started) / 1000;
    return `tick ${sim.tick}/${ticks} | ${compact(sim.tick / Math.max(secs, 1e-9))} ticks/s | ` +
      `alive ${sim.organisms.length} | gen ${sim.maxGeneration} | ` +
      `${compact(sim.instructionsExecuted / Math.max(secs, 1e-9))} instr/s | ` +
      `chunks ${chunks} (${(chunkBytes / 1e6).toFixed(1)} MB, ${
        (chunkBytes / 1e6 / Math.max(secs, 1e-9)).toFixed(1)
      } MB/s)`;
  };
  if (onWorker) {
    await simulateEncodingOnWorker(sim, stream, ticks, emit, () => progress.update(status));
  } else {
    emit(stream.observe());
    for (let t = 0; t < ticks; t++) {
      sim.step();
      emit(stream.observe());
      if ((t & 63) === 0) progress.update(status);
    }
    emit(stream.flush());
  }
  progress.done(status);
  const elapsedMs = performance.now() - started;
  let maxGen = 0;
  const genomes = new Set<number>();
  for (const o of sim.organisms) {
    if (o.generation > maxGen) maxGen = o.generation;
    genomes.add(o.genomeHash);
  }
  const summary: SimSummary = {
    ticks: sim.tick,
    seed: config.seed.toString(),
    shape: config.shape,
    organismsAlive: sim.organisms.length,
    organismsCreated: sim.organismsCreated,
    maxGeneration: maxGen,
    maxGenerationEver: sim.maxGeneration,
    distinctGenomes: genomes.size,
    instructionsExecuted: sim.instructionsExecuted,
    chunks,
    chunkBytes,
    chunkSha256: hash.digest("hex"),
    encoder: onWorker ? "worker" : "inline",
    mutations: { ...engine.mutation.counts },
    elapsedMs: Math.round(elapsedMs),
    ticksPerSecond: Math.round(sim.tick / (elapsedMs / 1000)),
    instructionsPerSecond: Math.round(sim.instructionsExecuted / (elapsedMs / 1000)),
  };
  if (values.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(
      `${summary.ticks} ticks in ${
        (elapsedMs / 1000).toFixed(1)
      } s: ${summary.organismsAlive} alive, ` +
        `${summary.organismsCreated} created, max generation ${summary.maxGeneration}, ` +
        `${summary.distinctGenomes} distinct genomes, ${summary.chunks} chunks ` +
        `(${(summary.chunkBytes / 1e6).toFixed(1)} MB), sha256 ${summary.chunkSha256}`,
    );
  }
  return 0;
}
