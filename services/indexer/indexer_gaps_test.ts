import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { writeVarint } from "../../codec/varint.ts";
import { compressZstd } from "../../resources/storage/zstd.ts";
import { MemoryTopic } from "../../resources/topic/memory_topic.ts";
import type { Topic } from "../../resources/topic/topic.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import {
  copyRun,
  pathOf,
  publishBatchInfo,
  referenceStats,
  tempDir,
  testIndexer,
  until,
  untilIndexed,
} from "./_test_run.ts";
import type { IndexKind } from "./batch_indexer.ts";
import { type IndexerOptions, INDEXERS, IndexerService } from "./indexer_service.ts";
import { readStats } from "./parquet.ts";
import type { BatchRef } from "./raw_batch.ts";
import { statsKey, type StatsRow, statsStateKey } from "../common/index_schema.ts";
import { carriedGaps, decodeStatsState, statsIndexer } from "./stats_indexer.ts";

const KINDS: IndexKind[] = ["stats", "organisms", "catalog"];

function indexer(
  kind: IndexKind,
  input: Topic,
  storage: Storage,
  extra: Partial<IndexerOptions> = {},
): IndexerService {
  return testIndexer(kind, input, storage, {
    drainTimeoutMs: 10,
    catchUpIntervalMs: 20,
    retryBaseMs: 5,
    ...extra,
  });
}

/** Starts one indexer of each kind over `storage`. */
async function startAll(
  storage: Storage,
  extra: Partial<IndexerOptions>,
): Promise<IndexerService[]> {
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const services = KINDS.map((k) => indexer(k, topic, storage, extra));
  for (const s of services) await s.start();
  return services;
}

async function stopAll(services: IndexerService[]): Promise<void> {
  for (const s of services) await s.stop();
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A row without the columns carried from batch to batch. */
function perSample(r: StatsRow): Omit<StatsRow, "genomes_new" | "genomes_ever"> {
  const { genomes_new: _n, genomes_ever: _e, ...rest } = r;
  return rest;
}

function inside(b: BatchRef): (r: StatsRow) => boolean {
  return (r) => r.tick >= b.firstTick && r.tick <= b.lastTick;
}

/** Moves a raw batch out of storage; the function returned puts it back. */
async function takeAway(dir: string, ref: BatchRef): Promise<() => Promise<void>> {
  const aside = `${tempDir()}/batch`;
  await Deno.rename(pathOf(dir, ref.key), aside);
  return () => Deno.rename(aside, pathOf(dir, ref.key));
}

/**
 * A missing middle batch is reported, later batches are indexed, and it is indexed once it
 * appears; `extra` sets the catch-up's options.
 */
async function missingMiddleBatch(extra: Partial<IndexerOptions>): Promise<void> {
  const run = await copyRun();
  const expected = await referenceStats(run.storage, run.batches);
  const [before, gone, after] = [run.batches[1]!, run.batches[2]!, run.batches[3]!];
  const putBack = await takeAway(run.dir, gone);
  const services = await startAll(run.storage, { gapGraceMs: 300, ...extra });
  const others = run.batches.filter((b) => b !== gone);
  for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], others);
  await until("the gap reported", () => services.every((s) => s.status().metrics.problems === 1));

  const line = new RegExp(
    `^missing: ticks ${gone.firstTick}\\.\\.${gone.lastTick} absent between batch ` +
      `'${escape(before.key)}' and batch '${escape(after.key)}' for \\d+ s$`,
  );
  for (const s of services) {
    const st = s.status();
    strictEqual(st.state, "running", s.name);
    strictEqual(st.problems?.length, 1, s.name);
    ok(line.test(st.problems![0]!), st.problems![0]);
    strictEqual(st.error, st.problems![0]);
    strictEqual(st.metrics.missing_ranges, 1);
    strictEqual(st.metrics.unreadable_batches, 0);
  }
  strictEqual(services[0]!.status().metrics.passed_over, 1);

  // Stats after the gap: every per-sample column exact; the carried ones count what was read
  // (genomes_ever a lower bound), and the files say which ticks they lack.
  const rows = await readStats(run.storage, run.runId);
  strictEqual(rows.filter(inside(gone)).length, 0);
  const readable = expected.filter((r) => !inside(gone)(r));
  deepStrictEqual(rows.map(perSample), readable.map(perSample));
  deepStrictEqual(
    rows.filter((r) => r.tick < gone.firstTick),
    readable.filter((r) => r.tick < gone.firstTick),
  );
  for (let i = 0; i < rows.length; i++) ok(rows[i]!.genomes_ever <= readable[i]!.genomes_ever);
  // Genomes that first appeared inside the gap count as new at the first sample after it.
  const first = rows.findIndex((r) => r.tick > gone.lastTick);
  ok(rows[first]!.genomes_new > readable[first]!.genomes_new, "the gap had new genomes");
  const gap = { firstTick: gone.firstTick, lastTick: gone.lastTick, reason: "missing" };
  const statsFile = (b: BatchRef) => run.storage.read(statsKey(run.runId, b.firstTick, b.lastTick));
  deepStrictEqual(carriedGaps(await statsFile(after)), [gap]);
  deepStrictEqual(carriedGaps(await statsFile(before)), []);
  const key = statsStateKey(run.runId, gone.lastTick);
  deepStrictEqual(decodeStatsState(key, run.runId, await run.storage.read(key)).gaps, [gap]);

  await putBack();
  for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], run.batches);
  await until("the status cleared", () => services.every((s) => s.status().error === undefined));
  await stopAll(services);
  for (const s of services) {
    const st = s.status();
    strictEqual(st.problems, undefined, s.name);
    strictEqual(st.metrics.missing_ranges, 0);
    strictEqual(st.metrics.resumed_batches, 1, s.name);
    ok(s.recentErrors().some((e) => e.includes(`resumed '${gone.key}'`)), s.name);
  }
  // The gap's own rows are exact; the note says why the later ones keep their values.
  deepStrictEqual(
    (await readStats(run.storage, run.runId)).filter(inside(gone)),
    expected.filter(inside(gone)),
  );
  const notes = services[0]!.recentErrors().join("\n");
  ok(notes.includes(`stats of '${gone.key}' indexed after ticks`), notes);
  ok(notes.includes("write-once"), notes);
}

