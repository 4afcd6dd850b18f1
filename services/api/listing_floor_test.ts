import assert from "node:assert/strict";
import type { BatchRef, CatalogFacts } from "./batch_listing.ts";
import { BatchList } from "./batch_list.ts";
import { type ListedBatches, takenOver } from "./listing_floor.ts";

function batch(firstTick: number, lastTick: number): BatchRef {
  return {
    key: `runs/r/raw/batch_${String(firstTick).padStart(6, "0")}`,
    firstTick,
    lastTick,
    spans: [{ first: firstTick, step: 10, count: (lastTick - firstTick) / 10 + 1 }],
  };
}

const FACTS: CatalogFacts = { storedBytes: 1, organismsAlive: 1, spans: [] };
const [a, b, c, d] = [batch(0, 90), batch(100, 190), batch(200, 290), batch(300, 390)];

function listed(batches: BatchRef[], more: Partial<ListedBatches> = {}): ListedBatches {
  return {
    batches: BatchList.of("r", batches),
    catalog: new Map(batches.map((x) => [x.key, FACTS])),
    problems: [],
    gaps: [],
    ...more,
  };
}

Deno.test("takenOver() keeps every batch of a catalogued run without gaps or problems", () => {
  assert.equal(takenOver(listed([a, b, c, d])), 4);
  assert.equal(takenOver(listed([])), 0);
});

Deno.test("takenOver() stops at the first gap, uncatalogued batch or file set aside", () => {
  assert.equal(takenOver(listed([a, b, d], { gaps: [{ after: 190, before: 300 }] })), 2);
  const catalog = new Map([a, b, d].map((x) => [x.key, FACTS]));
  assert.equal(takenOver(listed([a, b, c, d], { catalog })), 2);
  const stray = { key: c.key + "x", reason: "it cannot be read", overlaps: false };
  assert.equal(takenOver(listed([a, b, c, d], { problems: [stray] })), 3);
});

Deno.test("takenOver() keeps nothing while the run's first batch is missing", () => {
  assert.equal(takenOver(listed([b, c])), 0);
});
