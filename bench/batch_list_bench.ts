/**
 * The API's hold on a long run's batches (services/api/batch_list.ts): memory retained per batch
 * and the cost of a tick lookup, in columns beside the objects (key, spans, catalog entry in a
 * map by key) a listing kept before. A run of 200000 batches: a day at ~2 batches a second.
 *
 * @module
 */

import { batchKey } from "../services/common/storage_layout.ts";
import type { BatchRef, CatalogFacts } from "../services/api/batch_listing.ts";
import { BatchList, SettledBatches } from "../services/api/batch_list.ts";
import { lastAtOrBelow } from "../services/api/tick_spans.ts";
import { type Figure, type Suite, timeIt } from "./_harness.ts";

const BATCHES = Number(Deno.env.get("EVOCHORA_BENCH_BATCHES") ?? 200_000);
const RUN = "20261201T000000Z-s42-abcd";

function batch(i: number): BatchRef {
  const first = i * 500;
  return {
    key: batchKey(RUN, first, first + 490),
    firstTick: first,
    lastTick: first + 490,
    spans: [{ first, step: 10, count: 50 }],
  };
}

function facts(b: BatchRef, i: number): CatalogFacts {
  return { storedBytes: 60_000 + i % 1000, organismsAlive: 300 + i % 50, spans: [...b.spans] };
}

/** Memory retained by what `make` returns, bytes: heap and array buffers, after full collections. */
function retained(make: () => unknown): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  const used = () => {
    gc?.();
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = used();
  const kept = make();
  const after = used();
  if (kept === undefined) throw new Error("unreachable");
  return after - before;
}

/** Batch memory and lookups: objects (before) and columns (now). */
export const batchListFigures: Suite = {
  name: "api listing: a long run's batches as objects vs columns",
  run(): Figure[] {
    if ((globalThis as { gc?: () => void }).gc === undefined) {
      throw new Error("run with --v8-flags=--expose-gc (deno task bench does)");
    }
    let objects: { batches: BatchRef[]; firstTicks: number[]; catalog: Map<string, CatalogFacts> };
    const objectBytes = retained(() => {
      const batches = Array.from({ length: BATCHES }, (_, i) => batch(i));
      objects = {
        batches,
        firstTicks: batches.map((b) => b.firstTick),
        // Keys of the catalog listing: strings of their own, as they were.
        catalog: new Map(batches.map((b, i) => [`${b.key}`.slice(0), facts(b, i)])),
      };
      return objects;
    });
    let list!: BatchList;
    const columnBytes = retained(() => {
      const t = new SettledBatches(RUN);
      for (let i = 0; i < BATCHES; i++) {
        const b = batch(i);
        t.append(b, facts(b, i));
      }
      list = new BatchList(t, BATCHES, []);
      return list;
    });
    let k = 0;
    const ticks = Array.from({ length: 1024 }, (_, i) => ((i * 7919) % BATCHES) * 500 + 250);
    const objectLookup = timeIt(() => {
      const t = ticks[k++ & 1023]!;
      const b = objects.batches[lastAtOrBelow(BATCHES, (i) => objects.firstTicks[i]!, t)]!;
      if (objects.catalog.get(b.key) === undefined) throw new Error("no entry");
    });
    const columnLookup = timeIt(() => {
      const t = ticks[k++ & 1023]!;
      const b = list.at(list.floorIndex(t))!;
      if (list.settled.facts(list.settled.indexOf(list.settledCount, b.key)) === undefined) {
        throw new Error("no entry");
      }
    });
    return [
      { name: "batches", value: BATCHES, unit: "" },
      { name: "objects: memory per batch", value: objectBytes / BATCHES, unit: "B" },
      {
        name: "columns: memory per batch",
        value: columnBytes / BATCHES,
        unit: "B",
        ratio: columnBytes / objectBytes,
        ratioOf: "objects",
      },
      {
        name: "objects: tick lookup with its catalog entry",
        value: objectLookup * 1e6,
        unit: "ns",
      },
      {
        name: "columns: tick lookup with its catalog entry",
        value: columnLookup * 1e6,
        unit: "ns",
        ratio: columnLookup / objectLookup,
        ratioOf: "objects",
      },
    ];
  },
};