Deno.test("a missing middle batch is reported, later batches are indexed, and it is indexed once it appears", async () => {
  await missingMiddleBatch({});
});

Deno.test("the same when the catch-up lists two batches at a time: the hole holds the floor, and the windows after it find the rest", async () => {
  // No BatchInfo is published: every batch is found by the catch-up, a window at a time.
  await missingMiddleBatch({ maxListedBatches: 2 });
});

Deno.test("a gap within the grace period is no error: a batch stored late is waited for", async () => {
  const run = await copyRun();
  const gone = run.batches[2]!;
  const putBack = await takeAway(run.dir, gone);
  const services = await startAll(run.storage, { gapGraceMs: 60_000 });
  const others = run.batches.filter((b) => b !== gone);
  for (const k of ["organisms", "catalog"] as const) {
    await untilIndexed(run.storage, INDEXERS[k], others);
  }
  const stats = services[0]!;
  await until("stats waiting behind the gap", () => {
    const m = stats.status().metrics;
    return m.gaps_waiting === 1 && m.waiting === run.batches.length - 3;
  });
  for (const s of services) {
    const st = s.status();
    strictEqual(st.error, undefined, `${s.name}: ${st.error}`);
    strictEqual(st.problems, undefined);
    strictEqual(st.metrics.gaps_waiting, 1);
    strictEqual(st.metrics.missing_ranges, 0);
  }
  await putBack();
  await untilIndexed(run.storage, statsIndexer, run.batches);
  await stopAll(services);
  strictEqual(stats.status().metrics.passed_over, 0);
  deepStrictEqual(
    await readStats(run.storage, run.runId),
    await referenceStats(run.storage, run.batches),
  );
});

