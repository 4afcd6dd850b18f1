import assert from "node:assert/strict";
import type { CatalogEntry } from "../common/index_schema.ts";
import { catalogFacts } from "./batch_listing.ts";

function entry(ticks: number[]): CatalogEntry {
  return {
    runId: "r",
    batchKey: "runs/r/raw/x.pb.zst",
    firstTick: ticks[0] ?? 0,
    lastTick: ticks.at(-1) ?? 0,
    ticks,
    chunks: [{ index: 0, firstTick: ticks[0] ?? 0, lastTick: ticks.at(-1) ?? 0 }],
    rawBytes: 1000,
    storedBytes: 200,
    organismsAlive: 7,
    maxGeneration: 2,
  };
}

Deno.test("catalogFacts keeps the figures and the ticks as spans, not the tick list", () => {
  const ticks = Array.from({ length: 100 }, (_, i) => 1000 + i * 10);
  const facts = catalogFacts(entry(ticks));
  assert.deepEqual(facts, {
    storedBytes: 200,
    organismsAlive: 7,
    spans: [{ first: 1000, step: 10, count: 100 }],
  });
  assert.ok(!("ticks" in facts) && !("chunks" in facts));
});

Deno.test("catalogFacts names an entry without ticks or with unordered ones", () => {
  assert.equal(catalogFacts(entry([])).spans, "its catalog entry lists no ticks");
  assert.match(
    String(catalogFacts(entry([30, 20, 10])).spans),
    /^its catalog entry is malformed: /,
  );
});
