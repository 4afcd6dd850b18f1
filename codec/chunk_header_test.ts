import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  create,
  fromBinary,
  type TickDataChunk,
  TickDataChunkSchema,
  toBinary,
} from "../proto/mod.ts";
import { type ChunkHeader, readChunkHeader } from "./chunk_header.ts";
import { testRunChunks } from "./_test_chunks.ts";

/** What {@link readChunkHeader} should say, from protobuf-es's decoding. */
function headerOf(chunk: TickDataChunk): ChunkHeader {
  return {
    runId: chunk.runId,
    firstTick: Number(chunk.firstTick),
    lastTick: Number(chunk.lastTick),
    chunkIndex: Number(chunk.chunkIndex),
    sampleCount: chunk.sampleCount,
    formatVersion: chunk.formatVersion,
    hasSnapshot: chunk.snapshot !== undefined,
  };
}

Deno.test("readChunkHeader agrees with protobuf-es on every chunk of a real run", () => {
  const chunks = testRunChunks();
  for (const bytes of chunks) {
    deepStrictEqual(readChunkHeader(bytes), headerOf(fromBinary(TickDataChunkSchema, bytes)));
  }
  ok(chunks.length >= 30, `${chunks.length} chunks`);
});

Deno.test("readChunkHeader skips unknown fields of every wire type and sees a missing snapshot", () => {
  const known = toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, {
      runId: "r-ü",
      firstTick: 2n ** 40n,
      lastTick: 2n ** 40n + 99n,
      formatVersion: 1,
      chunkIndex: 300n,
      sampleCount: 10,
      deltas: [{ tick: 5n }],
    }),
  );
  const odd = new BinaryWriter()
    .tag(99, WireType.Varint).int64(-1n)
    .tag(100, WireType.Bit64).fixed64(7n)
    .tag(101, WireType.Bit32).fixed32(7)
    .tag(102, WireType.LengthDelimited).bytes(new Uint8Array(200))
    .raw(known)
    .finish();
  const header = readChunkHeader(odd);
  deepStrictEqual(header, headerOf(fromBinary(TickDataChunkSchema, odd)));
  deepStrictEqual(header.hasSnapshot, false);
});

Deno.test("readChunkHeader fails exactly where protobuf-es does on every prefix", () => {
  const bytes = testRunChunks()[0]!;
  // Cuts near the head (scalars), inside the snapshot, and near the tail (scalars).
  const cuts = [
    ...Array.from({ length: 40 }, (_, i) => i + 1),
    ...Array.from({ length: 40 }, (_, i) => Math.floor(bytes.length / 2) + i),
    ...Array.from({ length: 40 }, (_, i) => bytes.length - 40 + i),
  ];
  for (const cut of cuts) {
    const part = bytes.subarray(0, cut);
    let theirs: TickDataChunk | undefined;
    try {
      theirs = fromBinary(TickDataChunkSchema, part);
    } catch {
      throws(() => readChunkHeader(part), RangeError, `cut at ${cut}`);
      continue;
    }
    deepStrictEqual(readChunkHeader(part), headerOf(theirs), `cut at ${cut}`);
  }
});

Deno.test("readChunkHeader names the byte offset of malformed input", () => {
  throws(() => readChunkHeader(new Uint8Array([0x10, 0x80])), /truncated varint at byte 1/);
  throws(() => readChunkHeader(new Uint8Array([0x00])), /field number 0 at byte 0/);
  throws(() => readChunkHeader(new Uint8Array([0x10, 1, 0x0b])), /wire type 3 at byte 2/);
  throws(() => readChunkHeader(new Uint8Array([0x0a, 0x05, 0x61])), /field 1 at byte 0 says 5/);
  throws(() => readChunkHeader(new Uint8Array([0x0a, 0x01, 0xff])), /run_id at byte 0/);
  throws(() => readChunkHeader(new Uint8Array([0x09, 1, 2])), /field 1 at byte 0 is truncated/);
});
