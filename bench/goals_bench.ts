/**
 * Issue 14's goals for the whole pipeline, each beside its anchor from the same run, measured
 * as a user runs it: whole `evochora` processes (startup included in both), wall time to exit,
 * and each process' peak resident memory (VmHWM from /proc, polled).
 *
 * - `run` with the three indexers, exiting only when its indexes are complete, beside `sim`
 *   (the engine alone): ticks/s ratio (goal >= 0.8) and peak RSS (goal <= 400 MB);
 * - stored bytes per tick at sampling 1 over the run's second half beside the seed's full-tick
 *   formula (non-empty cells x 7 + organisms x 1,200, from the run's own statistics): goal
 *   >= 145x;
 * - a 2048x2048 world with 1000 organisms through the whole in-process pipeline: peak RSS
 *   (goal <= 1.5 GB).
 *
 * The other goals' figures are in their suites: the tick stream beside the simulation
 * ("engine: chunk sizes"), the engine host on Kafka ("engine host").
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type Figure, procFile, type Suite } from "./_harness.ts";
import { childEnv, V8_FLAGS_ARG } from "../cli/process_flags.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { readCatalog, readStats } from "../services/indexer/mod.ts";
import { defaultConfig } from "../services/runner/mod.ts";
import { ancestorPlacement } from "../services/simulation_engine/runtime/engine.ts";

const CLI = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Progress on stderr (the report goes to stdout). */
function progress(text: string): void {
  console.error(`[goals bench] ${text}`);
}

/** Peak resident memory of a live process so far, bytes (0 once it is gone). */
async function peakRss(pid: number): Promise<number> {
  const m = /VmHWM:\s+(\d+) kB/.exec(await procFile(pid, "status") ?? "");
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Runs `evochora <args>` to its exit: wall ms and peak RSS; throws on a failed exit. */
async function evochora(args: string[]): Promise<{ ms: number; peak: number }> {
  const t = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    // With the V8 flags and allocator settings of the `evochora` task: the process as a user
    // starts it.
    args: ["run", "-A", V8_FLAGS_ARG, CLI, ...args],
    env: childEnv(),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let done = false;
  const output = child.output().finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, await peakRss(child.pid));
    await sleep(50);
  }
  const out = await output;
  const ms = performance.now() - t;
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).slice(-2000);
    throw new Error(`evochora ${args.join(" ")} exited ${out.code}: ${err}`);
  }
  return { ms, peak };
}

/** Bytes per tick stored at sampling 1 over the second half, and the seed formula's. */
async function storedPerTick(dir: string): Promise<{ stored: number; seed: number }> {
  const storage = await FilesystemStorage.open({ root: dir });
  try {
    const runs = [...Deno.readDirSync(`${dir}/runs`)].map((e) => e.name);
    const runId = runs[0]!;
    const catalog = await readCatalog(storage, runId);
    const half = catalog.slice(Math.floor(catalog.length / 2));
    const first = half[0]!.firstTick;
    const ticks = half.at(-1)!.lastTick - first + 1;
    const stored = half.reduce((n, e) => n + e.storedBytes, 0) / ticks;
    const rows = await readStats(storage, runId, first);
    let seedBytes = 0;
    for (const r of rows) {
      const cells = r.cells_code + r.cells_data + r.cells_energy + r.cells_structure +
        r.cells_label + r.cells_labelref + r.cells_register;
      seedBytes += cells * 7 + r.alive * 1200;
    }
    return { stored, seed: seedBytes / rows.length };
  } finally {
    await storage.close();
  }
}

/** Wall ms and peak resident memory of a whole process. */
interface ProcessCost {
  ms: number;
  peak: number;
}

/** The best time of `a` and `b`, and the worst peak. */
function bestOf(a: ProcessCost, b: ProcessCost): ProcessCost {
  return { ms: Math.min(a.ms, b.ms), peak: Math.max(a.peak, b.peak) };
}

/** World shape of the sim/run comparison. */
const SHAPE = "256x256";

/** Each whole process of the comparison, best time and worst peak over the rounds. */
interface Comparison {
  sim: ProcessCost;
  simInline: ProcessCost;
  run: ProcessCost;
}

/**
 * `sim`, `sim --encoder inline` and `run` in three alternating rounds, best time of each (the
 * machine is shared: with two, `sim` alone ranged 2.5-3.7 s within an hour); peak memory of the
 * worst.
 */
