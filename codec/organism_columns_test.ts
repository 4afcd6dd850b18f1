import { deepStrictEqual, equal, throws } from "node:assert/strict";
import {
  create,
  DeltaType,
  fromBinary,
  type OrganismState,
  OrganismStateSchema,
  TickDataChunkSchema,
  toBinary,
} from "../proto/mod.ts";
import {
  beginSample,
  DELTA_LAYOUT,
  encodeChunk,
  endSample,
  type OrganismStateFields,
  SNAPSHOT_LAYOUT,
} from "./chunk_writer.ts";
import { ChunkDecodeError, decodeTickDataChunk } from "./chunk_decoder.ts";
import { decodeLeanChunk } from "./lean_chunk.ts";
import { leanOrganismList } from "./lean_organisms.ts";
import { decodeSint64s } from "./organism_columns.ts";
import { OrganismColumnsWriter } from "./organism_columns_writer.ts";
import { ProtoWriter } from "./proto_writer.ts";
import { GRID_16, organismFields } from "./_test_organisms.ts";

const GRID = GRID_16;
const fields = organismFields;

/** The OrganismState the wire carries for `o` (positions as coordinates). */
function message(o: OrganismStateFields): OrganismState {
  const xy = (f: number) => [f % 16, Math.floor(f / 16)];
  return create(OrganismStateSchema, {
    id: o.id,
    parentId: o.parentId,
    birthTick: BigInt(o.birthTick),
    generation: o.generation,
    ip: xy(o.ip),
    dv: [...Array.from(o.dv)],
    dataPointers: Array.from(o.dataPointers).flatMap(xy),
    activeDp: o.activeDp,
    dataRegisters: [...Array.from(o.dataRegisters)],
    locationRegisters: [...Array.from(o.locationRegisters)],
    dataStack: [...Array.from(o.dataStack)],
    locationStack: o.locationStack.flatMap((v) => [...Array.from(v)]),
    callStack: Array.from(o.callStack).flatMap(xy),
    energy: o.energy,
    entropy: o.entropy,
    marker: o.marker,
    genomeHash: o.genomeHash >>> 0,
    lastOpcode: o.lastOpcode,
    lastArgs: [...Array.from(o.lastArgs)],
    lastCost: o.lastCost,
    lastFailed: o.lastFailed,
    failureReason: o.failureReason,
    instructionsExecuted: BigInt(o.instructionsExecuted),
    alive: o.alive,
    deathReason: o.deathReason,
    children: o.children,
    bodySize: o.bodySize,
    deathTick: BigInt(o.deathTick),
    lastPosition: o.lastPosition < 0 ? [] : xy(o.lastPosition),
  });
}

/** A chunk whose samples hold these organisms (a snapshot, then deltas of the given types). */
function chunkOf(samples: { type: DeltaType; organisms: OrganismStateFields[] }[]): Uint8Array {
  const w = new ProtoWriter();
  const columns = new OrganismColumnsWriter();
  samples.forEach((s, i) => {
    const layout = i === 0 ? SNAPSHOT_LAYOUT : DELTA_LAYOUT;
    const start = beginSample(w, layout, i, s.type);
    if (i === 0 || s.type === DeltaType.FULL) columns.reset();
    for (const o of s.organisms) columns.add(o, GRID);
    endSample(w, layout, 1n, start, columns);
  });
  return encodeChunk({
    runId: "r",
    firstTick: 0,
    lastTick: samples.length - 1,
    chunkIndex: 0,
    sampleCount: samples.length,
    createdAtMs: 0,
  }, w);
}

Deno.test("organisms come back from their columns across samples: births, deaths, lengths, strings, 64-bit and negative values", () => {
  const a0 = fields(3, { lastOpcode: -1, locationRegisters: [-5, 3, 0, -1] });
  const b = fields(7, { genomeHash: 0xfffffff0, marker: 2 });
  const a1 = { ...a0, energy: 97, dataStack: [5, -6], failureReason: "cell is empty", ip: 18 };
  const c1 = fields(9, {
    parentId: 3,
    birthTick: 2 ** 40,
    instructionsExecuted: 2 ** 45 + 3,
    generation: 1,
    dv: [0, -1],
    lastPosition: 255,
  });
  const a2 = { ...a1, failureReason: "", dataStack: [], lastArgs: [1, 2, -(2 ** 31)] };
  const b2 = { ...b, alive: false, deathReason: "energy exhausted", deathTick: 2 ** 33 };
  const c2 = { ...c1, lastPosition: -1, energy: -(2 ** 31), instructionsExecuted: 2 ** 45 + 4 };
  const a3 = { ...a2, energy: 50 };
  const samples = [
    { type: DeltaType.UNSPECIFIED, organisms: [a0, b] },
    { type: DeltaType.INCREMENTAL, organisms: [a1, b, c1] },
    { type: DeltaType.ACCUMULATED, organisms: [a2, b2, c2] },
    { type: DeltaType.FULL, organisms: [a3, c2] },
    { type: DeltaType.INCREMENTAL, organisms: [] },
  ];
  const bytes = chunkOf(samples);
  const chunk = decodeTickDataChunk(bytes);
  const decoded = [chunk.snapshot!, ...chunk.deltas].map((s) => s.organisms);
  deepStrictEqual(decoded, samples.map((s) => s.organisms.map(message)));
  const lean = decodeLeanChunk(bytes);
  const leanSamples = [lean.snapshot!, ...lean.deltas];
  deepStrictEqual(
    leanSamples.map((s) =>
      leanOrganismList(s.organisms).map((o) => [o.id, o.birthTick, o.energy, o.deathReason])
    ),
    samples.map((s) => s.organisms.map((o) => [o.id, o.birthTick, o.energy, o.deathReason])),
  );
  // protobuf-es reads the same bytes, and writes them back byte for byte.
  deepStrictEqual(toBinary(TickDataChunkSchema, fromBinary(TickDataChunkSchema, bytes)), bytes);
});

