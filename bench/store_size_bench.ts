/**
 * Indexing cost against the size of the store: the time of a `run` (engine, persistence, the
 * three indexers, until every index of the run is written) in an empty data directory beside
 * the same run in a directory holding many earlier runs without index files (the worst case:
 * each is work an indexer could take up), alternately, best of three rounds each. `run` indexes
 * only its own run; for contrast, the same run indexing every run it finds, as `serve` and
 * `dev` do.
 *
 * @module
 */

import {
  defaultConfig,
  Pipeline,
  type PipelineOptions,
  resolveConfig,
} from "../services/runner/mod.ts";
import type { Figure, Suite } from "./_harness.ts";

/** Earlier runs in the crowded directory. */
const EARLIER_RUNS = Number(Deno.env.get("EVOCHORA_BENCH_EARLIER_RUNS") ?? 50);
/** The measured run. */
const TICKS = 50000;
const SHAPE = [128, 128];

/** Copies directory `from` into the empty directory `to`. */
async function copy(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).output();
  if (!out.success) throw new Error(`cp ${from} ${to}: ${new TextDecoder().decode(out.stderr)}`);
  // The copy's writes reach the disk now, not during the measured run.
  await new Deno.Command("sync").output();
}

/** Runs the in-process pipeline to its end with every index written; returns ms. */
async function timedRun(
  dataDir: string,
  ticks: number,
  o: PipelineOptions & { indexers?: boolean },
) {
  const pipeline = await Pipeline.create(
    resolveConfig(
      defaultConfig({
        dataDir,
        ticks,
        engine: { shape: SHAPE, seed: 42 },
        indexers: o.indexers ?? true,
      }),
    ),
    undefined,
    o,
  );
  const t = performance.now();
  await pipeline.start();
  await pipeline.engine!.done;
  const complete = await pipeline.stop(300_000);
  const ms = performance.now() - t;
  if (!complete) {
    throw new Error(
      `bench run in ${dataDir} did not complete: ${pipeline.lastDrain?.missing.join("; ")}`,
    );
  }
  return ms;
}

/** The store-size suite. */
export const storeSizeIndexing: Suite = {
  name: `indexing vs store size: a run (${SHAPE.join("x")}, ${TICKS} ticks, all indexers) ` +
    `in an empty directory and beside ${EARLIER_RUNS} earlier unindexed runs`,
  async run(): Promise<Figure[]> {
    const crowded = await Deno.makeTempDir({ prefix: "evochora-bench-crowded-" });
    for (let i = 0; i < EARLIER_RUNS; i++) {
      await timedRun(crowded, 2000, { indexers: false });
    }
    let empty = Infinity;
    let beside = Infinity;
    let catchingUp = Infinity;
    for (let round = 0; round < 3; round++) {
      const a = await Deno.makeTempDir({ prefix: "evochora-bench-empty-" });
      empty = Math.min(empty, await timedRun(a, TICKS, { indexOwnRunOnly: true }));
      await Deno.remove(a, { recursive: true });
      const b = await Deno.makeTempDir({ prefix: "evochora-bench-beside-" });
      await copy(crowded, b);
      beside = Math.min(beside, await timedRun(b, TICKS, { indexOwnRunOnly: true }));
      await Deno.remove(b, { recursive: true });
      const c = await Deno.makeTempDir({ prefix: "evochora-bench-all-" });
      await copy(crowded, c);
      catchingUp = Math.min(catchingUp, await timedRun(c, TICKS, {}));
      await Deno.remove(c, { recursive: true });
    }
    await Deno.remove(crowded, { recursive: true });
    return [
      { name: "run in an empty directory (indexes complete)", value: empty / 1000, unit: "s" },
      {
        name: `run beside ${EARLIER_RUNS} earlier unindexed runs (run indexes its own run only)`,
        value: beside / 1000,
        unit: "s",
        ratio: beside / empty,
        ratioOf: "of the empty directory's time (goal <= 1.2)",
      },
      {
        name:
          `the same run indexing every run it finds (as serve/dev do: ${EARLIER_RUNS} runs caught up)`,
        value: catchingUp / 1000,
        unit: "s",
        ratio: catchingUp / empty,
        ratioOf: "of the empty directory's time",
      },
    ];
  },
};
