import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { formatMolecule } from "../../codec/mod.ts";
import { decodeWithProtobufEs, indexedRun } from "./_test_run.ts";
import { readOrganisms } from "./parquet.ts";
import { loadRunInfo } from "./raw_batch.ts";

Deno.test("organism rows cover every organism seen, with sightings, death and body", async () => {
  const run = await indexedRun();
  const meta = await loadRunInfo(run.storage, run.runId);
  const perBatch = await readOrganisms(run.storage, run.runId, { perBatch: true });
  const allIds = new Set<number>();
  let deaths = 0;
  for (const b of run.batches) {
    const rows = perBatch.filter((r) =>
      r.first_seen_tick >= b.firstTick && r.last_seen_tick <= b.lastTick
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const seenHere = new Set<number>();
    const chunks = await decodeWithProtobufEs(run.storage, b.key);
    for (const chunk of chunks) {
      const samples = [chunk.snapshot!, ...chunk.deltas];
      for (const s of samples) {
        const tick = Number(s.tick);
        for (const o of s.organisms) {
          const row = byId.get(o.id);
          ok(row !== undefined, `organism ${o.id} at tick ${tick} has a row for ${b.key}`);
          allIds.add(o.id);
          if (!seenHere.has(o.id)) {
            seenHere.add(o.id);
            strictEqual(row.first_seen_tick, tick);
          }
          strictEqual(row.parent_id, o.parentId);
          strictEqual(row.birth_tick, Number(o.birthTick));
          strictEqual(row.generation, o.generation);
          strictEqual(row.genome_hash, o.genomeHash);
          strictEqual(row.body_size, o.bodySize);
          if (row.last_seen_tick === tick) {
            strictEqual(row.energy_last, o.energy);
            strictEqual(row.children, o.children);
          }
          if (!o.alive) {
            deaths++;
            strictEqual(row.death_tick, Number(o.deathTick));
            strictEqual(row.death_reason, o.deathReason);
            strictEqual(row.last_seen_tick, tick);
          }
        }
      }
      // Bodies at first sight, from the snapshot's own columns (no replay needed there).
      const snap = chunk.snapshot!;
      const cells = snap.cells!;
      for (const o of snap.organisms) {
        const row = byId.get(o.id)!;
        if (row.first_seen_tick !== Number(snap.tick)) continue;
        const body: string[] = [];
        for (let i = 0; i < cells.flatIndex.length; i++) {
          if (cells.owner[i] === o.id) body.push(formatMolecule(cells.molecule[i]!));
        }
        strictEqual(row.program, body.join(" "), `body of ${o.id}`);
        if (o.alive) ok(body.length > 0);
      }
    }
    deepStrictEqual([...byId.keys()].sort((x, y) => x - y), [...seenHere].sort((x, y) => x - y));
    for (const r of rows) if (r.death_tick === -1) strictEqual(r.death_reason, "");
  }
  ok(deaths > 0, "the fixture has deaths");
  ok(meta.size > 0);

  // Merged: one row per organism of the run, first sight from its first batch.
  const merged = await readOrganisms(run.storage, run.runId);
  deepStrictEqual(merged.map((r) => r.id), [...allIds].sort((x, y) => x - y));
  for (const m of merged) {
    const rows = perBatch.filter((r) => r.id === m.id);
    strictEqual(m.first_seen_tick, Math.min(...rows.map((r) => r.first_seen_tick)));
    strictEqual(m.last_seen_tick, Math.max(...rows.map((r) => r.last_seen_tick)));
    strictEqual(m.program, rows[0]!.program);
    strictEqual(m.death_tick, rows.at(-1)!.death_tick);
  }
});
