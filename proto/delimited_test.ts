import assert from "node:assert/strict";
import { equals } from "@bufbuild/protobuf";
import { sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import {
  create,
  decodeDelimitedStream,
  DelimitedDecodeError,
  DeltaType,
  encodeDelimited,
  FORMAT_VERSION,
  FormatVersion,
  type TickDataChunk,
  TickDataChunkSchema,
  VectorSchema,
} from "./mod.ts";

function chunk(index: number, cells: number): TickDataChunk {
  const first = BigInt(index * 1000);
  const column = (f: (i: number) => number) => Array.from({ length: cells }, (_, i) => f(i));
  return create(TickDataChunkSchema, {
    runId: "run-1",
    firstTick: first,
    lastTick: first + 20n,
    formatVersion: FORMAT_VERSION,
    chunkIndex: BigInt(index),
    sampleCount: 2,
    createdAtMs: 1_700_000_000_000n,
    snapshot: {
      tick: first,
      cells: {
        flatIndex: column((i) => i * 3),
        molecule: column((i) => ((i % 7) << 20) | (i & 0xfffff)),
        owner: column((i) => i % 5),
      },
      organisms: [{
        id: 1,
        ip: [3, 4],
        dv: [1, 0],
        dataRegisters: [1, -2, 3],
        energy: 500,
        lastOpcode: -1,
        alive: true,
      }],
      summary: { organismsAlive: 1, moleculeCounts: [cells, 0, 2] },
      rngStateHash: 0xffff_ffff_ffff_ffffn,
    },
    deltas: [{
      tick: first + 20n,
      deltaType: DeltaType.INCREMENTAL,
      changedCells: { flatIndex: [7], molecule: [0], owner: [0] },
      rngStateHash: 42n,
    }],
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function decodeError(fn: () => unknown): DelimitedDecodeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DelimitedDecodeError, `expected DelimitedDecodeError, got ${e}`);
    assert.ok(e instanceof RangeError);
    return e;
  }
  assert.fail("expected a DelimitedDecodeError");
}

// Small, empty and large (multi-byte length prefix) chunks.
const chunks = [chunk(0, 3), create(TickDataChunkSchema), chunk(2, 5000), chunk(3, 1)];
const records = chunks.map((c) => encodeDelimited(TickDataChunkSchema, c));
const stream = concat(records);
const offsets = records.map((_, i) => records.slice(0, i).reduce((n, r) => n + r.length, 0));

Deno.test("FORMAT_VERSION is format version 2", () => {
  assert.equal(FORMAT_VERSION, FormatVersion.FORMAT_VERSION_2);
  assert.equal(FORMAT_VERSION, 2);
});

Deno.test("encodeDelimited matches sizeDelimitedEncode of @bufbuild/protobuf/wire", () => {
  for (const c of chunks) {
    assert.deepEqual(
      encodeDelimited(TickDataChunkSchema, c),
      sizeDelimitedEncode(TickDataChunkSchema, c),
    );
  }
  assert.ok(records[2]!.length > 16384, "the large chunk should need a 3-byte length prefix");
});

Deno.test("several TickDataChunks round-trip through a delimited stream", () => {
  const decoded = [...decodeDelimitedStream(TickDataChunkSchema, stream)];
  assert.equal(decoded.length, chunks.length);
  decoded.forEach(({ message, offset }, i) => {
    assert.equal(offset, offsets[i]);
    assert.ok(equals(TickDataChunkSchema, message, chunks[i]!), `chunk ${i} differs`);
  });
  assert.equal(decoded[2]!.message.snapshot?.cells?.molecule[4999], ((4999 % 7) << 20) | 4999);
  assert.equal(decoded[0]!.message.snapshot?.rngStateHash, 0xffff_ffff_ffff_ffffn);
});

Deno.test("empty input yields no messages", () => {
  assert.deepEqual([...decodeDelimitedStream(TickDataChunkSchema, new Uint8Array(0))], []);
});

Deno.test("truncated message names the byte offset of its record", () => {
  const cut = stream.subarray(0, offsets[2]! + 500);
  const seen: number[] = [];
  const e = decodeError(() => {
    for (const { offset } of decodeDelimitedStream(TickDataChunkSchema, cut)) seen.push(offset);
  });
  assert.deepEqual(seen, offsets.slice(0, 2), "records before the cut are still yielded");
  assert.equal(e.offset, offsets[2]);
  const size = records[2]!.length - 3;
  assert.equal(
    e.message,
    `truncated message at byte ${offsets[2]}: length prefix says ${size} bytes, 497 remain`,
  );
});

Deno.test("data ending inside a length prefix is reported as truncated", () => {
  const cut = stream.subarray(0, offsets[2]! + 2); // 2 of the 3 prefix bytes
  const e = decodeError(() => [...decodeDelimitedStream(TickDataChunkSchema, cut)]);
  assert.equal(e.offset, offsets[2]);
  assert.match(e.message, new RegExp(`^truncated length prefix at byte ${offsets[2]}:`));
});

Deno.test("garbage after valid records is reported as corrupt at its offset", () => {
  // Length 4, then a tag with wire type 7, which does not exist.
  const bad = concat([records[0]!, new Uint8Array([4, 0x0f, 1, 2, 3])]);
  const e = decodeError(() => [...decodeDelimitedStream(TickDataChunkSchema, bad)]);
  assert.equal(e.offset, records[0]!.length);
  assert.match(
    e.message,
    new RegExp(
      `^corrupt message at byte ${
        records[0]!.length
      }: 4-byte evochora.v1.TickDataChunk does not parse: `,
    ),
  );
  assert.ok(e.cause instanceof Error);
});

Deno.test("garbage length prefixes are reported", () => {
  const long = decodeError(() => [
    ...decodeDelimitedStream(VectorSchema, new Uint8Array(12).fill(0xff)),
  ]);
  assert.equal(long.offset, 0);
  assert.match(long.message, /^corrupt length prefix at byte 0: varint longer than 10 bytes/);

  const huge = decodeError(() => [
    ...decodeDelimitedStream(TickDataChunkSchema, stream, { maxMessageBytes: 1000 }),
  ]);
  assert.equal(huge.offset, offsets[2]);
  assert.match(huge.message, /more than the limit of 1000/);

  // A plausible prefix claiming more than is there: indistinguishable from truncation.
  const random = decodeError(() => [
    ...decodeDelimitedStream(VectorSchema, new Uint8Array([0xde, 0xad, 0x3e, 0xef])),
  ]);
  assert.equal(random.offset, 0);
  assert.match(
    random.message,
    /^truncated message at byte 0: length prefix says \d+ bytes, 1 remain$/,
  );
});