async function compareWholeProcesses(ticks: number): Promise<Comparison> {
  const none = { ms: Infinity, peak: 0 };
  let sim = none;
  let simInline = none;
  let run = none;
  for (let round = 0; round < 3; round++) {
    const simArgs = ["sim", "--ticks", `${ticks}`, "--shape", SHAPE, "--seed", "42"];
    const a = await evochora(simArgs);
    progress(`sim: ${(a.ms / 1000).toFixed(1)} s, ${(a.peak / 2 ** 20).toFixed(0)} MiB`);
    const i = await evochora([...simArgs, "--encoder", "inline"]);
    progress(`sim --encoder inline: ${(i.ms / 1000).toFixed(1)} s`);
    simInline = bestOf(simInline, i);
    const dir = await Deno.makeTempDir({ prefix: "evochora-goals-" });
    try {
      const b = await evochora([
        "run",
        ...["--ticks", `${ticks}`, "--shape", SHAPE, "--seed", "42", "--data-dir", dir],
      ]);
      progress(`run: ${(b.ms / 1000).toFixed(1)} s, ${(b.peak / 2 ** 20).toFixed(0)} MiB`);
      run = bestOf(run, b);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    sim = bestOf(sim, a);
  }
  return { sim, simInline, run };
}

/** {@link storedPerTick} of a 20000-tick `run` at sampling 1, in a temporary data dir. */
async function samplingOnePerTick(): Promise<{ stored: number; seed: number }> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-goals-" });
  let perTick: { stored: number; seed: number };
  try {
    await evochora(["run", "--ticks", "20000", "--sampling", "1", "--data-dir", dir]);
    perTick = await storedPerTick(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  progress(`sampling 1: ${perTick.stored.toFixed(0)} B/tick stored`);
  return perTick;
}

/** Everything the goals table is made of. */
interface GoalMeasurements extends Comparison {
  ticks: number;
  perTick: { stored: number; seed: number };
  /** Peak resident memory of the 2048x2048 run, bytes. */
  big: number;
}

/** The goals table: each goal's figure beside its anchor from the same run. */
function goalFigures(m: GoalMeasurements): Figure[] {
  const { ticks, sim, run, perTick } = m;
  const simTps = ticks / (sim.ms / 1000);
  const inlineTps = ticks / (m.simInline.ms / 1000);
  const runTps = ticks / (run.ms / 1000);
  const encoder = navigator.hardwareConcurrency >= 4 ? "worker" : "inline";
  return [
    {
      name: `sim (engine alone, chunks encoded on a worker: its default on 2+ cores), ${SHAPE}, ` +
        `${ticks} ticks`,
      value: simTps,
      unit: "ticks/s",
    },
    {
      name: "sim --encoder inline (the chunks encoded on the engine's thread)",
      value: inlineTps,
      unit: "ticks/s",
      ratio: inlineTps / simTps,
      ratioOf: "of sim",
    },
    {
      name: `run with the three indexers, until its indexes are complete (encoder: ${encoder}, ` +
        "its default here; goal >= 0.8x)",
      value: runTps,
      unit: "ticks/s",
      ratio: runTps / simTps,
      ratioOf: "of sim",
    },
    {
      name: "the same run beside sim --encoder inline",
      value: runTps,
      unit: "ticks/s",
      ratio: runTps / inlineTps,
      ratioOf: "of sim --encoder inline",
    },
    { name: "sim peak resident memory", value: sim.peak / 2 ** 20, unit: "MiB" },
    {
      name: "run peak resident memory (goal <= 400 MB)",
      value: run.peak / 2 ** 20,
      unit: "MiB",
      ratio: run.peak / sim.peak,
      ratioOf: "of sim",
    },
    {
      name: "seed formula: non-empty cells x 7 + organisms x 1200 per tick (second half)",
      value: perTick.seed,
      unit: "B/tick",
    },
    {
      name: "stored at sampling 1 per tick, second half of 20000 ticks (goal >= 145x)",
      value: perTick.stored,
      unit: "B/tick",
      ratio: perTick.seed / perTick.stored,
      ratioOf: "smaller than the seed formula",
    },
    {
      name: "run, 2048x2048 with 1000 organisms, 2000 ticks: peak (goal <= 1.5 GB)",
      value: m.big / 2 ** 20,
      unit: "MiB",
    },
  ];
}

/** The goals suite (see the module doc). */
export const pipelineGoals: Suite = {
  name: "goals: the whole pipeline beside the engine alone (whole processes, seed 42)",
  async run(): Promise<Figure[]> {
    const ticks = Number(Deno.env.get("EVOCHORA_BENCH_GOAL_TICKS") ?? 60000);
    const comparison = await compareWholeProcesses(ticks);
    const perTick = await samplingOnePerTick();
    const big = await bigWorldPeak();
    return goalFigures({ ...comparison, ticks, perTick, big });
  },
};

/** Peak RSS of `run` on a 2048x2048 world with 1000 ancestors (a JSON config). */
async function bigWorldPeak(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-goals-" });
  try {
    const config = defaultConfig({
      dataDir: `${dir}/data`,
      ticks: 2000,
      engine: { shape: [2048, 2048], programs: [ancestorPlacement(1000)] },
    });
    await Deno.writeTextFile(`${dir}/big.config.json`, JSON.stringify(config));
    const r = await evochora(["run", "--config", `${dir}/big.config.json`]);
    progress(`2048x2048: ${(r.ms / 1000).toFixed(1)} s, ${(r.peak / 2 ** 20).toFixed(0)} MiB`);
    return r.peak;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
