import assert from "node:assert/strict";
import { crc32c, decodeRecordBatches, encodeRecordBatch, Reader, Writer } from "./kafka_wire.ts";

Deno.test("crc32c check value", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array()), 0);
});

Deno.test("varint and varlong round trip with zigzag", () => {
  const ints = [0, -1, 1, 63, -64, 64, 300, -300, 2 ** 31 - 1, -(2 ** 31)];
  const longs = [0n, -1n, 1n, 1n << 40n, -(1n << 40n), (1n << 63n) - 1n, -(1n << 63n)];
  const w = new Writer();
  for (const i of ints) w.varint(i);
  for (const l of longs) w.varlong(l);
  const r = new Reader(w.finish());
  for (const i of ints) assert.equal(r.varint(), i);
  for (const l of longs) assert.equal(r.varlong(), l);
  assert.equal(r.remaining, 0);
  // zigzag: -1 is one byte 0x01, 1 is 0x02, 300 is 0xd8 0x04
  assert.deepEqual([...new Writer().varint(-1).varint(1).varint(300).finish()], [1, 2, 0xd8, 4]);
});

Deno.test("record batch encodes and decodes", () => {
  const enc = new TextEncoder();
  const batch = encodeRecordBatch([
    { key: enc.encode("k"), value: enc.encode("hello"), headers: [["h", enc.encode("v")]] },
    { key: null, value: null },
  ], 1_700_000_000_000n);
  // baseOffset(8) + batchLength(4) + the length it states
  assert.equal(new DataView(batch.buffer).getInt32(8) + 12, batch.length);
  assert.equal(batch[16], 2); // magic
  const records = decodeRecordBatches(batch);
  assert.equal(records.length, 2);
  assert.equal(new TextDecoder().decode(records[0]!.value!), "hello");
  assert.equal(new TextDecoder().decode(records[0]!.key!), "k");
  assert.deepEqual(records[0]!.headers, [["h", enc.encode("v")]]);
  assert.equal(records[1]!.offset, 1n);
  assert.equal(records[1]!.value, null);
  assert.equal(records[1]!.timestampMs, 1_700_000_000_000n);
  const corrupt = batch.slice();
  corrupt[corrupt.length - 1]! ^= 1;
  assert.throws(() => decodeRecordBatches(corrupt), /CRC32C/);
});
