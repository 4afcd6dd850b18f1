/**
 * Contract cases shared by the queue and topic suites (queue_contract.ts, topic_contract.ts):
 * the delivery rules both follow. Not a public API; the suites are.
 *
 * Cases only use the public interfaces, give every group a unique name, and never assert that
 * something happens quickly: only that it happens before a generous deadline, or (for
 * blocking) that it has not happened after a short wait. A slow real broker passes with a
 * larger `timeScale`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ClosedError, type Consumer, type ConsumerOptions, type Delivery } from "./queue.ts";
import type { QueueRecord } from "./queue.ts";

/** What a case needs of a queue or topic, whichever it is. */
export interface LogUnderTest {
  /** put() or publish(). */
  put(record: QueueRecord, signal?: AbortSignal): Promise<void>;
  /** consumer() or subscribe(). */
  join(options: ConsumerOptions): Consumer;
  close(): Promise<void>;
  /** The factory's cleanup. */
  cleanup(): Promise<void>;
}

/** Durations of a suite, scaled by its timeScale. */
export interface Timing {
  /** One drain's wait inside a polling loop. */
  step: number;
  /** How long something that must not happen is given to (wrongly) happen. */
  short: number;
  /** The generous deadline for anything that must happen. */
  long: number;
}

/** Timing for a time scale (1 for in-memory implementations). */
export function timing(timeScale = 1): Timing {
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  return { step: 50 * timeScale, short: 100 * timeScale, long: 10_000 * timeScale };
}

/** A test context: the log plus consumers to close before cleanup. */
export class Ctx {
  readonly #consumers: Consumer[] = [];
  /** A unique group name (unique across runs, for shared brokers). */
  readonly group = (tag: string) => `contract-${tag}-${crypto.randomUUID().slice(0, 8)}`;

  constructor(readonly log: LogUnderTest, readonly t: Timing, readonly partitions: number) {}

  join(group: string, member: string): Consumer {
    const c = this.log.join({ group, member });
    this.#consumers.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    for (const c of this.#consumers) await c.close().catch(() => {});
  }
}

/** Runs `body` on a fresh log, then closes its consumers and cleans up, whatever happened. */
export async function withLog(
  open: () => Promise<LogUnderTest>,
  t: Timing,
  partitions: number,
  body: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const log = await open();
  const ctx = new Ctx(log, t, partitions);
  try {
    await body(ctx);
  } finally {
    await ctx.closeAll();
    await log.cleanup();
  }
}

/** A record whose value and headers name it by `id`. */
export function rec(key: string, id: string | number): QueueRecord {
  return { key, value: new TextEncoder().encode(`v${id}`), headers: { id: String(id) } };
}

/** The id of a delivery made from rec(). */
export function idOf(d: Delivery): string {
  return d.headers["id"] ?? `?${new TextDecoder().decode(d.value)}`;
}

/** Resolves like `p`, or rejects when `ms` pass first. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  // Whoever loses the race must not surface as an unhandled rejection later.
  p.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Drains `c` into `got` until `done(got)`, committing each batch when `commit` is set.
 * Fails after the long deadline.
 */
export async function drainUntil(
  c: Consumer,
  t: Timing,
  done: (got: readonly Delivery[]) => boolean,
  options: { max?: number; commit?: boolean; got?: Delivery[] } = {},
): Promise<Delivery[]> {
  const got = options.got ?? [];
  const deadline = Date.now() + t.long;
  while (!done(got)) {
    if (Date.now() > deadline) {
      throw new Error(`drain: condition not met within ${t.long} ms; got ${got.map(idOf)}`);
    }
    const batch = await c.drain(options.max ?? 100, t.step);
    got.push(...batch);
    if (options.commit && batch.length > 0) assert.equal(await c.commit(batch), true);
  }
  return got;
}

/** A consumer and what it drained while waiting for the assignment to settle. */
export interface Drained {
  consumer: Consumer;
  got: Delivery[];
}

/**
 * Waits until the members own disjoint, non-empty partition sets that together cover all
 * partitions, draining them meanwhile (a broker rebalances while its members poll); what they
 * drain is kept in `got`, uncommitted.
 */
