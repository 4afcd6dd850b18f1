/**
 * The API over a data directory salted with bad files: stray, overlapping, truncated, garbage
 * and deleted batches and empty metadata. Every answer names its cause and the server keeps
 * serving the good data.
 */

import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { batchKey, metadataKey } from "../common/storage_layout.ts";
import { dirname, join } from "node:path";
import { makeRun, readBatches, type RefBatch } from "../../tests/fixtures/stored_run.ts";
import type {
  ApiError,
  LineageResponse,
  RunDetail,
  RunsResponse,
  TicksResponse,
} from "./api_types.ts";
import { createApp } from "./app.ts";

const root = await Deno.makeTempDir({ prefix: "evochora-api-bad-" });
const runId = await makeRun(root, { ticks: 3000 });
const storage = await FilesystemStorage.open({ root });
const good = await readBatches(storage, runId);
/** The ticks a /ticks answer's spans hold. */
const spanTicks = (spans: TicksResponse["spans"]) =>
  spans.flatMap((s) => Array.from({ length: s.count }, (_, k) => s.first + k * s.step));

/** Sampled ticks of a batch, ascending. */
function ticksOf(b: RefBatch): number[] {
  return b.chunks.flatMap((c) => [c.snapshot, ...c.deltas].filter((s) => s !== undefined))
    .map((s) => Number(s.tick)).sort((x, y) => x - y);
}
const goodTicks = good.flatMap(ticksOf);

// Files are planted and removed behind the storage's back, as a user or a bad tool would.
async function put(key: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(join(root, key)), { recursive: true });
  await Deno.writeFile(join(root, key), bytes);
}

async function remove(key: string): Promise<void> {
  await Deno.remove(join(root, key));
}

async function json<T>(a: ReturnType<typeof createApp>, path: string, status = 200): Promise<T> {
  const res = await a.request(path);
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return JSON.parse(text) as T;
}

Deno.test.afterAll?.(() => Deno.remove(root, { recursive: true }));

Deno.test("a stray file named with a huge tick range is set aside, not enumerated", async () => {
  const stray = batchKey(runId, 10_000, 99_999_999_999);
  await put(stray, new TextEncoder().encode("not a batch"));
  try {
    const a = createApp({ storage, listingTtlMs: 0 });
    const ticks = await json<TicksResponse>(a, `/api/runs/${runId}/ticks`);
    assert.deepEqual(spanTicks(ticks.spans), goodTicks);
    const detail = await json<RunDetail>(a, `/api/runs/${runId}`);
    assert.equal(detail.maxTick, goodTicks.at(-1));
    assert.equal(detail.problems.length, 1);
    assert.equal(detail.problems[0]!.key, stray);
    assert.match(detail.problems[0]!.reason, /cannot be read/);
    // Only the stray file claims tick 50000.
    const miss = await json<ApiError>(a, `/api/runs/${runId}/world/50000`, 502);
    assert.equal(miss.error.code, "corrupt_batch");
    assert.ok(miss.error.message.includes(stray));
    const beyond = await json<ApiError>(a, `/api/runs/${runId}/world/99999999999999`, 404);
    assert.equal(beyond.error.code, "not_found");
    await json(a, `/api/runs/${runId}/world/${goodTicks[3]}`);
  } finally {
    await remove(stray);
  }
});

Deno.test("an overlapping file is reported and ignored: ticks stay ascending without repeats", async () => {
  const first = good[0]!;
  const stray = batchKey(runId, first.firstTick + 1, first.lastTick + 1);
  await put(stray, await storage.read(first.key));
  try {
    const a = createApp({ storage, listingTtlMs: 0 });
    const ticks = await json<TicksResponse>(a, `/api/runs/${runId}/ticks`);
    assert.deepEqual(spanTicks(ticks.spans), goodTicks);
    const detail = await json<RunDetail>(a, `/api/runs/${runId}`);
    assert.deepEqual(detail.problems.map((p) => p.key), [stray]);
    assert.match(detail.problems[0]!.reason, /overlaps batch/);
    await json(a, `/api/runs/${runId}/world/${first.firstTick}`);
  } finally {
    await remove(stray);
  }
});

