import { deepStrictEqual, ok, throws } from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  CellColumnsSchema,
  create,
  DeltaType,
  fromBinary,
  TickDataChunkSchema,
  toBinary,
} from "../proto/mod.ts";
import { testRunChunks } from "./_test_chunks.ts";
import { ChunkDecodeError, decodeTickDataChunk, resolveChunkOrganisms } from "./chunk_decoder.ts";

Deno.test("decodeTickDataChunk equals protobuf-es, organism columns resolved, on every chunk of a real run", () => {
  const chunks = testRunChunks();
  for (const m of chunks) {
    const theirs = fromBinary(TickDataChunkSchema, m);
    ok(theirs.deltas.every((d) => d.organisms.length === 0 && d.organismColumns !== undefined));
    deepStrictEqual(decodeTickDataChunk(m), resolveChunkOrganisms(theirs));
  }
  ok(chunks.length >= 30, `${chunks.length} chunks`);
});

Deno.test("decodeTickDataChunk without organisms gives the same chunk with every sample's organisms empty", () => {
  const chunks = testRunChunks();
  let skipped = 0;
  for (const m of chunks) {
    const whole = decodeTickDataChunk(m);
    const cells = decodeTickDataChunk(m, { organisms: false });
    for (const s of [whole.snapshot, ...whole.deltas]) {
      if (s === undefined) continue;
      skipped += s.organisms.length;
      s.organisms = [];
    }
    deepStrictEqual(cells, whole);
  }
  ok(skipped > 1000, `${skipped} organism states skipped`);
  // Cut anywhere, both fail or neither does: skipped organisms are checked for their framing.
  const m = chunks[1]!;
  let failed = 0;
  for (let cut = 1; cut < m.length; cut += 101) {
    const part = m.subarray(0, cut);
    const fails = (f: () => unknown) => {
      try {
        f();
        return false;
      } catch (e) {
        ok(e instanceof ChunkDecodeError, `cut at ${cut}: ${e}`);
        return true;
      }
    };
    const whole = fails(() => decodeTickDataChunk(part));
    deepStrictEqual(fails(() => decodeTickDataChunk(part, { organisms: false })), whole, `${cut}`);
    if (whole) failed++;
  }
  ok(failed > 100, `${failed} cuts failed`);
});

Deno.test("decodeTickDataChunk handles negative, 64-bit and unpacked values like protobuf-es", () => {
  const chunk = create(TickDataChunkSchema, {
    runId: "run-ü-1",
    firstTick: 9007199254740993n,
    lastTick: 2n ** 63n - 1n,
    chunkIndex: -3n,
    sampleCount: -1,
    createdAtMs: 1n,
    formatVersion: 1,
    snapshot: {
      tick: 5n,
      rngStateHash: 2n ** 64n - 1n,
      cells: {
        flatIndex: [0, 127, 128, 16383, 16384, 2 ** 28, 2 ** 31 - 1],
        molecule: [-1, -(2 ** 31), 5, 0, 1, 2, 3],
        owner: [1, 2, 3, 4, 5, 6, 7],
      },
      organisms: [{
        id: 7,
        parentId: -2,
        birthTick: -5n,
        generation: 3,
        ip: [1, 2],
        dv: [-1, 0, 1, -(2 ** 31), 2 ** 31 - 1],
        locationRegisters: [-7, 7],
        locationStack: [-1],
        energy: -100,
        genomeHash: 0xffffffff,
        lastFailed: true,
        failureReason: "nö",
        instructionsExecuted: 2n ** 53n + 1n,
        alive: true,
        deathTick: 0n,
        lastPosition: [-1, -2],
      }],
      summary: {
        organismsCreated: 3n,
        moleculeCounts: [1, 0, -1],
        instructionsExecuted: 2n ** 40n,
      },
    },
    deltas: [
      {
        tick: 10n,
        deltaType: DeltaType.ACCUMULATED,
        changedCells: { flatIndex: [1], molecule: [0], owner: [0] },
      },
      { tick: 20n, deltaType: 99 as DeltaType },
    ],
  });
  const bytes = toBinary(TickDataChunkSchema, chunk);
  deepStrictEqual(decodeTickDataChunk(bytes), fromBinary(TickDataChunkSchema, bytes));

  // Unpacked repeated values (legal protobuf) and unknown fields (skipped).
  const cells = new BinaryWriter();
  for (const v of [3, -4, 70000]) cells.tag(1, WireType.Varint).int32(v);
  cells.tag(2, WireType.LengthDelimited).bytes(new Uint8Array([12]));
  cells.tag(9, WireType.Bit64).fixed64(1n);
  const tickData = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(cells.finish());
  const w = new BinaryWriter()
    .tag(4, WireType.LengthDelimited).bytes(tickData.finish())
    .tag(99, WireType.Varint).int32(-1)
    .tag(100, WireType.Bit32).fixed32(5);
  const odd = w.finish();
  const mine = decodeTickDataChunk(odd);
  deepStrictEqual(
    mine.snapshot!.cells,
    create(CellColumnsSchema, { flatIndex: [3, -4, 70000], molecule: [12] }),
  );
  const theirs = fromBinary(TickDataChunkSchema, odd);
  delete theirs.$unknown;
  delete theirs.snapshot!.cells!.$unknown;
  delete theirs.snapshot!.$unknown;
  deepStrictEqual(mine, theirs);
});

Deno.test("decodeTickDataChunk names the byte offset of truncated or malformed input", () => {
  const bytes = toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, {
      runId: "r",
      snapshot: {
        tick: 1n,
        cells: { flatIndex: [1, 2, 3], molecule: [4, 5, 6], owner: [0, 0, 0] },
      },
    }),
  );
  // Every prefix: a cut at a field boundary is a valid (shorter) message, anything else an error,
  // exactly as protobuf-es sees it.
  let errors = 0;
  for (let cut = 1; cut < bytes.length; cut++) {
    const part = bytes.subarray(0, cut);
    let theirs;
    try {
      theirs = fromBinary(TickDataChunkSchema, part);
    } catch {
      errors++;
      throws(() => decodeTickDataChunk(part), ChunkDecodeError, `cut at ${cut}`);
      continue;
    }
    deepStrictEqual(decodeTickDataChunk(part), theirs, `cut at ${cut}`);
  }
  ok(errors > bytes.length / 2);
  throws(() => decodeTickDataChunk(new Uint8Array([0x0b])), /field 1 has wire type 3 at byte 0/);
  throws(() => decodeTickDataChunk(new Uint8Array([0x00])), /field number 0 at byte 0/);
  throws(() => decodeTickDataChunk(new Uint8Array([0x0a, 0x01, 0xff])), /UTF-8/);
});
