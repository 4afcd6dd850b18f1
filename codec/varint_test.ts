import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { BinaryReader, BinaryWriter, sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import { BatchInfoSchema, create, toBinary } from "../proto/mod.ts";
import {
  DelimitedDecodeError,
  frameDelimited,
  framedSize,
  frameInto,
  readVarint,
  splitDelimitedRecords,
  VarintDecodeError,
  varintSize,
  writeVarint,
} from "./varint.ts";

/** Around every 7-bit boundary, 32 bits and the largest safe integer. */
const VALUES = [
  0,
  1,
  127,
  128,
  255,
  16383,
  16384,
  2 ** 21 - 1,
  2 ** 21,
  2 ** 28,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 35 + 3,
  2 ** 49,
  Number.MAX_SAFE_INTEGER,
];

Deno.test("writeVarint and varintSize give protobuf-es's uint64 varint bytes", () => {
  for (const v of VALUES) {
    const theirs = new BinaryWriter().uint64(BigInt(v)).finish();
    const mine = new Uint8Array(10);
    const end = writeVarint(v, mine, 0);
    deepStrictEqual(mine.subarray(0, end), theirs, `${v}`);
    equal(varintSize(v), theirs.length, `${v}`);
  }
});

Deno.test("readVarint reads what protobuf-es writes, at any offset", () => {
  for (const v of VALUES) {
    const bytes = new BinaryWriter().uint32(7).uint64(BigInt(v)).finish();
    const read = readVarint(bytes, 1);
    equal(read.value, v);
    equal(read.end, bytes.length);
    equal(BigInt(read.value), new BinaryReader(bytes.subarray(1)).uint64());
  }
});

Deno.test("readVarint names the varint's first byte when it is truncated or too long", () => {
  throws(
    () => readVarint(new Uint8Array([5, 0x80, 0x80]), 1),
    (e: unknown) =>
      e instanceof VarintDecodeError && e.reason === "truncated" && e.offset === 1 &&
      e.remaining === 2 && e.message === "truncated varint at byte 1",
  );
  throws(() => readVarint(new Uint8Array(0), 0), /truncated varint at byte 0/);
  const long = new Uint8Array([1, ...new Array(10).fill(0x80), 1]);
  throws(() => readVarint(long, 1), /varint longer than 10 bytes at byte 1/);
  // Ten bytes are allowed: the last one ends the varint.
  const ten = new Uint8Array([...new Array(9).fill(0xff), 0x01]);
  equal(readVarint(ten, 0).end, 10);
});

Deno.test("frameDelimited equals protobuf-es's sizeDelimitedEncode, concatenated", () => {
  const messages = [0, 1, 127, 128, 300, 20000].map((n) =>
    create(BatchInfoSchema, { runId: "x".repeat(n) })
  );
  const theirs = messages.map((m) => sizeDelimitedEncode(BatchInfoSchema, m));
  const raw = messages.map((m) => toBinary(BatchInfoSchema, m));
  const expected = new Uint8Array(theirs.reduce((n, t) => n + t.length, 0));
  let at = 0;
  for (const t of theirs) {
    expected.set(t, at);
    at += t.length;
  }
  const framed = frameDelimited(raw);
  deepStrictEqual(framed, expected);
  const split = [...splitDelimitedRecords(framed)];
  deepStrictEqual(split.map((r) => r.bytes), raw);
  equal(split[1]!.offset, theirs[0]!.length);
});

Deno.test("splitDelimitedRecords reports a bad length prefix at the record's offset", () => {
  const good = frameDelimited([new Uint8Array([1, 2, 3])]);
  const truncated = new Uint8Array([...good, 0x80]);
  throws(
    () => [...splitDelimitedRecords(truncated)],
    (e: unknown) =>
      e instanceof DelimitedDecodeError && e.offset === 4 &&
      e.message ===
        "truncated length prefix at byte 4: the data ends inside the varint (1 byte(s) remain)",
  );
  const tooLong = new Uint8Array([...good, ...new Array(11).fill(0x80)]);
  throws(
    () => [...splitDelimitedRecords(tooLong)],
    (e: unknown) =>
      e instanceof DelimitedDecodeError && e.offset === 4 &&
      e.message === "corrupt length prefix at byte 4: varint longer than 10 bytes",
  );
  // The caller may word the message (message streams put the key in front).
  throws(
    () => [...splitDelimitedRecords(truncated, 100, (head, detail) => `${head}: ${detail}`)],
    /: truncated length prefix: the data ends/,
  );
  throws(() => [...splitDelimitedRecords(new Uint8Array([5, 1]))], /truncated message at byte 0/);
  throws(() => [...splitDelimitedRecords(new Uint8Array([5, 1]), 4)], /more than the limit of 4/);
});

Deno.test("frameInto frames into the start of a larger buffer as frameDelimited does, and refuses one too small", () => {
  const messages = [new Uint8Array(3).fill(7), new Uint8Array(0), new Uint8Array(200).fill(9)];
  const expected = frameDelimited(messages);
  equal(framedSize(messages), expected.length);
  const out = new Uint8Array(expected.length + 50).fill(1);
  const framed = frameInto(messages, out);
  deepStrictEqual(framed, expected);
  equal(framed.buffer, out.buffer);
  equal(out[expected.length], 1); // nothing written after the framed bytes
  throws(() => frameInto(messages, new Uint8Array(expected.length - 1)), RangeError);
});
