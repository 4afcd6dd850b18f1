import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  type CellColumns,
  create,
  DeltaType,
  fromBinary,
  type OrganismState,
  type TickData,
  TickDataChunkSchema,
  type TickDelta,
  toBinary,
} from "../proto/mod.ts";
import { testRunChunks } from "./_test_chunks.ts";
import { ChunkDecodeError, resolveChunkOrganisms } from "./chunk_decoder.ts";
import { type CellArrays, decodeLeanChunk, type LeanSample } from "./lean_chunk.ts";
import { type LeanOrganism, leanOrganismsOf } from "./lean_organisms.ts";

function cells(c: CellColumns | undefined): CellArrays | undefined {
  if (c === undefined) return undefined;
  return {
    flatIndex: Int32Array.from(c.flatIndex),
    molecule: Int32Array.from(c.molecule),
    owner: Int32Array.from(c.owner),
  };
}

function organism(o: OrganismState): LeanOrganism {
  const { id, parentId, birthTick, generation, energy, entropy, genomeHash, alive } = o;
  const { deathReason, children, bodySize, deathTick } = o;
  return {
    id,
    parentId,
    birthTick: Number(birthTick),
    generation,
    energy,
    entropy,
    genomeHash,
    alive,
    deathReason,
    children,
    bodySize,
    deathTick: Number(deathTick),
  };
}

/** What decodeLeanChunk must give for a sample, from protobuf-es's full message. */
function sample(s: TickData | TickDelta): LeanSample {
  const delta = s.$typeName === "evochora.v1.TickDelta";
  return {
    tick: Number(s.tick),
    deltaType: delta ? s.deltaType : DeltaType.UNSPECIFIED,
    cells: cells(delta ? s.changedCells : s.cells),
    organisms: leanOrganismsOf(s.organisms.map(organism)),
    summary: s.summary,
  };
}

Deno.test("decodeLeanChunk gives protobuf-es's values, leanly, on every chunk of a real run", () => {
  const chunks = testRunChunks();
  let organisms = 0;
  for (const bytes of chunks) {
    const full = resolveChunkOrganisms(fromBinary(TickDataChunkSchema, bytes));
    const lean = decodeLeanChunk(bytes);
    deepStrictEqual(lean, {
      runId: full.runId,
      firstTick: Number(full.firstTick),
      lastTick: Number(full.lastTick),
      chunkIndex: Number(full.chunkIndex),
      formatVersion: full.formatVersion,
      sampleCount: full.sampleCount,
      snapshot: full.snapshot === undefined ? undefined : sample(full.snapshot),
      deltas: full.deltas.map(sample),
    });
    organisms += lean.snapshot?.organisms.count ?? 0;
  }
  ok(chunks.length >= 30 && organisms > 0, `${chunks.length} chunks, ${organisms} organisms`);
});

Deno.test("decodeLeanChunk reads unpacked and split cell columns, negative values and long ticks", () => {
  // Positions 1 and 2 packed, then 3 unpacked; one molecule negative (ten-byte varint).
  const w = new BinaryWriter();
  // Ticks of one to six varint bytes.
  w.tag(2, WireType.Varint).int64(300000n);
  w.tag(3, WireType.Varint).int64(2n ** 40n);
  w.tag(7, WireType.Varint).int64(2097152n);
  w.tag(4, WireType.LengthDelimited).fork();
  w.tag(1, WireType.Varint).int64(7n);
  w.tag(2, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).fork().int32(1).int32(2).join();
  w.tag(1, WireType.Varint).int32(3);
  w.tag(2, WireType.LengthDelimited).fork().int32(-5).int32(300).int32(2 ** 30).join();
  w.tag(3, WireType.LengthDelimited).fork().int32(0).int32(1).int32(2).join();
  w.join().join();
  const lean = decodeLeanChunk(w.finish());
  deepStrictEqual([lean.firstTick, lean.lastTick, lean.chunkIndex], [300000, 2 ** 40, 2097152]);
  deepStrictEqual(lean.snapshot?.tick, 7);
  deepStrictEqual(lean.snapshot?.cells, {
    flatIndex: Int32Array.of(1, 2, 3),
    molecule: Int32Array.of(-5, 300, 2 ** 30),
    owner: Int32Array.of(0, 1, 2),
  });
});

Deno.test("decodeLeanChunk names the byte offset of truncated or malformed input", () => {
  const bytes = toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, {
      snapshot: { tick: 3n, cells: { flatIndex: [1, 2], molecule: [3, 4], owner: [0, 0] } },
    }),
  );
  throws(() => decodeLeanChunk(bytes.subarray(0, bytes.length - 2)), ChunkDecodeError);
  throws(() => decodeLeanChunk(Uint8Array.of(0x22, 0x05, 0x08)), /runs past the end/);
  throws(() => decodeLeanChunk(Uint8Array.of(0x20, 0x01)), /field 4 has wire type 0 at byte 0/);
});
