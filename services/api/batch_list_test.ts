import assert from "node:assert/strict";
import { batchKey } from "../common/storage_layout.ts";
import type { BatchRef, CatalogFacts } from "./batch_listing.ts";
import { BatchList, ListedCatalog, SettledBatches } from "./batch_list.ts";
import { joinSpans, type TickSpan } from "./tick_spans.ts";

function batch(first: number, last: number, step = 10, spans?: TickSpan[]): BatchRef {
  return {
    key: batchKey("r", first, last),
    firstTick: first,
    lastTick: last,
    spans: spans ?? [{ first, step, count: (last - first) / step + 1 }],
  };
}

function facts(b: BatchRef, n: number): CatalogFacts {
  return { storedBytes: 1000 + n, organismsAlive: n, spans: b.spans };
}

/** Usual batches, and unusual ones: two spans, one sample, a gap, a stray key, odd facts. */
const BATCHES: BatchRef[] = [
  batch(0, 90),
  batch(100, 190),
  batch(200, 250, 10, [{ first: 200, step: 10, count: 2 }, { first: 230, step: 10, count: 3 }]),
  batch(260, 260),
  batch(270, 360),
  batch(500, 590),
  // Named like a batch, in another directory than batchKey's.
  { ...batch(600, 690), key: batchKey("r", 600, 690).replace("/raw/0000000/", "/raw/stray/") },
  batch(700, 790, 5),
];
const FACTS = BATCHES.map((b, i) => i === 4 ? { ...facts(b, i), spans: "malformed" } : facts(b, i));

function table(): SettledBatches {
  const t = new SettledBatches("r");
  BATCHES.forEach((b, i) => t.append(b, FACTS[i]!));
  return t;
}

Deno.test("SettledBatches gives back each batch and catalog entry appended, usual or not", () => {
  const t = table();
  assert.equal(t.length, BATCHES.length);
  BATCHES.forEach((b, i) => {
    assert.deepEqual(t.batch(i), b);
    assert.deepEqual(t.facts(i), FACTS[i]);
    assert.equal(t.indexOf(t.length, b.key), i);
  });
  assert.equal(t.indexOf(t.length, batchKey("r", 600, 690)), -1, "not the stray's key");
  assert.equal(t.indexOf(3, BATCHES[5]!.key), -1, "beyond the first n");
  assert.equal(t.storedBytes(3), 1000 + 1001 + 1002);
  assert.equal(t.storedBytes(0), 0);
});

Deno.test("SettledBatches.joinedSpans(n) is joinSpans of the first n batches' spans", () => {
  const t = table();
  for (let n = 0; n <= BATCHES.length; n++) {
    assert.deepEqual(
      t.joinedSpans(n),
      joinSpans(BATCHES.slice(0, n).map((b) => b.spans)),
      `n=${n}`,
    );
  }
  // Spans handed out are copies: joining the tail onto them changes nothing kept.
  const spans = t.joinedSpans(2);
  spans[0]!.count = 99;
  assert.deepEqual(t.joinedSpans(2), joinSpans(BATCHES.slice(0, 2).map((b) => b.spans)));
});

Deno.test("SettledBatches grows past its first capacity", () => {
  const t = new SettledBatches("r");
  for (let i = 0; i < 3000; i++) {
    const b = batch(i * 100, i * 100 + 90);
    t.append(b, facts(b, i));
  }
  assert.equal(t.length, 3000);
  assert.deepEqual(t.batch(2999), batch(299900, 299990));
  assert.equal(t.floorIndex(3000, 150_055), 1500);
  assert.deepEqual(t.joinedSpans(3000), [{ first: 0, step: 10, count: 30000 }]);
});

Deno.test("BatchList reads across the settled batches and its tail alike", () => {
  const t = table();
  const list = new BatchList(t, 5, BATCHES.slice(5));
  assert.equal(list.length, BATCHES.length);
  assert.deepEqual([...list], BATCHES);
  assert.deepEqual(list.slice(-3), BATCHES.slice(-3));
  assert.deepEqual(list.slice(3, 6), BATCHES.slice(3, 6));
  assert.deepEqual(list.at(-1), BATCHES.at(-1));
  assert.equal(list.at(BATCHES.length), undefined);
  assert.deepEqual(list.map((b, i) => `${i}:${b.firstTick}`).slice(4, 6), ["4:270", "5:500"]);
  for (
    const [tick, index] of [[-1, -1], [0, 0], [99, 0], [265, 3], [499, 4], [500, 5], [9999, 7]]
  ) {
    assert.equal(list.floorIndex(tick!), index, `tick ${tick}`);
    if (index! >= 0) assert.equal(list.firstTick(index!), BATCHES[index!]!.firstTick);
  }
  // Appended later (by the next listing): this list still ends its settled part at 5.
  const more = batch(800, 890);
  t.append(more, facts(more, 8));
  assert.equal(list.length, BATCHES.length);
  assert.equal(list.floorIndex(850), 7);
  assert.throws(() => new BatchList(t, t.length + 1, []), RangeError);
});

Deno.test("ListedCatalog finds the settled batches' entries in their columns and the tail's in its map", () => {
  const list = new BatchList(table(), 5, BATCHES.slice(5));
  const tail = new Map([[BATCHES[6]!.key, FACTS[6]!]]);
  const catalog = new ListedCatalog(list, tail);
  for (const i of [0, 2, 3, 4, 6]) assert.deepEqual(catalog.get(BATCHES[i]!.key), FACTS[i], `${i}`);
  assert.equal(catalog.has(BATCHES[5]!.key), false, "a tail batch the catalog has not reached");
  assert.equal(
    catalog.has("runs/r/raw/0000000/batch_0000000000000000000_0000000000000000091.pb.zst"),
    false,
  );
  assert.equal(catalog.has("runs/r/metadata.pb"), false);
});
