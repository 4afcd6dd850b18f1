import { deepStrictEqual } from "node:assert/strict";
import {
  create,
  DeltaType,
  FORMAT_VERSION,
  type MessageInitShape,
  type OrganismStateSchema,
  TickDataChunkSchema,
  type TickSummarySchema,
  toBinary,
} from "../proto/mod.ts";
import {
  beginSample,
  DELTA_LAYOUT,
  encodeChunk,
  endSample,
  type Grid,
  type OrganismStateFields,
  SNAPSHOT_LAYOUT,
  type TickSummaryFields,
  writeCellColumns,
  writeOrganismField,
  writeTickSummaryField,
} from "./chunk_writer.ts";
import { MOLECULE_TYPE_COUNT } from "./molecule.ts";
import { ProtoWriter } from "./proto_writer.ts";

/** A 3-dimensional world, so that coordinates are not just (x, y). */
const GRID: Grid = { shape: [5, 4, 300], strides: [1, 5, 20] };

/** The coordinates of a flat index in {@link GRID}. */
function coords(flat: number): number[] {
  return GRID.shape.map((n, a) => Math.floor(flat / GRID.strides[a]!) % n);
}

/** An organism with every field set, negative and multi-byte values included. */
const BUSY: OrganismStateFields = {
  id: 300,
  parentId: 7,
  birthTick: 2 ** 40,
  generation: 12,
  ip: 5999,
  dv: [0, -1, 0],
  dataPointers: new Int32Array([0, 4321]),
  activeDp: 1,
  dataRegisters: new Int32Array([0, -5, 1 << 20, -(2 ** 31)]),
  locationRegisters: new Int32Array([1, -2, 3, 0, 0, -300]),
  dataStack: [5, -6],
  locationStack: [new Int32Array([1, 2, 3]), new Int32Array([-4, -5, -6])],
  callStack: [17, 2500],
  energy: -100,
  entropy: 9000,
  marker: 15,
  genomeHash: -123456789, // an int32 bit pattern: written as uint32
  lastOpcode: -1,
  lastArgs: [3, -3],
  lastCost: 4,
  lastFailed: true,
  failureReason: "stack ünderflow",
  instructionsExecuted: 2 ** 53 - 1,
  alive: false,
  deathReason: "energy",
  children: 2,
  bodySize: 186,
  deathTick: 123456,
  lastPosition: 21,
};

/** An organism with every field at its default, which protobuf-es omits. */
const QUIET: OrganismStateFields = {
  ...BUSY,
  id: 0,
  parentId: 0,
  birthTick: 0,
  generation: 0,
  ip: 0,
  dv: [],
  dataPointers: [],
  activeDp: 0,
  dataRegisters: [],
  locationRegisters: [],
  dataStack: [],
  locationStack: [new Int32Array(0)],
  callStack: [],
  energy: 0,
  entropy: 0,
  marker: 0,
  genomeHash: 0,
  lastOpcode: 0,
  lastArgs: [],
  lastCost: 0,
  lastFailed: false,
  failureReason: "",
  instructionsExecuted: 0,
  alive: false,
  deathReason: "",
  children: 0,
  bodySize: 0,
  deathTick: 0,
  lastPosition: -1,
};

/** The protobuf-es init of what {@link writeOrganismField} writes for `o`. */
function organismInit(o: OrganismStateFields): MessageInitShape<typeof OrganismStateSchema> {
  return {
    id: o.id,
    parentId: o.parentId,
    birthTick: BigInt(o.birthTick),
    generation: o.generation,
    ip: coords(o.ip),
    dv: Array.from(o.dv),
    dataPointers: Array.from(o.dataPointers).flatMap(coords),
    activeDp: o.activeDp,
    dataRegisters: Array.from(o.dataRegisters),
    locationRegisters: Array.from(o.locationRegisters),
    dataStack: Array.from(o.dataStack),
    locationStack: o.locationStack.flatMap((v) => Array.from(v)),
    callStack: Array.from(o.callStack).flatMap(coords),
    energy: o.energy,
    entropy: o.entropy,
    marker: o.marker,
    genomeHash: o.genomeHash >>> 0,
    lastOpcode: o.lastOpcode,
    lastArgs: Array.from(o.lastArgs),
    lastCost: o.lastCost,
    lastFailed: o.lastFailed,
    failureReason: o.failureReason,
    instructionsExecuted: BigInt(o.instructionsExecuted),
    alive: o.alive,
    deathReason: o.deathReason,
    children: o.children,
    bodySize: o.bodySize,
    deathTick: BigInt(o.deathTick),
    lastPosition: o.lastPosition >= 0 ? coords(o.lastPosition) : [],
  };
}

