import assert from "node:assert/strict";
import type { Consumer, LogStats, Queue, QueueRecord } from "../../resources/queue/queue.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { StorageWriter } from "../../resources/storage/storage.ts";
import { splitDelimited } from "../../resources/storage/message_stream.ts";
import { decompressZstd } from "../../resources/storage/zstd.ts";
import { readChunkHeader } from "../../codec/mod.ts";
import { readRunTarget } from "../common/run_target.ts";
import { checkpointTicks } from "./checkpoint_store.ts";
import { ancestorPlacement } from "./runtime/mod.ts";
import type { ChunkEncoder } from "./chunk_encoder.ts";
import { ChunkEncoderThread } from "./chunk_encoder_thread.ts";
import {
  type EngineCheckpoint,
  EngineService,
  type EngineServiceOptions,
} from "./engine_service.ts";

/** A queue that keeps what is put on it, in order. */
class RecordingQueue implements Queue {
  readonly name = "recording";
  readonly partitions = 1;
  readonly records: QueueRecord[] = [];
  /** Chunks in the batch records put so far. */
  get chunksPut(): number {
    return this.records.reduce((n, r) => n + Number(r.headers?.chunks ?? 0), 0);
  }
  put(record: QueueRecord): Promise<void> {
    this.records.push(record);
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  consumer(): Consumer {
    throw new Error("RecordingQueue has no consumers");
  }
  stats(): LogStats {
    const n = this.records.length;
    return {
      recordsIn: n,
      bytesIn: 0,
      recordsOut: 0,
      bytesOut: 0,
      redelivered: 0,
      retainedBytes: 0,
      lag: {},
      blockedProducers: 0,
    };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** 4 samples of 5 ticks per chunk: a chunk every 20 ticks (the last sample at 15, 35, ...). */
const ENGINE = { shape: [100, 100], seed: 5, intervals: { sampling: 5, snapshot: 4 } };

interface Handed extends EngineCheckpoint {
  /** Chunks on the queue (in batch records) when it was handed over. */
  chunksPut: number;
}

/** The chunks inside batch records, in order. */
function chunksOf(records: readonly QueueRecord[]): Uint8Array[] {
  return records.flatMap((r) => splitDelimited(decompressZstd(r.value)).messages);
}

/** How {@link run} sets up the service. */
interface RunOptions {
  restoreFrom?: Uint8Array;
  /** Default "checkpointed-run"; null leaves it to the service. */
  runId?: string | null;
  /** Whether to pass onCheckpoint (default true). */
  checkpoints?: boolean;
  encoder?: ChunkEncoder;
}

/** Runs an engine service to `ticks`, recording its batch records and checkpoints. */
async function run(ticks: number, o: RunOptions = {}) {
  const output = new RecordingQueue();
  const checkpoints: Handed[] = [];
  const options: EngineServiceOptions = {
    name: "engine",
    output,
    metadataOutput: new RecordingQueue(),
    engine: ENGINE,
    ticks,
    chunksPerBatch: 3,
    clock: () => 0,
  };
  if (o.runId !== null) options.runId = o.runId ?? "checkpointed-run";
  if (o.restoreFrom !== undefined) options.restoreFrom = o.restoreFrom;
  if (o.encoder !== undefined) options.encoder = o.encoder;
  if (o.checkpoints ?? true) {
    options.onCheckpoint = (cp) => {
      checkpoints.push({ ...cp, chunksPut: output.chunksPut });
    };
  }
  const service = new EngineService(options);
  await service.start();
  await service.done;
  return { records: output.records, checkpoints, service };
}

Deno.test("the engine service puts batch records of its chunks, compressed once, the last one short and final", async () => {
  const { records } = await run(510);
  assert.equal(records.length, 9, "26 chunks in batches of 3");
  const chunks = chunksOf(records);
  assert.equal(chunks.length, 26, "ticks 0..510: 25 full chunks and a short one");
  chunks.forEach((c, i) => assert.equal(readChunkHeader(c).chunkIndex, i));
  records.forEach((r, i) => {
    assert.equal(r.key, `checkpointed-run/${i}`);
    assert.equal(r.headers?.batch, String(i));
    assert.equal(r.headers?.chunks, i < 8 ? "3" : "2");
    assert.equal(r.headers?.final, i < 8 ? "0" : "1");
    assert.equal(r.headers?.encoding, "zstd");
    assert.equal(Number(r.headers?.raw), decompressZstd(r.value).length);
  });
  assert.equal(records[0]!.headers?.first, "0");
  assert.equal(records.at(-1)!.headers?.last, "510");
});

Deno.test("the engine service hands over a checkpoint after each chunk once it is on the queue, and a final one", async () => {
  const { records, checkpoints, service } = await run(510);
  assert.equal(chunksOf(records).length, 26, "ticks 0..510: 25 full chunks and a short one");
  const regular = checkpoints.filter((c) => !c.final);
  assert.deepEqual(regular.map((c) => c.tick), Array.from({ length: 25 }, (_, i) => 15 + 20 * i));
  for (const c of regular) {
    assert.equal(c.insideChunk, false);
    assert.ok(c.chunksPut >= c.chunks, `tick ${c.tick}: handed over before its chunks`);
    assert.equal(c.runId, "checkpointed-run");
  }
  const last = checkpoints.at(-1)!;
  assert.equal(last.final, true);
  assert.equal(last.tick, 510);
  assert.equal(last.insideChunk, true, "tick 510 lies inside chunk 25");
  assert.equal(last.chunksPut, 26, "the final checkpoint comes after the final chunk");
  assert.equal(checkpoints.filter((c) => c.final).length, 1);
  assert.equal(service.status().metrics.checkpoints, 26);
});

Deno.test("a run ending on a chunk boundary gets one final checkpoint there, not two", async () => {
  const { checkpoints } = await run(495);
  const at495 = checkpoints.filter((c) => c.tick === 495);
  assert.equal(at495.length, 1);
  assert.equal(at495[0]!.final, true);
});

Deno.test("without onCheckpoint no checkpoint is taken", async () => {
  const { service } = await run(100, { checkpoints: false });
  assert.equal(service.status().metrics.checkpoints, 0);
  assert.equal(service.status().metrics.checkpoint_ms, 0);
});

Deno.test("an engine service restored from a checkpoint at a batch boundary puts the uninterrupted run's records from there on", async () => {
  const a = await run(600);
  for (const cp of [a.checkpoints[2]!, a.checkpoints[11]!]) {
    assert.equal(cp.chunks % 3, 0, "a batch boundary");
    const b = await run(600, { restoreFrom: cp.bytes, runId: null });
    assert.equal(b.service.runId, "checkpointed-run", "the run id comes from the checkpoint");
    const want = a.records.slice(cp.chunks / 3);
    assert.equal(b.records.length, want.length, `from tick ${cp.tick}`);
    b.records.forEach((r, i) => {
      assert.deepEqual(r.headers, want[i]!.headers);
      assert.deepEqual(r.value, want[i]!.value, `from tick ${cp.tick}: record ${i}`);
    });
  }
});

Deno.test("a finished run, continued from its last batch boundary to twice its ticks, puts the longer run's records", async () => {
  const long = await run(600);
  const short = await run(300);
  const boundary = short.checkpoints.filter((c) => !c.insideChunk && c.chunks % 3 === 0).at(-1)!;
  const extended = await run(600, { restoreFrom: boundary.bytes });
  const want = long.records.slice(boundary.chunks / 3);
  assert.deepEqual(extended.records.map((r) => r.value), want.map((r) => r.value));
  assert.deepEqual(extended.records.map((r) => r.headers), want.map((r) => r.headers));
});

Deno.test("a checkpoint inside a batch is refused as a starting point, naming the batch", async () => {
  const a = await run(200);
  const inside = a.checkpoints.find((c) => c.chunks % 3 !== 0)!;
  await assert.rejects(
    () => run(600, { restoreFrom: inside.bytes }),
    /Cannot continue from the checkpoint at tick 15: it lies inside batch 0 \(1 of its 3 chunks done\)/,
  );
});

/** Filesystem storage whose first `failures` checkpoint writes fail, as while S3 restarts. */
class FlakyCheckpointStorage extends FilesystemStorage {
  failures: number;
  constructor(root: string, failures: number) {
    super({ root });
    this.failures = failures;
  }
  override openWriter(key: string): Promise<StorageWriter> {
    if (key.includes("/checkpoints/") && this.failures > 0) {
      this.failures--;
      return Promise.reject(
        Object.assign(new Error("connect ECONNREFUSED 10.0.0.2:18333"), { code: "ECONNREFUSED" }),
      );
    }
    return super.openWriter(key);
  }
}

/** Filesystem storage that refuses the run target's first `failures` deletes, as while S3 restarts. */
class FlakyTargetStorage extends FilesystemStorage {
  failures: number;
  constructor(root: string, failures: number) {
    super({ root });
    this.failures = failures;
  }
  override delete(key: string): Promise<boolean> {
    if (key.endsWith("/target.json") && this.failures > 0) {
      this.failures--;
      return Promise.reject(
        Object.assign(new Error("connect ECONNREFUSED 10.0.0.2:18333"), { code: "ECONNREFUSED" }),
      );
    }
    return super.delete(key);
  }
}

/** Runs an engine of `ticks` ticks with checkpoints to `storage` until it is done. */
async function runOn(
  storage: FilesystemStorage,
  runId: string,
  ticks: number,
): Promise<EngineService> {
  const service = new EngineService({
    name: "engine",
    output: new RecordingQueue(),
    metadataOutput: new RecordingQueue(),
    engine: ENGINE,
    ticks,
    chunksPerBatch: 3,
    runId,
    checkpointStorage: storage,
    clock: () => 0,
  });
  await service.start();
  await service.done;
  return service;
}

Deno.test("recording the run's target at start is retried while storage is away, and the run starts", async () => {
  const root = await Deno.makeTempDir();
  try {
    const storage = new FlakyTargetStorage(root, 2);
    const service = await runOn(storage, "flaky-target", 60);
    assert.equal(service.status().state, "stopped", service.status().error);
    assert.equal(storage.failures, 0, "both failures were met");
    assert.equal(await readRunTarget(storage, "flaky-target"), 60);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a checkpoint write that fails while storage is away is retried, and the run goes on", async () => {
  const root = await Deno.makeTempDir();
  try {
    const storage = new FlakyCheckpointStorage(root, 2);
    const service = await runOn(storage, "flaky-storage", 130);
    assert.equal(service.status().state, "stopped", service.status().error);
    assert.equal(storage.failures, 0, "both failures were met");
    const stored = await checkpointTicks(storage, "flaky-storage");
    assert.deepEqual(stored, [130, 115, 55], "the resumable checkpoints and the final one");
    assert.equal(service.status().error, undefined, "the retry's error is cleared");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A 64x64 world of four ancestors with little energy and no energy sources: they starve. */
async function starving(endWhenExtinct?: boolean) {
  const output = new RecordingQueue();
  const service = new EngineService({
    name: "engine",
    output,
    metadataOutput: new RecordingQueue(),
    engine: {
      ...ENGINE,
      shape: [64, 64],
      energy: { initialCount: 0, solarPer1000Ticks: 0, geysers: 0 },
      programs: [ancestorPlacement(4, 60)],
    },
    ticks: 2000,
    ...(endWhenExtinct === undefined ? {} : { endWhenExtinct }),
    chunksPerBatch: 3,
    runId: "starving",
    clock: () => 0,
  });
  await service.start();
  await service.done;
  return { records: output.records, service };
}

Deno.test("a run whose population dies out ends at that tick, its last chunk final", async () => {
  const { records, service } = await starving();
  const extinct = service.extinctAt;
  assert.ok(extinct !== null && extinct > 0 && extinct < 2000, `extinct at ${extinct}`);
  assert.equal(service.engine.sim.tick, extinct);
  assert.equal(service.engine.sim.organisms.length, 0);
  assert.equal(service.status().metrics.extinct_at_tick, extinct);
  assert.equal(records.at(-1)!.headers?.final, "1");
  assert.equal(Number(records.at(-1)!.headers?.last), extinct);
});

Deno.test("with endWhenExtinct false an empty world is simulated on to the run's ticks", async () => {
  const { records, service } = await starving(false);
  assert.equal(service.extinctAt, null);
  assert.equal(service.engine.sim.tick, 2000);
  assert.equal(service.engine.sim.organisms.length, 0);
  assert.equal(service.status().metrics.extinct_at_tick, -1);
  assert.equal(records.at(-1)!.headers?.last, "2000");
});

Deno.test("an engine encoding its chunks on a ChunkEncoderThread puts the same records and checkpoints", async () => {
  const encoder = new ChunkEncoderThread();
  try {
    const here = await run(510);
    const there = await run(510, { encoder });
    assert.deepEqual(there.records.map((r) => r.headers), here.records.map((r) => r.headers));
    assert.deepEqual(there.records.map((r) => r.value), here.records.map((r) => r.value));
    assert.deepEqual(
      there.checkpoints.map((c) => [c.tick, c.final, c.bytes]),
      here.checkpoints.map((c) => [c.tick, c.final, c.bytes]),
    );
    for (const c of there.checkpoints) {
      assert.ok(c.chunksPut >= c.chunks, `tick ${c.tick}: handed over before its chunks`);
    }
    const cp = here.checkpoints[5]!;
    const resumed = await run(510, { restoreFrom: cp.bytes, encoder });
    assert.deepEqual(
      resumed.records.map((r) => r.value),
      here.records.slice(cp.chunks / 3).map((r) => r.value),
    );
  } finally {
    encoder.close();
  }
});

Deno.test("a chunk its encoder fails to encode ends the run with that error", async () => {
  const encoder: ChunkEncoder = {
    encode: (capture) =>
      capture.fields.chunkIndex < 4
        ? Promise.reject(new Error(`Cannot encode chunk ${capture.fields.chunkIndex}: broken`))
        : Promise.reject(new Error("later")),
    close() {},
  };
  const { service, records } = await run(510, { encoder });
  const status = service.status();
  assert.equal(status.state, "failed");
  assert.match(status.error ?? "", /Cannot encode chunk 0: broken/);
  assert.equal(records.length, 0);
});
