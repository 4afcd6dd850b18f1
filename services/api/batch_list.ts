/**
 * A run's served batches as a listing holds them. The settled beginning of a growing run (see
 * ./listing_floor.ts) is the bulk of a long run and never changes: it is kept in columns
 * ({@link SettledBatches}), shared by every later listing of the run, which only append to it.
 * The batches after it, few unless the catalog lags, are objects. Listings that kept every
 * batch as objects (its key, its spans, its catalog entry: ~650 bytes retained) and copied
 * them each time grew the API by hundreds of MiB a day on a run storing a few batches a
 * second; the columns take ~140 bytes a batch (`deno task bench "api listing"`) and give the
 * collector nothing to trace.
 *
 * @module
 */

import { batchKey, parseBatchKey } from "../common/storage_layout.ts";
import type { BatchRef, CatalogFacts } from "./batch_listing.ts";
import { joinSpan, lastAtOrBelow, spanLast, type TickSpan } from "./tick_spans.ts";

/** What a settled batch keeps beside its columns when it is not the usual one. */
interface Unusual {
  /** Its key, when not the one its ticks name (batchKey). */
  key?: string;
  /** Its spans, when not one span over its ticks. */
  spans?: TickSpan[];
  /** Its catalog entry's spans, when not its spans. */
  factsSpans?: readonly TickSpan[] | string;
}

/** Columns: ticks, single span's step, organisms alive, stored bytes summed up to the batch
 * (its own are the difference), the joined span it ends in (step and count so far). */
const FIELDS = ["first", "last", "step", "alive", "cum", "jStep", "jCount"] as const;

/**
 * The settled beginning of one run's listings, in columns; append-only. A listing holds it
 * with the number of batches that are its own, so that later appends do not change it.
 */
export class SettledBatches {
  readonly runId: string;
  #length = 0;
  #capacity = 0;
  readonly #cols = {} as Record<(typeof FIELDS)[number], Float64Array>;
  /** Index in #joined of the span that batch i ends in. */
  #jIndex = new Int32Array(0);
  /** The run's ticks so far as joined spans (see joinSpans); only the last one changes. */
  readonly #joined: TickSpan[] = [];
  readonly #unusual = new Map<number, Unusual>();

  constructor(runId: string) {
    this.runId = runId;
    this.#grow(1024);
  }

