import assert from "node:assert/strict";
import { partHeaders } from "./large_messages.ts";
import { type IncomingRecord, PartitionState } from "./partition_state.ts";

const enc = new TextEncoder();

function rec(
  offset: number,
  value = `v${offset}`,
  headers: Record<string, string> = {},
): IncomingRecord {
  return { offset, key: "k", value: enc.encode(value), headers };
}

function part(offset: number, i: number, n: number, msg: string, value: string): IncomingRecord {
  return rec(offset, value, partHeaders(i, n, msg, i === 0 ? { id: msg } : {}));
}

function takeAll(st: PartitionState) {
  const out = [];
  for (let d = st.take(); d !== undefined; d = st.take()) out.push(d);
  return out;
}

Deno.test("PartitionState: commit advances over the contiguous run of done records only", () => {
  const st = new PartitionState(0);
  for (let o = 5; o < 10; o++) st.ingest(rec(o));
  const ds = takeAll(st);
  assert.deepEqual(ds.map((d) => d.offset), [5, 6, 7, 8, 9]);
  st.markDone(6);
  st.markDone(7);
  assert.equal(st.commitTarget(), undefined, "5 is not done: nothing to commit");
  st.markDone(5);
  assert.equal(st.commitTarget(), 8);
  st.applyCommit(8);
  assert.equal(st.committed, 8);
  st.markDone(9);
  assert.equal(st.commitTarget(), undefined, "8 still open");
  st.markDone(8);
  assert.equal(st.commitTarget(), 10);
  st.applyCommit(10);
  assert.equal(st.pendingCount, 0);
  // Old offsets are ignored; the position never moves back.
  st.markDone(6);
  assert.equal(st.commitTarget(), undefined);
  st.applyCommit(7);
  assert.equal(st.committed, 10);
});

Deno.test("PartitionState: duplicates below the fetch position are dropped", () => {
  const st = new PartitionState(0);
  st.ingest(rec(0));
  st.ingest(rec(1));
  st.ingest(rec(0));
  st.ingest(rec(1));
  st.ingest(rec(2));
  assert.deepEqual(takeAll(st).map((d) => d.offset), [0, 1, 2]);
  assert.equal(st.next, 3);
});

Deno.test("PartitionState: parts are reassembled into one delivery at the last part's offset", () => {
  const st = new PartitionState(3);
  st.ingest(part(10, 0, 3, "p1:0", "aa"));
  assert.equal(st.readyCount, 0);
  assert.equal(st.heldBytes, 2);
  st.ingest(part(11, 1, 3, "p1:0", "bb"));
  st.ingest(part(12, 2, 3, "p1:0", "c"));
  const [d] = takeAll(st);
  assert.ok(d);
  assert.equal(new TextDecoder().decode(d.value), "aabbc");
  assert.equal(d.offset, 12);
  assert.equal(d.partition, 3);
  assert.deepEqual({ ...d.headers }, { id: "p1:0" }, "only user headers");
  assert.equal(st.heldBytes, 0);
  st.markDone(12);
  assert.equal(st.commitTarget(), 13, "all three parts done");
});

Deno.test("PartitionState: records interleaved between parts keep their own fate", () => {
  const st = new PartitionState(0);
  st.ingest(part(0, 0, 2, "a:0", "x"));
  st.ingest(rec(1, "other"));
  st.ingest(part(2, 1, 2, "a:0", "y"));
  const ds = takeAll(st);
  assert.deepEqual(ds.map((d) => d.offset), [1, 2]);
  // The big one done, the interleaved one not: the position stops at 1.
  st.markDone(2);
  assert.equal(st.commitTarget(), 1);
  st.applyCommit(1);
  st.markDone(1);
  assert.equal(st.commitTarget(), 3);
});

