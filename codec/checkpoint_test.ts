import assert from "node:assert/strict";
import {
  type Checkpoint,
  CheckpointCountersSchema,
  CheckpointDecaySchema,
  CheckpointEnergySourcesSchema,
  CheckpointMutationSchema,
  CheckpointOpenChunkSchema,
  type CheckpointOrganism,
  CheckpointOrganismSchema,
  CheckpointRngSchema,
  CheckpointSchema,
  CheckpointStreamSchema,
  CheckpointWorldSchema,
  create,
  toBinary,
} from "../proto/mod.ts";
import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  checkpointFormatVersion,
  decodeCheckpoint,
  encodeCheckpoint,
} from "./checkpoint.ts";
import {
  type CheckpointFields,
  type CheckpointOrganismFields,
  writeCheckpoint,
} from "./checkpoint_writer.ts";
import { ProtoWriter } from "./proto_writer.ts";

/** An organism with awkward values: negatives, a wrap-around body, unicode text, big counts. */
function organism(id: number, alive: boolean): CheckpointOrganismFields {
  return {
    id,
    parentId: id - 1,
    birthTick: 2 ** 40,
    generation: 3,
    ip: 17,
    dirAxis: 1,
    dirSign: -1,
    dataPointers: Int32Array.of(17, 0),
    activeDp: 1,
    dataRegisters: Int32Array.of(0, -5, 1 << 22, 0, 0, 0, 0, -(2 ** 31)),
    locationRegisters: Int32Array.of(1, -1, 0, 0, 2 ** 30, -(2 ** 30), 0, 0),
    dataStack: [3, -4],
    locationStack: [Int32Array.of(-2, 2), Int32Array.of(0, 9)],
    callStack: [],
    energy: alive ? 1234 : -7,
    entropy: 99,
    marker: 5,
    genomeHash: 0xfedcba98,
    bodySize: 3,
    children: 0,
    instructions: 2 ** 41 + 3,
    lastOpcode: -1,
    lastPosition: -1,
    lastArgs: [],
    lastCost: 4,
    lastFailed: !alive,
    failureReason: alive ? "" : "Zelle belegt – ünd so",
    alive,
    deathTick: alive ? 0 : 77,
    deathReason: alive ? "" : "energy exhausted",
    owned: [40, 41, 39, 40, 2, 63],
    rng: [0xffffffff, 1, 0x80000000, 0],
    labelCacheValues: alive ? [-3, 12] : [],
    labelCachePositions: alive ? [40, 0] : [],
  };
}

/** An 8x8 world with a few cells (one owned but empty) and the rest of a checkpoint. */
function fields(open: boolean): CheckpointFields {
  const cells = new Int32Array(64);
  const owners = new Int32Array(64);
  cells[0] = 1 << 20;
  cells[9] = (2 << 20) | 1000;
  owners[9] = 3;
  owners[40] = 3; // owned, empty
  cells[63] = 5;
  return {
    engineVersion: "1.1.0",
    runId: "run-ü",
    configJson: '{"seed":"1"}',
    tick: 2 ** 33,
    shape: [8, 8],
    cells,
    owners,
    organisms: [organism(3, true), organism(4, true)],
    deadPending: open ? [organism(2, false)] : [],
    counters: {
      nextOrganismId: 5,
      organismsCreated: 4,
      births: 3,
      deaths: 1,
      instructionsExecuted: 2 ** 45,
      maxGeneration: 3,
    },
    rng: [1, 0xdeadbeef, 0, 7],
    energySources: { geysers: [5, 60], solarAccumulator: 0 },
    decay: { dueTicks: open ? [2 ** 33 + 10, 2 ** 33 + 10] : [], cells: open ? [41, 40] : [] },
    mutation: { substitutions: 9, insertions: 0, deletions: 1, labelRewrites: 0 },
    stream: {
      chunkIndex: 12,
      tickSampled: open,
      lastBirths: 3,
      lastDeaths: 0,
      openChunk: open
        ? {
          firstTick: 2 ** 33 - 10,
          lastTick: 2 ** 33 - 5,
          sampleCount: 2,
          body: Uint8Array.of(0x22, 0x01, 0x00),
          sampleChanges: [9, 40],
          snapshotChanges: [],
        }
        : null,
    },
  };
}

const steps = (v: ArrayLike<number>) => Array.from(v, (x, i) => x - (i === 0 ? 0 : v[i - 1]!));
const big = (v: number) => BigInt(v);

/** The same organism built as a protobuf-es message, independently of the writer. */
function organismMessage(o: CheckpointOrganismFields): CheckpointOrganism {
  return create(CheckpointOrganismSchema, {
    ...o,
    birthTick: big(o.birthTick),
    dataPointers: Array.from(o.dataPointers),
    dataRegisters: Array.from(o.dataRegisters),
    locationRegisters: Array.from(o.locationRegisters),
    dataStack: Array.from(o.dataStack),
    locationStack: o.locationStack.flatMap((v) => Array.from(v)),
    callStack: Array.from(o.callStack),
    instructions: big(o.instructions),
    lastArgs: Array.from(o.lastArgs),
    deathTick: big(o.deathTick),
    ownedSteps: steps(o.owned),
    rng: create(CheckpointRngSchema, { words: Array.from(o.rng) }),
    labelCacheValues: Array.from(o.labelCacheValues),
    labelCachePositions: Array.from(o.labelCachePositions),
  });
}

