import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { replayChunk } from "../../codec/mod.ts";
import {
  copyRun,
  decodeWithProtobufEs,
  indexedRun,
  referenceStats,
  sampleRun,
} from "./_test_run.ts";
import { readStats } from "./parquet.ts";
import { loadRawBatch, loadRunInfo } from "./raw_batch.ts";
import { STATS_COLUMNS, statsKey, type StatsRow, statsStateKey } from "../common/index_schema.ts";
import { carriedGaps, decodeStatsState, statsIndexer } from "./stats_indexer.ts";

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

Deno.test("stats rows equal an independent recomputation from the decoded chunks", async () => {
  const run = await indexedRun();
  const rows = await readStats(run.storage, run.runId);
  const meta = await loadRunInfo(run.storage, run.runId);

  // Recompute from protobuf-es's decoding, with the engine's own summary as a second witness.
  const expected: Partial<StatsRow>[] = [];
  const seen = new Set<number>();
  for (const b of run.batches) {
    for (const chunk of await decodeWithProtobufEs(run.storage, b.key)) {
      for (const s of replayChunk(chunk, meta.size)) {
        const living = s.organisms.filter((o) => o.alive);
        const counts = new Map<number, number>();
        for (const o of living) counts.set(o.genomeHash, (counts.get(o.genomeHash) ?? 0) + 1);
        let fresh = 0;
        for (const g of counts.keys()) if (!seen.has(g)) (seen.add(g), fresh++);
        const ids = new Set(living.map((o) => o.id));
        let owned = 0;
        for (const o of s.owners) if (ids.has(o)) owned++;
        const sum = s.summary!;
        strictEqual(living.length, sum.organismsAlive, `alive at ${s.tick}`);
        expected.push({
          tick: s.tick,
          alive: living.length,
          died: s.organisms.length - living.length,
          born: sum.births,
          created_total: Number(sum.organismsCreated),
          energy_total: Number(sum.totalEnergy),
          entropy_total: Number(sum.totalEntropy),
          generation_max: sum.maxGeneration,
          genomes_distinct: sum.distinctGenomes,
          genomes_active: [...counts.values()].filter((n) => n >= 2).length,
          genomes_new: fresh,
          genomes_ever: seen.size,
          shannon_diversity: -[...counts.values()].reduce(
            (h, n) => h + (n / living.length) * Math.log(n / living.length),
            0,
          ),
          energy_mean: living.length ? Number(sum.totalEnergy) / living.length : 0,
          cells_code: sum.moleculeCounts[0]!,
          cells_data: sum.moleculeCounts[1]!,
          cells_energy: sum.moleculeCounts[2]!,
          cells_structure: sum.moleculeCounts[3]!,
          cells_label: sum.moleculeCounts[4]!,
          cells_labelref: sum.moleculeCounts[5]!,
          cells_register: sum.moleculeCounts[6]!,
          cells_owned: owned,
          instructions_total: Number(sum.instructionsExecuted),
        });
        strictEqual(s.organisms.length - living.length, sum.deaths, `deaths at ${s.tick}`);
      }
    }
  }
  strictEqual(rows.length, expected.length);
  for (let i = 0; i < rows.length; i++) {
    const got = rows[i]!;
    for (const [k, v] of Object.entries(expected[i]!)) {
      ok(
        close(got[k as keyof StatsRow], v as number),
        `tick ${got.tick} ${k}: ${got[k as keyof StatsRow]} != ${v}`,
      );
    }
    strictEqual(Object.keys(got).length, STATS_COLUMNS.length);
    if (i > 0) ok(got.genomes_ever >= rows[i - 1]!.genomes_ever, "genomes_ever is monotone");
  }
  // The fixture has teeth: deaths, several genomes, new genomes after the first batch.
  strictEqual(rows[0]!.tick, 0);
  strictEqual(rows[0]!.genomes_new, rows[0]!.genomes_distinct);
  ok(rows.some((r) => r.died > 0), "someone dies");
  ok(rows.some((r) => r.tick > run.batches[0]!.lastTick && r.genomes_new > 0), "late new genomes");
  const total = rows.reduce((n, r) => n + r.born, 0);
  strictEqual(total, rows.at(-1)!.created_total - rows[0]!.created_total, "births add up");
});