/** A size-delimited record holding `message`. */
function framed(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + message.length);
  const at = writeVarint(message.length, out, 0);
  out.set(message, at);
  return out.subarray(0, at + message.length);
}

Deno.test("unreadable batches are reported with their key and reason, the rest indexed, a replacement indexed", async () => {
  const run = await copyRun();
  const [garbage, truncated, badProto] = [run.batches[1]!, run.batches[3]!, run.batches[5]!];
  const good = new Map<string, Uint8Array>();
  for (const b of [garbage, truncated, badProto]) {
    good.set(b.key, await run.storage.read(b.key));
    await Deno.remove(pathOf(run.dir, b.key));
  }
  await Deno.writeFile(pathOf(run.dir, garbage.key), new TextEncoder().encode("no zstd here"));
  const whole = good.get(truncated.key)!;
  await Deno.writeFile(pathOf(run.dir, truncated.key), whole.subarray(0, whole.length >> 1));
  // A valid zstd frame around a record that is not a TickDataChunk (0xff: no valid tag).
  await Deno.writeFile(
    pathOf(run.dir, badProto.key),
    compressZstd(framed(new Uint8Array(64).fill(0xff))),
  );
  const services = await startAll(run.storage, { attempts: 1, gapGraceMs: 60_000 });
  const bad = new Set([garbage, truncated, badProto]);
  const readable = run.batches.filter((b) => !bad.has(b));
  for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], readable);
  await until(
    "all three reported",
    () => services.every((s) => s.status().metrics.unreadable_batches === 3),
  );
  const reasons: [BatchRef, RegExp][] = [
    [garbage, /not a zstd frame/],
    [truncated, /truncated/],
    [badProto, /chunk 0 is not a TickDataChunk/],
  ];
  for (const s of services) {
    const st = s.status();
    strictEqual(st.state, "running");
    strictEqual(st.problems?.length, 3, s.name);
    for (const [b, why] of reasons) {
      const line = st.problems!.find((l) => l.includes(`'${b.key}'`));
      ok(line !== undefined && why.test(line), `${s.name}: ${line}`);
    }
    ok(st.error!.endsWith("(and 2 more problems)"), st.error);
    strictEqual(st.metrics.problems, 3);
  }
  strictEqual(services[0]!.status().metrics.passed_over, 3);

  // A good batch replaces the truncated one: it is indexed and its problem goes. Replaced in
  // one step (a rename over it): a catch-up between a removal and a new write would rightly
  // see a batch that is gone, not one that can be read now.
  await Deno.writeFile(`${run.dir}/replacement`, whole);
  await Deno.rename(`${run.dir}/replacement`, pathOf(run.dir, truncated.key));
  for (const k of KINDS) await untilIndexed(run.storage, INDEXERS[k], [...readable, truncated]);
  await until("two left", () => services.every((s) => s.status().metrics.problems === 2));
  await stopAll(services);
  for (const s of services) {
    strictEqual(s.status().metrics.resumed_batches, 1, s.name);
    ok(!s.status().problems!.some((l) => l.includes(truncated.key)));
  }
  const expected = await referenceStats(run.storage, readable);
  const rows = await readStats(run.storage, run.runId);
  deepStrictEqual(
    rows.filter((r) => !inside(truncated)(r)).map(perSample),
    expected.map(perSample),
  );
});

Deno.test("without the catch-up, a stats batch stuck behind a batch that never comes is reported", async () => {
  const run = await copyRun();
  const topic = new MemoryTopic({ name: "batches", partitions: 1 });
  const stats = indexer("stats", topic, run.storage, { catchUpIntervalMs: 0, gapGraceMs: 100 });
  await stats.start();
  const later = run.batches[3]!;
  await publishBatchInfo(topic, later);
  await until("reported", () => stats.status().metrics.stalled_batches === 1);
  const st = stats.status();
  await stats.stop();
  ok(
    new RegExp(`^stats of '${escape(later.key)}' waits for '.*state/stats/.*' for \\d+ s$`)
      .test(st.error!),
    st.error,
  );
  strictEqual(st.metrics.lag, 1, "kept uncommitted");
});
