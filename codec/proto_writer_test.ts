import { deepStrictEqual } from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { LEN, ProtoWriter } from "./proto_writer.ts";

const INTS = [0, 1, -1, 127, 128, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 40), 2 ** 53 - 1];

Deno.test("ProtoWriter's scalar fields equal protobuf-es's BinaryWriter", () => {
  const mine = new ProtoWriter(4); // tiny: every write grows the buffer
  const theirs = new BinaryWriter();
  INTS.forEach((v, i) => {
    mine.intField(i + 1, v);
    if (v !== 0) theirs.tag(i + 1, WireType.Varint).int64(v);
  });
  mine.boolField(20, true);
  mine.boolField(21, false);
  theirs.tag(20, WireType.Varint).bool(true);
  for (const v of [0n, 1n, 2n ** 63n, 2n ** 64n - 1n]) {
    mine.uint64Field(22, v);
    if (v !== 0n) theirs.tag(22, WireType.Varint).uint64(v);
  }
  for (const s of ["", "a", "grüße 🦠", "x".repeat(300)]) {
    mine.stringField(23, s);
    if (s !== "") theirs.tag(23, WireType.LengthDelimited).string(s);
  }
  mine.tag(2000, LEN);
  mine.uvarint(0);
  theirs.tag(2000, WireType.LengthDelimited).uint32(0);
  deepStrictEqual(mine.bytes(), theirs.finish());
});

Deno.test("ProtoWriter's packed fields equal protobuf-es's, for any body length", () => {
  // Bodies of 1, 2 and 3 length bytes: end() widens the one byte begin() reserved.
  for (const n of [0, 1, 100, 127, 128, 5000, 16383, 16384, 30000]) {
    const values = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -i : i * 1000));
    const mine = new ProtoWriter(8);
    mine.intField(1, 7);
    mine.packed(2, values);
    mine.packedSigned(3, values);
    mine.packed(4, values, 1, Math.max(1, n - 1));
    mine.intField(5, 9);
    const theirs = new BinaryWriter().tag(1, WireType.Varint).int32(7);
    if (n > 0) {
      theirs.tag(2, WireType.LengthDelimited).fork();
      for (const v of values) theirs.int32(v);
      theirs.join().tag(3, WireType.LengthDelimited).fork();
      for (const v of values) theirs.sint32(v);
      theirs.join();
    }
    if (n > 2) {
      theirs.tag(4, WireType.LengthDelimited).fork();
      for (const v of values.slice(1, n - 1)) theirs.int32(v);
      theirs.join();
    }
    theirs.tag(5, WireType.Varint).int32(9);
    deepStrictEqual(mine.bytes(), theirs.finish(), `${n} values`);
  }
});

Deno.test("ProtoWriter nests messages and keeps raw bytes; reset reuses the buffer", () => {
  const mine = new ProtoWriter(16);
  mine.intField(1, 3);
  mine.reset();
  mine.tag(1, LEN);
  const outer = mine.begin();
  mine.tag(2, LEN);
  const inner = mine.begin();
  mine.stringField(1, "y".repeat(200));
  mine.end(inner);
  mine.raw(new Uint8Array([0x18, 0x05]));
  mine.end(outer);
  const theirs = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).fork()
    .tag(2, WireType.LengthDelimited).fork()
    .tag(1, WireType.LengthDelimited).string("y".repeat(200))
    .join()
    .tag(3, WireType.Varint).int32(5)
    .join();
  deepStrictEqual(mine.bytes(), theirs.finish());
});

Deno.test("packed() and packedSint64() equal protobuf-es's at every varint length's edges", () => {
  const edges = [0, 7, 14, 21, 27, 28, 31, 32, 35, 42, 49, 51].flatMap((b) => {
    const x = 2 ** b;
    return [x - 1, x, x + 1, -x + 1, -x, -x - 1];
  });
  const mine = new ProtoWriter(8);
  mine.packed(1, edges.filter((v) => v >= -(2 ** 31) && v < 2 ** 31));
  mine.packedSint64(2, edges);
  const theirs = new BinaryWriter().tag(1, WireType.LengthDelimited).fork();
  for (const v of edges) if (v >= -(2 ** 31) && v < 2 ** 31) theirs.int32(v);
  theirs.join().tag(2, WireType.LengthDelimited).fork();
  for (const v of edges) theirs.sint64(v);
  deepStrictEqual(mine.bytes(), theirs.join().finish());
});