Deno.test("the state after each batch holds every genome seen so far", async () => {
  const run = await indexedRun();
  const rows = await referenceStats(run.storage, run.batches);
  deepStrictEqual(await readStats(run.storage, run.runId), rows);
  for (const b of run.batches) {
    const key = statsStateKey(run.runId, b.lastTick);
    const state = decodeStatsState(key, run.runId, await run.storage.read(key));
    strictEqual(state.lastTick, b.lastTick);
    const last = rows.filter((r) => r.tick <= b.lastTick).at(-1)!;
    strictEqual(state.genomes.length, last.genomes_ever);
    deepStrictEqual(state.genomes, [...state.genomes].sort((x, y) => x - y));
  }
});

Deno.test("a stats batch needs the state after its predecessor; the first starts empty", async () => {
  const run = await sampleRun();
  const { storage } = await copyRun();
  const info = await loadRunInfo(storage, run.runId);
  strictEqual(statsIndexer.prerequisite(run.batches[0]!, info), null);
  const second = run.batches[1]!;
  const key = statsStateKey(run.runId, run.batches[0]!.lastTick);
  strictEqual(statsIndexer.prerequisite(second, info), key);
  await rejects(
    statsIndexer.index(storage, await loadRawBatch(storage, second), info),
    (e: Error) => e.message.includes(key) && e.message.includes(second.key),
  );
  ok(!(await storage.exists(statsIndexer.doneKey(second))));
});

Deno.test("passing over a gap carries the genomes from before it; the gap's batch later adds its own rows only", async () => {
  const run = await copyRun();
  const { storage } = run;
  const info = await loadRunInfo(storage, run.runId);
  const [b0, b1, b2, b3] = run.batches;
  const index = async (b: typeof b0) =>
    await statsIndexer.index(storage, await loadRawBatch(storage, b!), info);
  await index(b0);
  await index(b1);
  const gap = { runId: run.runId, firstTick: b2!.firstTick, lastTick: b2!.lastTick };
  // The gap's own predecessor must be there first.
  await rejects(
    statsIndexer.passOver!(storage, { ...gap, firstTick: b3!.firstTick, reason: "missing" }, info),
    /need the state of the previous batch/,
  );
  strictEqual(await statsIndexer.passOver!(storage, { ...gap, reason: "missing" }, info), true);
  strictEqual(await statsIndexer.passOver!(storage, { ...gap, reason: "other" }, info), false);
  const before = decodeStatsState(
    "s",
    run.runId,
    await storage.read(statsStateKey(run.runId, b1!.lastTick)),
  );
  const passed = decodeStatsState(
    "s",
    run.runId,
    await storage.read(statsStateKey(run.runId, b2!.lastTick)),
  );
  deepStrictEqual(passed, {
    runId: run.runId,
    lastTick: b2!.lastTick,
    genomes: before.genomes,
    gaps: [{ firstTick: b2!.firstTick, lastTick: b2!.lastTick, reason: "missing" }],
  });
  strictEqual((await index(b3)).note, undefined);
  deepStrictEqual(
    carriedGaps(await storage.read(statsKey(run.runId, b3!.firstTick, b3!.lastTick))),
    passed.gaps,
  );
  // The batch turns up: exact rows of its own, a note that later files keep their values.
  const late = await index(b2);
  strictEqual(late.created, true);
  ok(late.note?.includes("write-once"), late.note);
  const rows = await readStats(storage, run.runId, b2!.firstTick, b2!.lastTick);
  deepStrictEqual(
    rows,
    (await referenceStats(storage, run.batches.slice(0, 3))).filter((r) => r.tick >= b2!.firstTick),
  );
  deepStrictEqual(
    carriedGaps(await storage.read(statsKey(run.runId, b2!.firstTick, b2!.lastTick))),
    [],
  );
  deepStrictEqual(
    decodeStatsState("s", run.runId, await storage.read(statsStateKey(run.runId, b2!.lastTick))),
    passed,
    "the passed-over state stays: later batches were computed from it",
  );
});