  /** Batches held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a settled batch with its catalog entry. */
  append(b: BatchRef, facts: CatalogFacts): void {
    if (this.#length === this.#capacity) this.#grow(this.#capacity * 2);
    const i = this.#length;
    const c = this.#cols;
    const single = b.spans.length === 1 && b.spans[0]!.first === b.firstTick &&
      spanLast(b.spans[0]!) === b.lastTick;
    c.first[i] = b.firstTick;
    c.last[i] = b.lastTick;
    c.step[i] = single ? b.spans[0]!.step : NaN;
    c.alive[i] = facts.organismsAlive;
    c.cum[i] = (i > 0 ? c.cum[i - 1]! : 0) + facts.storedBytes;
    const u: Unusual = {};
    if (b.key !== batchKey(this.runId, b.firstTick, b.lastTick)) u.key = b.key;
    if (!single) u.spans = b.spans;
    if (!sameSpans(facts.spans, b.spans)) u.factsSpans = facts.spans;
    if (u.key !== undefined || u.spans !== undefined || u.factsSpans !== undefined) {
      this.#unusual.set(i, u);
    }
    for (const s of b.spans) joinSpan(this.#joined, s);
    const last = this.#joined.at(-1)!;
    this.#jIndex[i] = this.#joined.length - 1;
    c.jStep[i] = last.step;
    c.jCount[i] = last.count;
    this.#length++;
  }

  firstTick(i: number): number {
    return this.#cols.first[i]!;
  }

  lastTick(i: number): number {
    return this.#cols.last[i]!;
  }

  key(i: number): string {
    return this.#unusual.get(i)?.key ?? batchKey(this.runId, this.firstTick(i), this.lastTick(i));
  }

  spans(i: number): TickSpan[] {
    const odd = this.#unusual.get(i)?.spans;
    if (odd !== undefined) return odd;
    const first = this.firstTick(i);
    const step = this.#cols.step[i]!;
    return [{ first, step, count: (this.lastTick(i) - first) / step + 1 }];
  }

  /** Batch i as an object (made on each call). */
  batch(i: number): BatchRef {
    return {
      key: this.key(i),
      firstTick: this.firstTick(i),
      lastTick: this.lastTick(i),
      spans: this.spans(i),
    };
  }

  /** Batch i's catalog entry (made on each call). */
  facts(i: number): CatalogFacts {
    const odd = this.#unusual.get(i)?.factsSpans;
    return {
      storedBytes: this.storedBytes(i + 1) - this.storedBytes(i),
      organismsAlive: this.#cols.alive[i]!,
      spans: odd ?? this.spans(i),
    };
  }

  /** Stored bytes of the first n batches. */
  storedBytes(n: number): number {
    return n > 0 ? this.#cols.cum[n - 1]! : 0;
  }

  /** The ticks of the first n batches as joined spans (new objects). */
  joinedSpans(n: number): TickSpan[] {
    if (n === 0) return [];
    const j = this.#jIndex[n - 1]!;
    const last = this.#joined[j]!;
    return [
      ...this.#joined.slice(0, j).map((s) => ({ ...s })),
      { first: last.first, step: this.#cols.jStep[n - 1]!, count: this.#cols.jCount[n - 1]! },
    ];
  }

  /** Index of the last of the first n batches starting at or before `tick`, or -1. */
  floorIndex(n: number, tick: number): number {
    const first = this.#cols.first;
    return lastAtOrBelow(n, (i) => first[i]!, tick);
  }

  /** Index of the batch with `key` among the first n, or -1. */
  indexOf(n: number, key: string): number {
    const r = parseBatchKey(key);
    if (r === null) return -1;
    const i = this.floorIndex(n, r.firstTick);
    return i >= 0 && this.firstTick(i) === r.firstTick && this.key(i) === key ? i : -1;
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.#capacity * (FIELDS.length * 8 + 4) + this.#unusual.size * 200 +
      this.#joined.length * 64;
  }

  #grow(capacity: number): void {
    for (const f of FIELDS) {
      const next = new Float64Array(capacity);
      const old = this.#cols[f];
      if (old !== undefined) next.set(old);
      this.#cols[f] = next;
    }
    const j = new Int32Array(capacity);
    j.set(this.#jIndex);
    this.#jIndex = j;
    this.#capacity = capacity;
  }
}

function sameSpans(a: readonly TickSpan[] | string, b: readonly TickSpan[]): boolean {
  if (typeof a === "string" || a.length !== b.length) return false;
  return a.every((s, i) =>
    s.first === b[i]!.first && s.step === b[i]!.step && s.count === b[i]!.count
  );
}

/**
 * A listing's batches, ascending: the first `settledCount` of a {@link SettledBatches}, then
 * `tail`. Batches are made as objects when asked for; ask by index for ticks.
 */
export class BatchList implements Iterable<BatchRef> {
  readonly settled: SettledBatches;
  readonly settledCount: number;
  readonly tail: readonly BatchRef[];
  readonly length: number;

  constructor(settled: SettledBatches, settledCount: number, tail: readonly BatchRef[]) {
    if (settledCount > settled.length) {
      throw new RangeError(`settledCount ${settledCount} > ${settled.length} settled batches`);
    }
    this.settled = settled;
    this.settledCount = settledCount;
    this.tail = tail;
    this.length = settledCount + tail.length;
  }

  /** A list of `batches` alone (no settled beginning). */
  static of(runId: string, batches: readonly BatchRef[]): BatchList {
    return new BatchList(new SettledBatches(runId), 0, batches);
  }

  /** Batch i (negative: from the end), or undefined. */
  at(i: number): BatchRef | undefined {
    const k = i < 0 ? this.length + i : i;
    if (k < 0 || k >= this.length) return undefined;
    return k < this.settledCount ? this.settled.batch(k) : this.tail[k - this.settledCount];
  }

  firstTick(i: number): number {
    return i < this.settledCount
      ? this.settled.firstTick(i)
      : this.tail[i - this.settledCount]!.firstTick;
  }

  /** Index of the last batch starting at or before `tick`, or -1. */
  floorIndex(tick: number): number {
    return lastAtOrBelow(this.length, (i) => this.firstTick(i), tick);
  }

  *[Symbol.iterator](): Iterator<BatchRef> {
    for (let i = 0; i < this.settledCount; i++) yield this.settled.batch(i);
    yield* this.tail;
  }

  /** Batches `start` (negative: from the end) up to `end` (exclusive), as objects. */
  slice(start: number, end = this.length): BatchRef[] {
    const from = Math.max(0, start < 0 ? this.length + start : start);
    const to = Math.min(this.length, end < 0 ? this.length + end : end);
    const out: BatchRef[] = [];
    for (let i = from; i < to; i++) out.push(this.at(i)!);
    return out;
  }

  map<T>(fn: (b: BatchRef, i: number) => T): T[] {
    const out: T[] = [];
    let i = 0;
    for (const b of this) out.push(fn(b, i++));
    return out;
  }
}

/** Catalog entries of a listing's batches: the settled ones' from their columns, the rest's. */
export class ListedCatalog {
  readonly #batches: BatchList;
  readonly #tail: ReadonlyMap<string, CatalogFacts>;

  /** `tail`: the entries of batches after the settled ones (by key). */
  constructor(batches: BatchList, tail: ReadonlyMap<string, CatalogFacts>) {
    this.#batches = batches;
    this.#tail = tail;
  }

  get(key: string): CatalogFacts | undefined {
    const tail = this.#tail.get(key);
    if (tail !== undefined) return tail;
    const { settled, settledCount } = this.#batches;
    const i = settled.indexOf(settledCount, key);
    return i < 0 ? undefined : settled.facts(i);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Entries of the batches after the settled ones. */
  get tail(): ReadonlyMap<string, CatalogFacts> {
    return this.#tail;
  }
}