const SUMMARY: TickSummaryFields = {
  organismsAlive: 2,
  organismsCreated: 2 ** 33,
  births: 1,
  deaths: 0,
  totalEnergy: 2 ** 45,
  totalEntropy: 77,
  maxGeneration: 3,
  distinctGenomes: 2,
  // Longer than the type count, like the engine's per-type counters: only the types are written.
  moleculeCounts: new Float64Array([10, 0, 300, 4, 5, 6, 70000, 99, 99]),
  instructionsExecuted: 2 ** 50,
};

function summaryInit(s: TickSummaryFields): MessageInitShape<typeof TickSummarySchema> {
  return {
    organismsAlive: s.organismsAlive,
    organismsCreated: BigInt(s.organismsCreated),
    births: s.births,
    deaths: s.deaths,
    totalEnergy: BigInt(s.totalEnergy),
    totalEntropy: BigInt(s.totalEntropy),
    maxGeneration: s.maxGeneration,
    distinctGenomes: s.distinctGenomes,
    moleculeCounts: Array.from(s.moleculeCounts).slice(0, MOLECULE_TYPE_COUNT),
    instructionsExecuted: BigInt(s.instructionsExecuted),
  };
}

Deno.test("the chunk writers' bytes equal protobuf-es's toBinary of the same chunk", () => {
  // Enough cells that the CellColumns body needs a 3-byte length prefix.
  const n = 5000;
  const flat = Int32Array.from({ length: n }, (_, i) => i);
  const molecule = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -i : i << 12));
  const owner = Int32Array.from({ length: n }, (_, i) => i % 4);
  const w = new ProtoWriter(16);
  let at = beginSample(w, SNAPSHOT_LAYOUT, 0);
  writeCellColumns(w, SNAPSHOT_LAYOUT.cells, flat, molecule, owner, n);
  writeOrganismField(w, SNAPSHOT_LAYOUT.organisms, GRID, BUSY);
  writeOrganismField(w, SNAPSHOT_LAYOUT.organisms, GRID, QUIET);
  writeTickSummaryField(w, SNAPSHOT_LAYOUT.summary, SUMMARY);
  endSample(w, SNAPSHOT_LAYOUT, 2n ** 64n - 1n, at);
  const types = [DeltaType.INCREMENTAL, DeltaType.ACCUMULATED, DeltaType.FULL];
  for (const [i, type] of types.entries()) {
    at = beginSample(w, DELTA_LAYOUT, 10 * (i + 1), type);
    writeCellColumns(w, DELTA_LAYOUT.cells, flat, molecule, owner, i); // 0 cells: still present
    writeOrganismField(w, DELTA_LAYOUT.organisms, GRID, BUSY);
    writeTickSummaryField(w, DELTA_LAYOUT.summary, SUMMARY);
    endSample(w, DELTA_LAYOUT, BigInt(i), at);
  }
  const mine = encodeChunk({
    runId: "run-ü-1",
    firstTick: 0,
    lastTick: 30,
    chunkIndex: 2 ** 35,
    sampleCount: 4,
    createdAtMs: 1_700_000_000_000,
  }, w);

  const cells = (k: number) => ({
    flatIndex: Array.from(flat.subarray(0, k)),
    molecule: Array.from(molecule.subarray(0, k)),
    owner: Array.from(owner.subarray(0, k)),
  });
  const theirs = toBinary(
    TickDataChunkSchema,
    create(TickDataChunkSchema, {
      runId: "run-ü-1",
      firstTick: 0n,
      lastTick: 30n,
      snapshot: {
        tick: 0n,
        cells: cells(n),
        organisms: [organismInit(BUSY), organismInit(QUIET)],
        summary: summaryInit(SUMMARY),
        rngStateHash: 2n ** 64n - 1n,
      },
      deltas: types.map((deltaType, i) => ({
        tick: BigInt(10 * (i + 1)),
        deltaType,
        changedCells: cells(i),
        organisms: [organismInit(BUSY)],
        summary: summaryInit(SUMMARY),
        rngStateHash: BigInt(i),
      })),
      formatVersion: FORMAT_VERSION,
      chunkIndex: 2n ** 35n,
      sampleCount: 4,
      createdAtMs: 1_700_000_000_000n,
    }),
  );
  deepStrictEqual(mine, theirs);
});

Deno.test("encodeChunk omits default scalars like protobuf-es", () => {
  const empty = encodeChunk({
    runId: "",
    firstTick: 0,
    lastTick: 0,
    chunkIndex: 0,
    sampleCount: 0,
    createdAtMs: 0,
    formatVersion: 0,
  }, new ProtoWriter(1));
  deepStrictEqual(empty, toBinary(TickDataChunkSchema, create(TickDataChunkSchema)));
});
