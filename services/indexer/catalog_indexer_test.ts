import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { readMessages } from "../../resources/storage/message_stream.ts";
import { decodeWithProtobufEs, indexedRun, pathOf } from "./_test_run.ts";
import { readCatalog } from "./parquet.ts";

Deno.test("the catalog has one entry per batch with its ticks, chunks, sizes and population", async () => {
  const run = await indexedRun();
  const entries = await readCatalog(run.storage, run.runId);
  strictEqual(entries.length, run.batches.length);
  const allTicks: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const b = run.batches[i]!;
    const chunks = await decodeWithProtobufEs(run.storage, b.key);
    const { messages } = await readMessages(run.storage, b.key);
    const last = chunks.at(-1)!;
    const lastSample = last.deltas.at(-1) ?? last.snapshot!;
    const living = lastSample.organisms.filter((o) => o.alive);
    deepStrictEqual(e, {
      runId: run.runId,
      batchKey: b.key,
      firstTick: b.firstTick,
      lastTick: b.lastTick,
      ticks: chunks.flatMap((c) => [c.snapshot!, ...c.deltas].map((s) => Number(s.tick))),
      chunks: chunks.map((c) => ({
        index: Number(c.chunkIndex),
        firstTick: Number(c.firstTick),
        lastTick: Number(c.lastTick),
      })),
      rawBytes: messages.reduce(
        (n, m) =>
          n + m.length + (m.length < 128 ? 1 : m.length < 16384 ? 2 : m.length < 2097152 ? 3 : 4),
        0,
      ),
      storedBytes: (await Deno.stat(pathOf(run.dir, b.key))).size,
      organismsAlive: living.length,
      maxGeneration: Math.max(0, ...living.map((o) => o.generation)),
    });
    allTicks.push(...e.ticks);
  }
  // Samples every 10 ticks from 0 to the end, each in exactly one entry.
  deepStrictEqual(allTicks, allTicks.map((_, i) => i * 10));
});