/** The checkpoint built as a protobuf-es message, independently of the writer. */
function message(f: CheckpointFields): Checkpoint {
  const at = Array.from(f.cells, (_, i) => i).filter((i) => f.cells[i] !== 0 || f.owners[i] !== 0);
  const s = f.stream;
  return create(CheckpointSchema, {
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    engineVersion: f.engineVersion,
    runId: f.runId,
    configJson: f.configJson,
    tick: big(f.tick),
    world: create(CheckpointWorldSchema, {
      shape: Array.from(f.shape),
      positionSteps: steps(at),
      molecules: at.map((i) => f.cells[i]!),
      owners: at.map((i) => f.owners[i]!),
    }),
    organisms: f.organisms.map(organismMessage),
    deadPending: f.deadPending.map(organismMessage),
    counters: create(CheckpointCountersSchema, {
      ...f.counters,
      organismsCreated: big(f.counters.organismsCreated),
      births: big(f.counters.births),
      deaths: big(f.counters.deaths),
      instructionsExecuted: big(f.counters.instructionsExecuted),
    }),
    rng: create(CheckpointRngSchema, { words: Array.from(f.rng) }),
    energySources: create(CheckpointEnergySourcesSchema, {
      geysers: Array.from(f.energySources.geysers),
      solarAccumulator: f.energySources.solarAccumulator,
    }),
    decay: create(CheckpointDecaySchema, {
      dueTicks: Array.from(f.decay.dueTicks, big),
      cells: Array.from(f.decay.cells),
    }),
    mutation: create(CheckpointMutationSchema, {
      substitutions: big(f.mutation.substitutions),
      insertions: big(f.mutation.insertions),
      deletions: big(f.mutation.deletions),
      labelRewrites: big(f.mutation.labelRewrites),
    }),
    stream: create(CheckpointStreamSchema, {
      chunkIndex: big(s.chunkIndex),
      tickSampled: s.tickSampled,
      lastBirths: big(s.lastBirths),
      lastDeaths: big(s.lastDeaths),
      ...(s.openChunk === null ? {} : {
        openChunk: create(CheckpointOpenChunkSchema, {
          ...s.openChunk,
          firstTick: big(s.openChunk.firstTick),
          lastTick: big(s.openChunk.lastTick),
          sampleChanges: Array.from(s.openChunk.sampleChanges),
          snapshotChanges: Array.from(s.openChunk.snapshotChanges),
        }),
      }),
    }),
  });
}

Deno.test("the direct checkpoint writer gives protobuf-es's bytes, inside a chunk and between chunks", () => {
  for (const open of [true, false]) {
    const f = fields(open);
    const written = writeCheckpoint(f);
    assert.deepEqual(written, toBinary(CheckpointSchema, message(f)), open ? "open" : "closed");
    assert.deepEqual(encodeCheckpoint(decodeCheckpoint(written)), written);
  }
});

Deno.test("an empty world and organism-free checkpoint is written like protobuf-es writes it", () => {
  const f: CheckpointFields = {
    ...fields(false),
    cells: new Int32Array(16),
    owners: new Int32Array(16),
    shape: [4, 4],
    organisms: [],
  };
  assert.deepEqual(writeCheckpoint(f), toBinary(CheckpointSchema, message(f)));
});

Deno.test("a reused writer gives the same bytes every time", () => {
  const w = new ProtoWriter(16);
  const a = writeCheckpoint(fields(true), w);
  const b = writeCheckpoint(fields(false), w);
  assert.deepEqual(writeCheckpoint(fields(true), w), a);
  assert.deepEqual(writeCheckpoint(fields(false), w), b);
});

Deno.test("the format version is read from field 1 alone", () => {
  const bytes = writeCheckpoint(fields(false));
  assert.equal(checkpointFormatVersion(bytes), CHECKPOINT_FORMAT_VERSION);
  const newer = toBinary(
    CheckpointSchema,
    create(CheckpointSchema, { formatVersion: 300, engineVersion: "9" }),
  );
  assert.equal(checkpointFormatVersion(newer), 300);
  assert.equal(checkpointFormatVersion(new Uint8Array(0)), 0);
  assert.equal(checkpointFormatVersion(Uint8Array.of(0x12, 0x01, 0x41)), 0);
});

Deno.test("decodeCheckpoint refuses a newer major version before reading the rest", () => {
  // Field 1 says version 2; what follows is not even protobuf.
  const bytes = Uint8Array.of(0x08, CHECKPOINT_FORMAT_VERSION + 1, 0xff, 0xff, 0xff);
  assert.throws(() => decodeCheckpoint(bytes), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.equal(
      e.message,
      `Cannot restore checkpoint: format version ${
        CHECKPOINT_FORMAT_VERSION + 1
      } is newer than this engine reads (${CHECKPOINT_FORMAT_VERSION}); restore it with a newer Evochora`,
    );
    return true;
  });
});

Deno.test("decodeCheckpoint names bytes that are no checkpoint or do not parse", () => {
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode("{}")),
    /^CheckpointError: Cannot restore checkpoint: its 2 bytes do not start with a format version/,
  );
  const cut = writeCheckpoint(fields(true)).subarray(0, 40);
  assert.throws(
    () => decodeCheckpoint(cut),
    /^CheckpointError: Cannot restore checkpoint: its 40 bytes do not parse \(/,
  );
});
