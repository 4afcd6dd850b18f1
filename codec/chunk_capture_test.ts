import { deepStrictEqual, equal } from "node:assert/strict";
import { DeltaType } from "../proto/mod.ts";
import { ChunkBodyWriter } from "./chunk_body_writer.ts";
import { capturedBuffers, ChunkCapture, encodeCapturedChunk } from "./chunk_capture.ts";
import { decodeTickDataChunk } from "./chunk_decoder.ts";
import type { ChunkFields, OrganismStateFields } from "./chunk_writer.ts";
import { GRID_16, organismFields } from "./_test_organisms.ts";
import type { SampleSink } from "./sample_sink.ts";

const GRID = GRID_16;
const FIELDS: ChunkFields = {
  runId: "r",
  firstTick: 0,
  lastTick: 5,
  chunkIndex: 3,
  sampleCount: 6,
  createdAtMs: 0,
};

/** An organism with arrays of every kind filled (the helper's defaults leave some empty). */
function organism(id: number, o: Partial<OrganismStateFields> = {}): OrganismStateFields {
  return organismFields(id, { ip: id, dataPointers: [id, id + 1], genomeHash: 0x12345678, ...o });
}

interface Sample {
  tick: number;
  type: DeltaType | null;
  cells: number[];
  organisms: OrganismStateFields[];
}

const a0 = organism(3, { lastOpcode: -1, locationRegisters: [-5, 3, 0, -1] });
const b0 = organism(7, { genomeHash: 0xfffffff0, marker: 2, locationStack: [[1, 2], [-3, 4]] });
const a1 = { ...a0, energy: 97, dataStack: [5, -6], failureReason: "cell is empty", ip: 18 };
const c1 = organism(9, {
  parentId: 3,
  birthTick: 2 ** 40,
  instructionsExecuted: 2 ** 45 + 3,
  callStack: [17, 255],
  lastPosition: 255,
});
const b2 = { ...b0, alive: false, deathReason: "energy exhausted", deathTick: 2 ** 33 };
const a2 = { ...a1, failureReason: "", lastArgs: [1, 2, -(2 ** 31)], locationStack: [[9, 9]] };
const SAMPLES: Sample[] = [
  { tick: 0, type: null, cells: [1, 5, 3, 17, -2, 7], organisms: [a0, b0] },
  { tick: 1, type: DeltaType.INCREMENTAL, cells: [2, 6, 0], organisms: [a1, b0, c1] },
  { tick: 2, type: DeltaType.ACCUMULATED, cells: [], organisms: [a2, b2, c1] },
  { tick: 3, type: DeltaType.INCREMENTAL, cells: [255, 1, 9], organisms: [] },
  { tick: 4, type: DeltaType.FULL, cells: [0, 4, 4], organisms: [a2, c1] },
  { tick: 5, type: DeltaType.INCREMENTAL, cells: [1, 1, 1], organisms: [{ ...a2, energy: 1 }] },
];

function feed(sink: SampleSink, samples: readonly Sample[]): void {
  for (const s of samples) {
    sink.beginSample(s.tick, s.type);
    const n = s.cells.length / 3;
    const col = (k: number) => Int32Array.from({ length: n }, (_, i) => s.cells[i * 3 + k]!);
    sink.cells(col(0), col(1), col(2), n);
    sink.summary({
      organismsAlive: s.organisms.length,
      organismsCreated: 9,
      births: s.tick,
      deaths: 1,
      totalEnergy: 2 ** 36,
      totalEntropy: 5,
      maxGeneration: 2,
      distinctGenomes: 2,
      moleculeCounts: [4, 0, 2, 1, 7, 0, 0, 3],
      instructionsExecuted: 123456789012,
    });
    for (const o of s.organisms) sink.organism(o);
    sink.endSample(0xfedcba9876543210n - BigInt(s.tick));
  }
}

function encodedDirectly(samples: readonly Sample[]): Uint8Array {
  const writer = new ChunkBodyWriter(GRID);
  writer.reset();
  feed(writer, samples);
  return writer.finish(FIELDS);
}

Deno.test("a capture replayed elsewhere encodes the same bytes as encoding each sample as it came", () => {
  const capture = new ChunkCapture(GRID);
  feed(capture, SAMPLES);
  const taken = capture.take(FIELDS);
  const moved = structuredClone(taken, { transfer: capturedBuffers(taken) });
  equal(taken.records.byteLength, 0, "the records' buffer moved");
  const bytes = encodeCapturedChunk(moved, new ChunkBodyWriter(GRID));
  deepStrictEqual(bytes, encodedDirectly(SAMPLES));
  const chunk = decodeTickDataChunk(bytes);
  deepStrictEqual(chunk.deltas[1]!.organisms.map((o) => o.deathReason), [
    "",
    "energy exhausted",
    "",
  ]);
});

Deno.test("the next chunk captured on recycled arrays encodes as if captured on fresh ones", () => {
  const capture = new ChunkCapture(GRID);
  const writer = new ChunkBodyWriter(GRID);
  feed(capture, SAMPLES);
  capture.recycle(capture.take(FIELDS));
  const later = SAMPLES.slice(0, 3).reverse().map((s, i) => ({
    ...s,
    tick: 10 + i,
    type: i === 0 ? null : s.type ?? DeltaType.FULL,
  }));
  feed(capture, later);
  deepStrictEqual(encodeCapturedChunk(capture.take(FIELDS), writer), encodedDirectly(later));
});

Deno.test("a capture continuing a chunk after its first samples completes it with the same bytes", () => {
  const head = new ChunkBodyWriter(GRID);
  head.reset();
  feed(head, SAMPLES.slice(0, 3));
  const before = decodeTickDataChunk(head.finish({ ...FIELDS, sampleCount: 3 }));
  const capture = new ChunkCapture(GRID);
  capture.continueAfter(head.body.bytes(), before.deltas.at(-1)!.organisms);
  feed(capture, SAMPLES.slice(3));
  const bytes = encodeCapturedChunk(capture.take(FIELDS), new ChunkBodyWriter(GRID));
  deepStrictEqual(bytes, encodedDirectly(SAMPLES));
});