Deno.test("a truncated batch answers 502 naming its key and byte; other ticks and lineage still serve", async () => {
  const victim = good[1]!;
  const bytes = await storage.read(victim.key);
  await put(victim.key, bytes.subarray(0, Math.floor(bytes.length / 2)));
  try {
    const logged: string[] = [];
    const a = createApp({ storage, listingTtlMs: 0, log: (m) => logged.push(m) });
    const tick = ticksOf(victim)[0]!;
    // The first read finds it broken; after that the listing sets it aside, naming it.
    for (const path of [`/world/${tick}`, `/organisms/${tick}`, `/world/${ticksOf(victim)[1]}`]) {
      const err = await json<ApiError>(a, `/api/runs/${runId}${path}`, 502);
      assert.equal(err.error.code, "corrupt_batch");
      assert.ok(err.error.message.includes(victim.key), err.error.message);
      assert.match(err.error.message, /byte \d+/);
    }
    await json(a, `/api/runs/${runId}/world/${ticksOf(good[0]!)[0]}`);
    const lineage = await json<LineageResponse>(a, `/api/runs/${runId}/lineage`);
    assert.deepEqual(lineage.skipped?.map((s) => s.key), [victim.key]);
    assert.ok(lineage.root.children.length > 0);
    // Found unreadable: the next listing sets it aside and names it.
    const detail = await json<RunDetail>(a, `/api/runs/${runId}`);
    assert.deepEqual(detail.problems.map((p) => p.key), [victim.key]);
    assert.deepEqual(logged, []);
  } finally {
    await put(victim.key, bytes);
  }
});

Deno.test("a deleted batch leaves a gap that its ticks' 404 names", async () => {
  const victim = good[1]!;
  const bytes = await storage.read(victim.key);
  await remove(victim.key);
  try {
    const a = createApp({ storage, listingTtlMs: 0 });
    const detail = await json<RunDetail>(a, `/api/runs/${runId}`);
    assert.deepEqual(detail.gaps, [{ after: good[0]!.lastTick, before: good[2]!.firstTick }]);
    const err = await json<ApiError>(a, `/api/runs/${runId}/world/${ticksOf(victim)[1]}`, 404);
    assert.match(err.error.message, /has no batch for ticks after \d+ and before \d+ \(missing/);
    assert.deepEqual(err.error.nearestTicks, [good[0]!.lastTick, good[2]!.firstTick]);
  } finally {
    await put(victim.key, bytes);
  }
});

Deno.test("a batch deleted between the listing and the reading of its chunks is left out, not reported unreadable", async () => {
  // A name whose ticks do not follow from the sampling: the listing reads its chunks' headers.
  const stray = batchKey(runId, good.at(-1)!.lastTick + 3, good.at(-1)!.lastTick + 7);
  await put(stray, await storage.read(good[0]!.key));
  let deleted = false;
  // Listed, then gone when read: the storage's read deletes it first.
  const racing = new Proxy(storage, {
    get(target, prop) {
      if (prop === "read") {
        return async (key: string) => {
          if (key === stray) {
            await remove(key);
            deleted = true;
          }
          return await target.read(key);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  try {
    const a = createApp({ storage: racing, listingTtlMs: 0 });
    const detail = await json<RunDetail>(a, `/api/runs/${runId}`);
    assert.ok(deleted, "the listing read the batch");
    assert.deepEqual(detail.problems, []);
    assert.deepEqual(detail.gaps, []);
    const ticks = await json<TicksResponse>(a, `/api/runs/${runId}/ticks`);
    assert.deepEqual(spanTicks(ticks.spans), goodTicks);
  } finally {
    await remove(stray).catch(() => {});
  }
});

Deno.test("empty metadata makes a run unreadable: listed with the reason, 502 everywhere, no hang", async () => {
  const other = "empty-metadata-run";
  await put(metadataKey(other), new Uint8Array());
  await put(batchKey(other, 0, 9), new Uint8Array([1, 2, 3]));
  try {
    const a = createApp({ storage, listingTtlMs: 0 });
    const list = await json<RunsResponse>(a, "/api/runs");
    assert.deepEqual(list.runs.map((r) => r.runId), [runId]);
    assert.deepEqual(list.unreadable, [{
      runId: other,
      reason: `Run '${other}' is unreadable: metadata.pb is empty (0 bytes)`,
    }]);
    for (const path of ["", "/ticks", "/world/0", "/organisms/10/1", "/lineage", "/stats"]) {
      const err = await json<ApiError>(a, `/api/runs/${other}${path}`, 502);
      assert.equal(err.error.code, "unreadable_run", path);
    }
    await json(a, `/api/runs/${runId}/organisms/${goodTicks[0]}`);
  } finally {
    await remove(metadataKey(other));
    await remove(batchKey(other, 0, 9));
  }
});