export async function settle(members: Drained[], t: Timing, partitions: number): Promise<void> {
  const deadline = Date.now() + t.long;
  for (;;) {
    const sets = members.map((m) => m.consumer.assignment());
    const all = sets.flat();
    if (
      sets.every((s) => s.length > 0) && all.length === partitions &&
      new Set(all).size === partitions
    ) return;
    if (Date.now() > deadline) {
      throw new Error(`assignment did not settle within ${t.long} ms: ${JSON.stringify(sets)}`);
    }
    await Promise.all(members.map(async (m) => {
      m.got.push(...await m.consumer.drain(100, t.step));
    }));
  }
}

/** Byte equality that does not care whether the array is a Uint8Array or a subclass. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function ids(ds: readonly Delivery[]): string[] {
  return ds.map(idOf);
}

/**
 * Registers the cases common to queue and topic. `put` names the producing operation in test
 * names ("put" or "publish").
 */
export function logContract(
  label: string,
  put: string,
  open: (partitions: number) => Promise<LogUnderTest>,
  t: Timing,
): void {
  const test = (name: string, partitions: number, body: (ctx: Ctx) => Promise<void>) =>
    Deno.test(`${label}: ${name}`, () => withLog(() => open(partitions), t, partitions, body));

  test("round trip preserves key, value and headers", 3, async (ctx) => {
    const sent: QueueRecord[] = [
      { key: "run-1/chunk-7", value: new Uint8Array([0, 1, 2, 255]), headers: { a: "1", b: "" } },
      { key: "ключ ✓", value: new Uint8Array(0), headers: { id: "unicode" } },
      { key: "no-headers", value: new Uint8Array(5000).fill(7) },
    ];
    const c = ctx.join(ctx.group("roundtrip"), "m1");
    for (const r of sent) await ctx.log.put(r);
    const got = await drainUntil(c, ctx.t, (g) => g.length >= sent.length, { commit: true });
    assert.equal(got.length, sent.length);
    for (const r of sent) {
      const d = got.find((x) => x.key === r.key);
      assert.ok(d, `record ${r.key} delivered`);
      assert.ok(d.value instanceof Uint8Array);
      assert.ok(sameBytes(d.value, r.value), `value of ${r.key}`);
      assert.deepEqual({ ...d.headers }, r.headers ?? {});
      assert.ok(Number.isInteger(d.partition) && d.partition >= 0 && d.partition < 3);
      assert.ok(Number.isInteger(d.offset) && d.offset >= 0);
    }
  });

  test(`${put}() does not keep a reference to the caller's value`, 1, async (ctx) => {
    const c = ctx.join(ctx.group("copy"), "m1");
    const value = new Uint8Array([1, 2, 3]);
    await ctx.log.put({ key: "k", value });
    value.fill(9);
    const [d] = await drainUntil(c, ctx.t, (g) => g.length >= 1, { commit: true });
    assert.ok(d && sameBytes(d.value, new Uint8Array([1, 2, 3])));
  });

  test("records with the same key keep their order", 4, async (ctx) => {
    const keys = ["alpha", "beta", "gamma"];
    const c = ctx.join(ctx.group("order"), "m1");
    for (let i = 0; i < 60; i++) await ctx.log.put(rec(keys[i % 3]!, i));
    const got = await drainUntil(c, ctx.t, (g) => g.length >= 60, { max: 7, commit: true });
    assert.equal(got.length, 60);
    for (const key of keys) {
      const mine = got.filter((d) => d.key === key);
      assert.equal(mine.length, 20);
      assert.equal(new Set(mine.map((d) => d.partition)).size, 1, `${key} in one partition`);
      const seq = mine.map((d) => Number(idOf(d)));
      assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `${key} in put order`);
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.offset > mine[i - 1]!.offset);
    }
  });

  test("drain() returns at most max records", 2, async (ctx) => {
    const c = ctx.join(ctx.group("max"), "m1");
    for (let i = 0; i < 10; i++) await ctx.log.put(rec(`k${i}`, i));
    const got: Delivery[] = [];
    const deadline = Date.now() + ctx.t.long;
    while (got.length < 10) {
      assert.ok(Date.now() < deadline, `only ${got.length} of 10 records delivered`);
      const batch = await c.drain(3, ctx.t.step);
      assert.ok(batch.length <= 3, `drain(3) returned ${batch.length}`);
      got.push(...batch);
      if (batch.length > 0) assert.equal(await c.commit(batch), true);
    }
    assert.deepEqual(ids(got).sort(), Array.from({ length: 10 }, (_, i) => `${i}`).sort());
  });

  test("drain() returns an empty array after its timeout", 2, async (ctx) => {
    const c = ctx.join(ctx.group("timeout"), "m1");
    const got = await within(c.drain(10, ctx.t.short), ctx.t.short + ctx.t.long, "drain");
    assert.deepEqual(got, []);
  });

  test("drain() wakes up for a record that arrives while it waits", 2, async (ctx) => {
    const c = ctx.join(ctx.group("wake"), "m1");
    await settle([{ consumer: c, got: [] }], ctx.t, ctx.partitions);
    const pending = c.drain(10, ctx.t.long * 2);
    await ctx.log.put(rec("k", "late"));
    const got = await within(pending, ctx.t.long * 3, "drain");
    assert.deepEqual(ids(got), ["late"]);
    assert.equal(await c.commit(got), true);
  });

  test("commit() is idempotent and survives a change of owner", 2, async (ctx) => {
    const group = ctx.group("idem");
    const a = ctx.join(group, "a");
    for (let i = 0; i < 6; i++) await ctx.log.put(rec(`k${i}`, i));
    const got = await drainUntil(a, ctx.t, (g) => g.length >= 6);
    assert.equal(await a.commit(got), true);
    assert.equal(await a.commit(got), true);
    assert.equal(await a.commit([]), true);
    await a.close();
    // The next owner starts after the commits: the first thing it sees is the marker.
    const b = ctx.join(group, "b");
    await ctx.log.put(rec("k0", "marker"));
    const after = await drainUntil(b, ctx.t, (g) => ids(g).includes("marker"), { commit: true });
    assert.deepEqual(ids(after), ["marker"]);
  });

  test("two members of a group own disjoint partitions and see every record once", 4, async (
    ctx,
  ) => {
    const group = ctx.group("split");
    const a: Drained = { consumer: ctx.join(group, "a"), got: [] };
    const b: Drained = { consumer: ctx.join(group, "b"), got: [] };
    await settle([a, b], ctx.t, ctx.partitions);
    for (let i = 0; i < 40; i++) await ctx.log.put(rec(`key-${i}`, i));
    const deadline = Date.now() + ctx.t.long;
    while (a.got.length + b.got.length < 40) {
      assert.ok(Date.now() < deadline, `only ${a.got.length + b.got.length} of 40 delivered`);
      await Promise.all([a, b].map(async (m) => {
        const batch = await m.consumer.drain(8, ctx.t.step);
        m.got.push(...batch);
        if (batch.length > 0) assert.equal(await m.consumer.commit(batch), true);
      }));
    }
    const all = [...ids(a.got), ...ids(b.got)];
    assert.equal(all.length, 40, "no record twice");
    assert.deepEqual(all.sort(), Array.from({ length: 40 }, (_, i) => `${i}`).sort());
    const pa = new Set(a.got.map((d) => d.partition));
    const pb = new Set(b.got.map((d) => d.partition));
    for (const p of pa) assert.ok(!pb.has(p), `partition ${p} delivered to both members`);
    for (const p of pa) assert.ok(a.consumer.assignment().includes(p));
    for (const p of pb) assert.ok(b.consumer.assignment().includes(p));
    // The commits hold for whoever comes next.
    await a.consumer.close();
    await b.consumer.close();
    const c = ctx.join(group, "c");
    await ctx.log.put(rec("key-0", "marker"));
    const after = await drainUntil(c, ctx.t, (g) => ids(g).includes("marker"), { commit: true });
    assert.deepEqual(ids(after), ["marker"]);
  });

  test("uncommitted records of a closed member are redelivered to the remaining one", 2, async (
    ctx,
  ) => {
    const group = ctx.group("redeliver");
    const a: Drained = { consumer: ctx.join(group, "a"), got: [] };
    const b: Drained = { consumer: ctx.join(group, "b"), got: [] };
    await settle([a, b], ctx.t, ctx.partitions);
    for (let i = 0; i < 40; i++) await ctx.log.put(rec(`key-${i}`, i));
    const deadline = Date.now() + ctx.t.long;
    // a drains without committing; b commits what it gets.
    while (a.got.length + b.got.length < 40) {
      assert.ok(Date.now() < deadline, `only ${a.got.length + b.got.length} of 40 delivered`);
      await Promise.all([a, b].map(async (m) => {
        const batch = await m.consumer.drain(10, ctx.t.step);
        m.got.push(...batch);
        if (m === b && batch.length > 0) assert.equal(await b.consumer.commit(batch), true);
      }));
    }
    assert.ok(a.got.length > 0, "40 keys over 2 partitions: a got some");
    await a.consumer.close();
    const want = new Set(ids(a.got));
    const again = await drainUntil(
      b.consumer,
      ctx.t,
      (g) => [...want].every((id) => ids(g).includes(id)),
      { commit: true },
    );
    assert.deepEqual(ids(again).sort(), [...want].sort(), "exactly a's records, again");
    await settle([{ consumer: b.consumer, got: [] }], ctx.t, ctx.partitions);
  });

  test("commit() of a partition lost in a rebalance returns false", 2, async (ctx) => {
    const group = ctx.group("lost");
    const a: Drained = { consumer: ctx.join(group, "a"), got: [] };
    await settle([a], ctx.t, ctx.partitions);
    for (let i = 0; i < 20; i++) await ctx.log.put(rec(`key-${i}`, i));
    await drainUntil(a.consumer, ctx.t, (g) => new Set(ids(g)).size >= 20, { got: a.got });
    const b: Drained = { consumer: ctx.join(group, "b"), got: [] };
    await settle([a, b], ctx.t, ctx.partitions);
    const kept = new Set(a.consumer.assignment());
    const lost = a.got.filter((d) => !kept.has(d.partition));
    assert.ok(lost.length > 0, "20 keys over 2 partitions: the moved one had records");
    assert.equal(await a.consumer.commit(lost), false);
    // The failed commit moved nothing: b gets the lost partition's records.
    const want = new Set(ids(lost));
    const bGot = await drainUntil(
      b.consumer,
      ctx.t,
      (g) => [...want].every((id) => ids(g).includes(id)),
      { got: b.got },
    );
    assert.equal(await b.consumer.commit(bGot), true);
    // A mixed commit still applies the owned part but reports false.
    const own = a.got.filter((d) => kept.has(d.partition));
    assert.equal(await a.consumer.commit([...own, ...lost]), false);
    assert.equal(await a.consumer.commit(own), true);
  });

  test("drain() of a closed consumer rejects with ClosedError", 1, async (ctx) => {
    const c = ctx.join(ctx.group("closed"), "m1");
    await c.close();
    await assert.rejects(c.drain(1, ctx.t.step), ClosedError);
    await c.close(); // idempotent
  });

  test(
    `a pending drain() rejects with ClosedError when the ${
      put === "put" ? "queue" : "topic"
    } closes`,
    1,
    async (ctx) => {
      const c = ctx.join(ctx.group("closing"), "m1");
      const pending = c.drain(1, ctx.t.long * 2);
      pending.catch(() => {});
      await sleep(ctx.t.short);
      await ctx.log.close();
      await assert.rejects(within(pending, ctx.t.long, "drain"), ClosedError);
    },
  );

  test("a pending drain() rejects with AbortError when its signal aborts", 1, async (ctx) => {
    const c = ctx.join(ctx.group("abort"), "m1");
    const ac = new AbortController();
    const pending = c.drain(1, ctx.t.long * 2, ac.signal);
    pending.catch(() => {});
    await sleep(ctx.t.short);
    ac.abort();
    await assert.rejects(within(pending, ctx.t.long, "drain"), { name: "AbortError" });
  });
}