Deno.test("a field unchanged for every organism leaves no column", () => {
  const a = fields(1, { energy: 5, dataRegisters: [1, 2, 3, 4] });
  const bytes = chunkOf([
    { type: DeltaType.UNSPECIFIED, organisms: [a, fields(4)] },
    { type: DeltaType.INCREMENTAL, organisms: [a, fields(4)] },
    { type: DeltaType.INCREMENTAL, organisms: [{ ...a, energy: 4 }, fields(4)] },
  ]);
  const [same, changed] = fromBinary(TickDataChunkSchema, bytes).deltas;
  deepStrictEqual(same!.organismColumns!.columns, []);
  deepStrictEqual(same!.organismColumns!.id, [1n, 3n]);
  deepStrictEqual(changed!.organismColumns!.columns.map((c) => [c.field, c.values]), [
    [14, [-1n, 0n]],
  ]);
});

/** A chunk whose snapshot holds `columns` as its OrganismColumns. */
function badChunk(columns: {
  id: bigint[];
  columns?: { field: number; lengths?: number[]; values: bigint[] }[];
  strings?: string[];
}): Uint8Array {
  return toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, { runId: "r", snapshot: { tick: 0n, organismColumns: columns } }),
  );
}

Deno.test("organism columns that do not fit the organisms are refused, naming the field and byte", () => {
  const cases: [Uint8Array, RegExp][] = [
    [
      badChunk({ id: [1n, 1n], columns: [{ field: 14, values: [1n] }] }),
      /field 14: 1 values for 2/,
    ],
    [badChunk({ id: [1n], columns: [{ field: 99, values: [1n] }] }), /field 99, not an Organism/],
    [badChunk({ id: [5n, -1n] }), /ids do not ascend \(4 after 5\)/],
    [badChunk({ id: [1n], columns: [{ field: 9, lengths: [3], values: [1n] }] }), /too few/],
    [badChunk({ id: [1n], columns: [{ field: 9, values: [1n] }] }), /0 lengths for 1/],
    [badChunk({ id: [1n], columns: [{ field: 22, values: [2n] }], strings: ["x"] }), /string 2/],
  ];
  for (const [bytes, message] of cases) {
    throws(() => decodeTickDataChunk(bytes), (e: Error) => {
      equal(e instanceof ChunkDecodeError, true, e.message);
      return message.test(e.message) && / at byte \d+$/.test(e.message);
    });
  }
  throws(() => decodeLeanChunk(cases[0]![0]), /field 14: 1 values for 2/);
});

/** Where the packed bytes of a length-delimited field with a one-byte tag at 0 begin. */
function packedStart(buf: Uint8Array): number {
  let i = 1;
  while (buf[i]! >= 0x80) i++;
  return i + 1;
}

Deno.test("decodeSint64s reads every varint length back, signed and unsigned, and refuses an overrun", () => {
  const values: number[] = [];
  for (const m of [0, 1, 63, 64, 2 ** 13, 2 ** 20, 2 ** 27, 2 ** 31, 2 ** 40, 2 ** 52 - 1]) {
    for (const v of [m - 1, m, m + 1]) {
      if (Math.abs(v) < 2 ** 52) values.push(v, v === 0 ? 0 : -v);
    }
  }
  const w = new ProtoWriter();
  w.packedSint64(1, values);
  const part = { wire: 2 as const, start: packedStart(w.buf), end: w.pos };
  const out = new Float64Array(values.length);
  equal(decodeSint64s(w.buf, [part], out), values.length);
  deepStrictEqual(Array.from(out), values);

  const unsigned = values.filter((v) => v >= 0 && v < 2 ** 32);
  const u = new ProtoWriter();
  u.packed(1, unsigned);
  const uOut = new Float64Array(unsigned.length);
  const uPart = { wire: 2 as const, start: packedStart(u.buf), end: u.pos };
  equal(decodeSint64s(u.buf, [uPart], uOut, true), unsigned.length);
  deepStrictEqual(Array.from(uOut), unsigned);

  // The last varint's continuation bit set: it runs past the field's end.
  const cut = w.buf.slice(0, w.pos + 2);
  cut[w.pos - 1]! |= 0x80;
  throws(
    () => decodeSint64s(cut, [part], out),
    (e: unknown) => e instanceof ChunkDecodeError && /overruns its length/.test(e.message),
  );
});