Deno.test("PartitionState: a fragment whose start was committed before is skipped", () => {
  // The group's position is 1 (offset 0 = part 0 was committed with its message); a new
  // owner starts at the interleaved record and must skip the trailing part.
  const st = new PartitionState(0);
  st.ingest(rec(1, "other"));
  st.ingest(part(2, 1, 2, "a:0", "y"));
  assert.deepEqual(takeAll(st).map((d) => d.offset), [1]);
  assert.equal(st.discardedParts, 1);
  st.markDone(1);
  assert.equal(st.commitTarget(), 3, "the skipped fragment is committed along");
});

Deno.test("PartitionState: a producer's new message abandons its unfinished one", () => {
  const st = new PartitionState(0);
  st.ingest(part(0, 0, 3, "prodA:0", "x"));
  st.ingest(part(1, 1, 3, "prodA:0", "y"));
  st.ingest(part(2, 0, 2, "prodB:0", "b0")); // another producer: both stay open
  assert.equal(st.openMessages, 2);
  st.ingest(part(3, 0, 2, "prodA:1", "n0")); // prodA restarted: prodA:0 never completes
  assert.equal(st.openMessages, 2);
  assert.equal(st.discardedParts, 2);
  st.ingest(part(4, 1, 2, "prodA:1", "n1"));
  st.ingest(part(5, 1, 2, "prodB:0", "b1"));
  const ds = takeAll(st);
  assert.deepEqual(ds.map((d) => new TextDecoder().decode(d.value)), ["n0n1", "b0b1"]);
  st.markDone(4);
  st.markDone(5);
  assert.equal(st.commitTarget(), 6, "abandoned parts count as done");
});

Deno.test("PartitionState: an unfinished message is abandoned after abandonAfter records", () => {
  const st = new PartitionState(0, 3);
  st.ingest(part(0, 0, 2, "gone:0", "x"));
  for (let o = 1; o <= 3; o++) st.ingest(rec(o));
  assert.equal(st.openMessages, 1);
  st.ingest(rec(4));
  assert.equal(st.openMessages, 0);
  assert.equal(st.discardedParts, 1);
  assert.equal(st.heldBytes, 0);
  for (const d of takeAll(st)) st.markDone(d.offset);
  assert.equal(st.commitTarget(), 5);
});

Deno.test("PartitionState: out-of-order or malformed parts do not poison the partition", () => {
  const st = new PartitionState(0);
  st.ingest(part(0, 0, 3, "p:0", "a"));
  st.ingest(part(1, 2, 3, "p:0", "c")); // part 1 missing
  assert.equal(st.openMessages, 0);
  assert.equal(st.discardedParts, 2);
  st.ingest(
    rec(2, "bad", {
      "evochora.part.index": "x",
      "evochora.part.count": "2",
      "evochora.part.msg": "m",
    }),
  );
  const [d] = takeAll(st);
  assert.equal(d?.offset, 2, "a malformed part is delivered as it is");
  st.markDone(2);
  assert.equal(st.commitTarget(), 3);
});

Deno.test("PartitionState: a taken record's bytes are not kept reachable (after GC)", async () => {
  // In a child with --expose-gc: ingest and take 600 records of 1 MiB, drop our references,
  // collect, and measure the external (ArrayBuffer) memory still alive. A FIFO that keeps
  // taken slots until its next compaction keeps all 600 MiB (the consumer leak of issue 8).
  const script = `
    import { PartitionState } from ${
    JSON.stringify(new URL("./partition_state.ts", import.meta.url).href)
  };
    const st = new PartitionState(0);
    for (let o = 0; o < 600; o++) {
      st.ingest({ offset: o, key: "k", value: new Uint8Array(1 << 20).fill(1), headers: {} });
      st.take();
    }
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    globalThis.gc();
    console.log(JSON.stringify({ external: Deno.memoryUsage().external, pending: st.pendingCount }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    external: number;
    pending: number;
  };
  assert.equal(r.pending, 600, "offsets stay pending until committed");
  assert.ok(r.external < 64 * 2 ** 20, `external memory after GC: ${r.external} bytes`);
});
