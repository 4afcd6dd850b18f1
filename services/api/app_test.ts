import assert from "node:assert/strict";
import { parquetReadObjects } from "hyparquet";
import {
  create,
  type FormatVersion,
  fromBinary,
  SimulationMetadataSchema,
  toBinary,
  WorldRegionSchema,
} from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { disassemble } from "../simulation_engine/assembler/mod.ts";
import type {
  ApiError,
  LineageNode,
  LineageResponse,
  LiveProgress,
  OrganismDetail,
  OrganismsResponse,
  PipelineResponse,
  RunDetail,
  RunsResponse,
  StatsResponse,
  TicksResponse,
  WorldResponse,
} from "./api_types.ts";
import { type AppOptions, buildApi, createApp } from "./app.ts";
import type { IndexReader } from "./index_reader.ts";
import { StorageIndexReader } from "./index_reader.ts";
import { openApiDocument } from "./openapi.ts";
import { RunStore, type RunView } from "./run_store.ts";
import { METRIC_NAME } from "./prometheus.ts";
import { STATS_METRICS } from "./stats_series.ts";
import { makeTwoRuns, type RefSample } from "../../tests/fixtures/stored_run.ts";
import { encodeRegionProto, extractRegion } from "./world_region.ts";

const fx = await makeTwoRuns();
const [W, H] = fx.shape as [number, number];

function app(extra: Partial<AppOptions> = {}) {
  return createApp({ storage: fx.storage, ...extra });
}

const shared = app();

async function get(path: string, init?: RequestInit, a = shared): Promise<Response> {
  return await a.request(path, init);
}

async function json<T>(path: string, init?: RequestInit, a = shared): Promise<T> {
  const res = await get(path, init, a);
  assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return await res.json() as T;
}

async function error(path: string, status: number, init?: RequestInit): Promise<ApiError> {
  const res = await get(path, init);
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  assert.doesNotMatch(text, /\bat .*\.ts:\d+/, "no stack trace in a response");
  return JSON.parse(text) as ApiError;
}

function sample(run: string, tick: number): RefSample {
  const s = fx.samples.get(run)!.get(tick);
  assert.ok(s, `reference has tick ${tick}`);
  return s;
}

/** The reference cells of a box, in flat index order. */
function refRegion(s: RefSample, x0: number, y0: number, x1: number, y1: number) {
  const flatIndex: number[] = [], molecule: number[] = [], owner: number[] = [];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const f = y * W + x;
      if (s.cells[f] !== 0 || s.owners[f] !== 0) {
        flatIndex.push(f);
        molecule.push(s.cells[f]!);
        owner.push(s.owners[f]!);
      }
    }
  }
  return { flatIndex, molecule, owner };
}

Deno.test("GET /api/runs lists both runs, newest first, with extent and stored bytes", async () => {
  const { runs } = await json<RunsResponse>("/api/runs");
  assert.deepEqual(runs.map((r) => r.runId), [fx.raw, fx.indexed]);
  for (const r of runs) {
    const batches = fx.batches.get(r.runId)!;
    assert.equal(r.batches, batches.length);
    assert.equal(r.minTick, 0);
    assert.equal(r.maxTick, batches.at(-1)!.lastTick);
    assert.equal(r.storedBytes, batches.reduce((n, b) => n + b.storedBytes, 0));
    assert.deepEqual(r.shape, fx.shape);
    assert.equal(r.topology, "torus");
  }
  assert.equal(runs[0]!.maxTick, 1500);
  assert.equal(runs[1]!.maxTick, 2000);
  assert.equal(runs[1]!.seed, "3");
});

Deno.test("GET /api/runs/:run and /latest give the run's detail", async () => {
  const latest = await json<RunDetail>("/api/runs/latest");
  assert.equal(latest.runId, fx.raw);
  const d = await json<RunDetail>(`/api/runs/${fx.indexed}`);
  assert.equal(d.runId, fx.indexed);
  assert.deepEqual(d.intervals, { sampling: 10, accumulatedDelta: 5, snapshot: 20, chunk: 1 });
  assert.ok(d.moleculeTypes.includes("ENERGY"));
  assert.ok(d.instructionNames.includes("FORK"));
  assert.equal(d.programs[0]!.name, "ancestor");
  assert.ok(d.programs[0]!.source.length > 0);
  assert.equal((d.config as { seed?: unknown }).seed !== undefined, true);
});

Deno.test("GET /api/runs/:run/ticks gives an evenly sampled run as one span (raw listing and catalog agree)", async () => {
  const raw = await json<TicksResponse>(`/api/runs/${fx.raw}/ticks`);
  assert.deepEqual(raw.spans, [{ first: 0, step: 10, count: 151 }]);
  assert.equal(raw.count, 151);
  assert.equal(raw.samplingInterval, 10);
  const indexed = await json<TicksResponse>(`/api/runs/${fx.indexed}/ticks`);
  assert.deepEqual(indexed.spans, [{ first: 0, step: 10, count: 201 }]);
  assert.equal(indexed.count, 201);
  assert.equal(indexed.minTick, 0);
  assert.equal(indexed.maxTick, 2000);
});

Deno.test("world regions match a replay of the chunk, whole world and boxes, JSON and protobuf", async () => {
  for (
    const [run, tick] of [[fx.raw, 0], [fx.raw, 1230], [fx.indexed, 1990], [
      fx.indexed,
      2000,
    ]] as const
  ) {
    const s = sample(run, tick);
    const whole = await json<WorldResponse>(`/api/runs/${run}/world/${tick}`);
    assert.deepEqual(whole.origin, [0, 0]);
    assert.deepEqual(whole.size, [W, H]);
    assert.deepEqual(whole.shape, fx.shape);
    assert.equal(whole.tick, tick);
    assert.deepEqual(whole.cells, refRegion(s, 0, 0, W, H));
    assert.ok(whole.cells.flatIndex.length > 100, "the world is not empty");

    const box = [100, 10, 180, 50] as const;
    const q = `?region=${box.join(",")}`;
    const j = await json<WorldResponse>(`/api/runs/${run}/world/${tick}${q}`);
    assert.deepEqual(j.origin, [100, 10]);
    assert.deepEqual(j.size, [80, 40]);
    assert.deepEqual(j.cells, refRegion(s, ...box));

    const res = await get(`/api/runs/${run}/world/${tick}${q}`, {
      headers: { accept: "application/x-protobuf" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-protobuf");
    const bytes = new Uint8Array(await res.arrayBuffer());
    const pb = fromBinary(WorldRegionSchema, bytes);
    assert.equal(pb.runId, run);
    assert.equal(Number(pb.tick), tick);
    assert.deepEqual(pb.shape, fx.shape);
    assert.deepEqual(pb.origin, j.origin);
    assert.deepEqual(pb.size, j.size);
    assert.deepEqual(pb.cells?.flatIndex, j.cells.flatIndex);
    assert.deepEqual(pb.cells?.molecule, j.cells.molecule);
    assert.deepEqual(pb.cells?.owner, j.cells.owner);
    // The hand-written encoding is byte-identical to protobuf-es.
    assert.deepEqual(bytes, toBinary(WorldRegionSchema, pb));
  }
});

Deno.test("the protobuf encoder equals toBinary, also for an empty region and the origin", () => {
  const cells = new Int32Array(W * H);
  const owners = new Int32Array(W * H);
  cells[5] = 0x100007;
  owners[W + 3] = 9;
  for (const region of [{ origin: [0, 0], size: [W, H] }, { origin: [10, 10], size: [5, 5] }]) {
    const rc = extractRegion(cells, owners, fx.shape, region);
    const a = { runId: "r", tick: 0, shape: fx.shape, region, cells: rc };
    const expected = toBinary(
      WorldRegionSchema,
      create(WorldRegionSchema, {
        runId: "r",
        tick: 0n,
        shape: fx.shape,
        origin: region.origin,
        size: region.size,
        cells: {
          flatIndex: [...rc.flatIndex],
          molecule: [...rc.molecule],
          owner: [...rc.owner],
        },
      }),
    );
    assert.deepEqual(encodeRegionProto(a), expected);
  }
});

Deno.test("regions of a 3D world take six numbers", () => {
  const shape = [4, 3, 2];
  const cells = new Int32Array(24).map((_, i) => i);
  const owners = new Int32Array(24);
  const r = extractRegion(cells, owners, shape, { origin: [1, 1, 1], size: [2, 2, 1] });
  // z=1: 12 + y*4 + x for y in 1..2, x in 1..2.
  assert.deepEqual([...r.flatIndex], [17, 18, 21, 22]);
});

Deno.test("world answers carry a strong ETag, are immutable, and answer 304 to If-None-Match", async () => {
  const path = `/api/runs/${fx.raw}/world/500?region=0,0,64,64`;
  const a = await get(path);
  await a.body?.cancel();
  const etag = a.headers.get("etag")!;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.equal(a.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.match(a.headers.get("vary") ?? "", /Accept/);
  assert.equal(a.headers.get("x-content-type-options"), "nosniff");
  // Served again from the answers built before (by URL): same bytes, same headers.
  const again = await get(path);
  assert.equal(again.headers.get("etag"), etag);
  assert.equal(again.headers.get("x-content-type-options"), "nosniff");
  assert.match(again.headers.get("content-type")!, /application\/json/);
  assert.equal((await again.json() as WorldResponse).size.join(), "64,64");
  const b = await get(path, { headers: { "if-none-match": etag } });
  assert.equal(b.status, 304);
  assert.equal(await b.text(), "");
  const weak = await get(path, { headers: { "if-none-match": `W/${etag}` } });
  assert.equal(weak.status, 304);
  await weak.body?.cancel();
  // Another format or region is another entity.
  const pb = await get(path, {
    headers: { accept: "application/x-protobuf", "if-none-match": etag },
  });
  assert.equal(pb.status, 200);
  assert.notEqual(pb.headers.get("etag"), etag);
  await pb.body?.cancel();
  // Under `latest` the same tick may belong to another run tomorrow: revalidate.
  const latest = await get(`/api/runs/latest/world/500?region=0,0,64,64`);
  assert.equal(latest.headers.get("cache-control"), "no-cache");
  assert.equal(latest.headers.get("etag"), etag, "the same entity as under its run id");
  await latest.body?.cancel();
  const other = await get(`/api/runs/${fx.raw}/world/510?region=0,0,64,64`);
  assert.notEqual(other.headers.get("etag"), etag);
  await other.body?.cancel();
});

Deno.test("warm requests are served from the caches without decoding again", async () => {
  const api = buildApi({ storage: fx.storage });
  const path = `/api/runs/${fx.raw}/world/700`;
  const stat = (name: string) => api.store.cacheStats().find((c) => c.name === name)!;
  await (await api.app.request(path)).arrayBuffer();
  const chunksAfterCold = stat("chunks");
  assert.equal(chunksAfterCold.misses, 1);
  assert.equal(stat("batches").misses, 1);
  // Another tick of the same chunk: chunk hit, no batch read.
  await (await api.app.request(`/api/runs/${fx.raw}/world/710`)).arrayBuffer();
  assert.equal(stat("chunks").hits, 1);
  assert.equal(stat("batches").misses, 1);
  // Organisms of a tick of that chunk: the world decoded only the cells, so the chunk is
  // decoded again with its organisms, from the cached batch.
  let batchHits = stat("batches").hits;
  await (await api.app.request(`/api/runs/${fx.raw}/organisms/700`)).arrayBuffer();
  assert.equal(stat("chunks").misses, 2);
  assert.equal(stat("batches").hits, batchHits + 1);
  // The world at another tick of it: the chunk with its organisms serves.
  await (await api.app.request(`/api/runs/${fx.raw}/world/720`)).arrayBuffer();
  assert.equal(stat("chunks").hits, 2);
  assert.equal(stat("chunks").misses, 2);
  // A different chunk of the same batch: decoded from the cached batch, not read again.
  batchHits = stat("batches").hits;
  await (await api.app.request(`/api/runs/${fx.raw}/world/400`)).arrayBuffer();
  assert.equal(stat("batches").hits, batchHits + 1);
  assert.equal(stat("batches").misses, 1);
  assert.equal(stat("chunks").misses, 3);
});

Deno.test("bad parameters answer 400 naming the parameter", async () => {
  const r = fx.raw;
  const cases: [string, string][] = [
    [`/api/runs/${r}/world/0?region=1,2,3`, "region"],
    [`/api/runs/${r}/world/0?region=a,b,c,d`, "region"],
    [`/api/runs/${r}/world/0?region=0,0,${W + 1},10`, "region"],
    [`/api/runs/${r}/world/0?region=5,5,5,10`, "region"],
    [`/api/runs/${r}/world/0?region=-1,0,10,10`, "region"],
    [`/api/runs/${r}/world/0?region=0,0,10,10,0,10`, "region"],
    [`/api/runs/${r}/world/abc`, "tick"],
    [`/api/runs/${r}/world/-5`, "tick"],
    [`/api/runs/${r}/world/1e3`, "tick"],
    [`/api/runs/${r}/organisms/x`, "tick"],
    [`/api/runs/${r}/organisms/0/abc`, "id"],
    [`/api/runs/${r}/organisms/0/0`, "id"],
    [`/api/runs/..%2f../ticks`, "run"],
    [`/api/runs/..%2f..%2fetc/world/0`, "run"],
    [`/api/runs/a%00b`, "run"],
    [`/api/runs/${"x".repeat(129)}`, "run"],
    [`/api/runs/${fx.indexed}/stats?metrics=alive,bogus`, "metrics"],
    [`/api/runs/${fx.indexed}/stats?metrics=`, "metrics"],
    [`/api/runs/${fx.indexed}/stats?maxPoints=0`, "maxPoints"],
    [`/api/runs/${fx.indexed}/stats?from=10&to=5`, "to"],
    [`/api/runs/${fx.indexed}/stats?from=x`, "from"],
    [`/api/runs/${r}/lineage?depth=deep`, "depth"],
    [`/api/runs/${r}/lineage?root=-1`, "root"],
    [`/api/runs/${r}/export/foo.parquet`, "table"],
    [`/api/runs/${r}/export/stats.csv`, "table"],
  ];
  for (const [path, parameter] of cases) {
    const body = await error(path, 400);
    assert.equal(body.error.code, "bad_parameter", path);
    assert.equal(body.error.parameter, parameter, path);
    assert.ok(body.error.message.length > 10, path);
  }
  const metric = await error(`/api/runs/${fx.indexed}/stats?metrics=alive,bogus`, 400);
  assert.match(metric.error.message, /bogus/);
  assert.match(metric.error.message, /energy_mean/, "lists the valid metrics");
  const region = await error(`/api/runs/${r}/world/0?region=0,0,999,10`, 400);
  assert.match(region.error.message, /out of range/);
});

Deno.test("unknown runs, ticks, organisms and routes answer 404", async () => {
  assert.equal((await error("/api/runs/no-such-run", 404)).error.code, "not_found");
  assert.equal((await error("/api/runs/no-such-run/world/0", 404)).error.code, "not_found");
  const between = await error(`/api/runs/${fx.raw}/world/15`, 404);
  assert.deepEqual(between.error.nearestTicks, [10, 20]);
  assert.match(between.error.message, /10 and 20/);
  const beyond = await error(`/api/runs/${fx.raw}/organisms/99999`, 404);
  assert.deepEqual(beyond.error.nearestTicks, [1500]);
  assert.match(beyond.error.message, /0\.\.1500/);
  const org = await error(`/api/runs/${fx.raw}/organisms/0/99999`, 404);
  assert.match(org.error.message, /99999/);
  assert.equal((await error("/api/nothing", 404)).error.code, "not_found");
  assert.equal(
    (await error(`/api/runs/${fx.raw}/lineage?root=99999`, 404)).error.code,
    "not_found",
  );
  // The raw run has no index files.
  assert.equal((await error(`/api/runs/${fx.raw}/stats`, 404)).error.code, "no_index");
  assert.equal(
    (await error(`/api/runs/${fx.raw}/export/stats.parquet`, 404)).error.code,
    "no_index",
  );
});

Deno.test("organisms at a tick and one organism's detail match the sample", async () => {
  const tick = 1000;
  const s = sample(fx.raw, tick);
  const list = await json<OrganismsResponse>(`/api/runs/${fx.raw}/organisms/${tick}`);
  assert.equal(list.tick, tick);
  assert.deepEqual(list.organisms.map((o) => o.id), s.organisms.map((o) => o.id));
  assert.ok(list.organisms.length > 0);
  const ref = s.organisms.find((o) => o.lastOpcode >= 0)!;
  const row = list.organisms.find((o) => o.id === ref.id)!;
  assert.equal(row.energy, ref.energy);
  assert.deepEqual(row.ip, [...ref.ip]);
  assert.equal(row.lastInstruction, disassemble(ref.lastOpcode, [...ref.lastArgs], 2));
  assert.match(row.lastInstruction, /^[A-Z]+/);

  const d = await json<OrganismDetail>(`/api/runs/latest/organisms/${tick}/${ref.id}`);
  assert.equal(d.id, ref.id);
  assert.equal(d.tick, tick);
  assert.equal(d.dataPointers.length, 2);
  assert.ok(d.dataPointers.every((p) => p.length === 2));
  assert.equal(d.dataRegisters.length, ref.dataRegisters.length);
  assert.ok(d.dataRegisters.every((m) => /^[A-Z]+:-?\d+(@\d+)?$/.test(m)));
  assert.equal(d.locationRegisters.length, ref.locationRegisters.length / 2);
  assert.equal(d.instructionsExecuted, Number(ref.instructionsExecuted));
  assert.deepEqual(d.lastInstructionPosition, [...ref.lastPosition]);
  assert.equal(d.lastInstruction, row.lastInstruction);
});

function collect(n: LineageNode, out: Map<number, LineageNode> = new Map()) {
  out.set(n.id, n);
  for (const c of n.children) collect(c, out);
  return out;
}

Deno.test("lineage from the organisms index and from scanned chunks", async () => {
  for (const run of [fx.indexed, fx.raw]) {
    const l = await json<LineageResponse>(`/api/runs/${run}/lineage?depth=1000`);
    assert.equal(l.root.id, 0);
    assert.equal(l.truncated, 0);
    const nodes = collect(l.root);
    const ids = new Set<number>();
    for (const s of fx.samples.get(run)!.values()) for (const o of s.organisms) ids.add(o.id);
    assert.equal(nodes.size - 1, ids.size, "every organism ever sampled appears once");
    for (const n of nodes.values()) {
      for (const c of n.children) {
        if (n.id !== 0) assert.equal(c.parentId, n.id);
        if (n.id !== 0) assert.equal(c.generation, n.generation + 1);
      }
    }
    const placed = l.root.children.filter((c) => c.parentId === 0);
    assert.ok(placed.length >= 1);
    // Depth 1 from the root: only its children; the rest counted as truncated.
    const shallow = await json<LineageResponse>(`/api/runs/${run}/lineage?depth=1`);
    assert.equal(shallow.root.children.length, l.root.children.length);
    assert.ok(shallow.root.children.every((c) => c.children.length === 0));
    assert.equal(shallow.truncated, nodes.size - 1 - l.root.children.length);
    // A subtree.
    const parent = [...nodes.values()].find((n) => n.id !== 0 && n.children.length > 0);
    if (parent !== undefined) {
      const sub = await json<LineageResponse>(`/api/runs/${run}/lineage?root=${parent.id}`);
      assert.equal(sub.root.id, parent.id);
      assert.deepEqual(sub.root.children.map((c) => c.id), parent.children.map((c) => c.id));
    }
  }
  // Index and scan give the same tree for the indexed run.
  const scanOnly: IndexReader = {
    list: () => Promise.resolve([]),
    catalog: () => Promise.resolve(null),
    stats: () => Promise.resolve(null),
    organisms: () => Promise.resolve(null),
  };
  const a = await json<LineageResponse>(`/api/runs/${fx.indexed}/lineage?depth=1000`);
  const b = await json<LineageResponse>(
    `/api/runs/${fx.indexed}/lineage?depth=1000`,
    undefined,
    app({ index: scanOnly }),
  );
  assert.deepEqual(a, b);
});

Deno.test("stats series from the index: all metrics, ranges, downsampling by bucket means", async () => {
  const all = await json<StatsResponse>(`/api/runs/${fx.indexed}/stats`);
  assert.deepEqual(all.metrics, [...STATS_METRICS]);
  assert.equal(all.ticks.length, 201);
  assert.equal(all.bucket, 1);
  const alive = [...fx.samples.get(fx.indexed)!.values()].sort((a, b) => a.tick - b.tick)
    .map((s) => s.organisms.filter((o) => o.alive).length);
  assert.deepEqual(all.series.alive, alive);

  const part = await json<StatsResponse>(
    `/api/runs/${fx.indexed}/stats?metrics=alive,energy_total&from=995&to=1205`,
  );
  assert.deepEqual(part.metrics, ["alive", "energy_total"]);
  assert.deepEqual(Object.keys(part.series).sort(), ["alive", "energy_total"]);
  assert.equal(part.ticks[0], 1000);
  assert.equal(part.ticks.at(-1), 1200);
  assert.equal(part.series.alive!.length, 21);

  const down = await json<StatsResponse>(
    `/api/runs/${fx.indexed}/stats?metrics=alive&maxPoints=10`,
  );
  assert.equal(down.bucket, 21);
  assert.equal(down.ticks.length, 10);
  assert.equal(down.ticks[1], 210);
  const mean = alive.slice(21, 42).reduce((a, b) => a + b, 0) / 21;
  assert.ok(Math.abs(down.series.alive![1]! - mean) < 1e-9);
});

Deno.test("Parquet export merges the per-batch files into one", async () => {
  for (const [table, rows] of [["stats", 201], ["organisms", -1]] as const) {
    const res = await get(`/api/runs/${fx.indexed}/export/${table}.parquet`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.apache.parquet");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /attachment; filename=".*\.parquet"/,
    );
    const buf = await res.arrayBuffer();
    const objects = await parquetReadObjects({ file: buf });
    if (rows > 0) assert.equal(objects.length, rows);
    const files = await new StorageIndexReader(fx.storage).list(fx.indexed, table);
    let expected = 0;
    for (const f of files) {
      const reader = new StorageIndexReader(fx.storage);
      expected += (table === "stats"
        ? await reader.stats(fx.indexed, f)
        : await reader.organisms(fx.indexed, f))!.length;
    }
    assert.equal(objects.length, expected);
    assert.ok(objects.length > 0);
    const etag = res.headers.get("etag")!;
    const again = await get(`/api/runs/${fx.indexed}/export/${table}.parquet`, {
      headers: { "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    if (table === "stats") {
      assert.deepEqual(Object.keys(objects[0]!).slice(0, 3), ["tick", "alive", "born"]);
      assert.equal(Number(objects[5]!.tick), 50);
    } else {
      assert.ok(objects.every((o) => typeof o.program === "string"));
    }
  }
});

Deno.test("GET /api/pipeline: serve mode, or the provider's status", async () => {
  const serve = await json<PipelineResponse>("/api/pipeline");
  assert.equal(serve.mode, "serve");
  assert.deepEqual(serve.services, []);
  // The storage by kind and last name: no absolute directory in an answer.
  assert.equal(serve.resources[0]!.description, `filesystem .../${fx.root.split("/").at(-1)}`);
  const withProvider = app({
    pipeline: () => ({
      services: [{
        name: "engine",
        kind: "simulation-engine",
        state: "running",
        metrics: { tick: 5 },
      }],
      resources: [{ name: "q", kind: "memory-queue", description: "q", stats: { lag: { p: 3 } } }],
    }),
  });
  const p = await json<PipelineResponse>("/api/pipeline", undefined, withProvider);
  assert.equal(p.mode, "in-process");
  assert.equal(p.services[0]!.metrics.tick, 5);
});

/** Checks the Prometheus text format line by line; returns the samples by name. */
function parsePrometheus(text: string): Map<string, { labels: string; value: number }[]> {
  assert.ok(text.endsWith("\n"));
  const samples = new Map<string, { labels: string; value: number }[]>();
  const typed = new Map<string, string>();
  const done = new Set<string>();
  let current = "";
  const label = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
  const sampleRe = new RegExp(
    String
      .raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:${label}(?:,${label})*)?\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$`,
  );
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line))) {
      assert.ok(!done.has(m[1]!), `family ${m[1]} appears twice`);
      if (current !== "") done.add(current);
      current = m[1]!;
    } else if (
      (m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(
        line,
      ))
    ) {
      assert.equal(m[1], current, "TYPE follows its HELP");
      typed.set(m[1]!, m[2]!);
    } else if ((m = sampleRe.exec(line))) {
      assert.equal(m[1], current, `sample ${m[1]} inside its family`);
      assert.ok(typed.has(m[1]!));
      const list = samples.get(m[1]!) ?? [];
      assert.ok(!list.some((s) => s.labels === (m![2] ?? "")), `duplicate series ${line}`);
      list.push({ labels: m[2] ?? "", value: Number(m[3]) });
      samples.set(m[1]!, list);
    } else {
      assert.fail(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return samples;
}

Deno.test("GET /metrics is valid Prometheus text with pipeline, request and cache metrics", async () => {
  const a = app({
    pipeline: () => ({
      services: [
        {
          name: "engine",
          kind: "simulation-engine",
          state: "running",
          metrics: { tick: 5, ticks_per_second: 1.5 },
        },
        { name: "p-1", kind: "persistence", state: "running", metrics: { batches: 2 } },
        {
          name: "p-2",
          kind: "persistence",
          state: "failed",
          error: 'x "y"\n',
          metrics: { batches: 3 },
        },
      ],
      resources: [{
        name: "raw",
        kind: "memory-queue",
        description: "q",
        stats: { recordsIn: 4, lag: { persistence: 7 }, note: "text" },
      }],
    }),
  });
  await (await a.request(`/api/runs/${fx.raw}/world/0`)).arrayBuffer();
  await (await a.request(`/api/runs/${fx.raw}/world/0`)).arrayBuffer();
  await (await a.request(`/api/runs/${fx.raw}/world/abc`)).arrayBuffer();
  const res = await a.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheus(await res.text());
  for (const name of m.keys()) assert.match(name, METRIC_NAME);
  assert.deepEqual(m.get("evochora_tick"), [
    { labels: '{service="engine",kind="simulation-engine"}', value: 5 },
  ]);
  assert.equal(m.get("evochora_batches")!.length, 2);
  assert.equal(m.get("evochora_resource_records_in")![0]!.value, 4);
  assert.equal(
    m.get("evochora_resource_lag")![0]!.labels,
    '{resource="raw",kind="memory-queue",key="persistence"}',
  );
  const requests = m.get("evochora_api_requests_total")!;
  const world = requests.find((s) =>
    s.labels === '{route="/api/runs/:run/world/:tick",method="GET",status="200"}'
  );
  assert.equal(world?.value, 2);
  assert.ok(requests.some((s) => s.labels.includes('status="400"')));
  const hits = m.get("evochora_api_cache_hits_total")!;
  assert.ok(hits.find((s) => s.labels === '{cache="responses"}')!.value >= 1);
  assert.ok(m.has("evochora_api_cache_misses_total"));
  assert.equal(
    m.get("evochora_service_up")!.find((s) => s.labels.includes("p-2"))!.value,
    0,
  );
});

/** Everything a response's stream sends until the server closes it, as SSE blocks. */
async function allEvents(res: Response): Promise<{ event: string; data: string }[]> {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.trim() !== "").map((block) => ({
    event: /^event: (.*)$/m.exec(block)?.[1] ?? "",
    data: /^data: (.*)$/m.exec(block)?.[1] ?? "",
  }));
}

/** A copy of the raw run's metadata and batches without its end record: a run still going. */
async function runningCopy(): Promise<{ storage: Storage; root: string }> {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-running-" });
  const storage = await FilesystemStorage.open({ root });
  for (const key of [`runs/${fx.raw}/metadata.pb`, ...fx.batches.get(fx.raw)!.map((b) => b.key)]) {
    const w = await storage.openWriter(key);
    await w.write(await fx.storage.read(key));
    await w.commit();
  }
  return { storage, root };
}

Deno.test("GET /api/runs/:run/live of a finished run sends its progress, then end, then closes", async () => {
  const res = await get(`/api/runs/${fx.raw}/live`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /text\/event-stream/);
  const events = await allEvents(res); // resolves: the server closed the stream
  assert.deepEqual(events.map((e) => e.event), ["progress", "end"]);
  const p = JSON.parse(events[0]!.data) as LiveProgress;
  assert.equal(p.runId, fx.raw);
  assert.equal(p.state, "finished");
  assert.equal(p.maxStoredTick, 1500);
  assert.equal(p.tick, 1500);
  assert.equal(p.batches, fx.batches.get(fx.raw)!.length);
  assert.equal(p.organismsAlive, sample(fx.raw, 1500).summary?.organismsAlive);
  assert.deepEqual(JSON.parse(events[1]!.data), {
    runId: fx.raw,
    state: "finished",
    endTick: 1500,
  });
  assert.equal((await error("/api/runs/nope/live", 404)).error.code, "not_found");
});

Deno.test("GET /api/runs/:run/live of a running run streams the engine's figures until disconnect", async () => {
  const { storage, root } = await runningCopy();
  try {
    const live = app({
      storage,
      live: () => ({ tick: 4321, ticksPerSecond: 99, organismsAlive: 7, runId: fx.raw }),
      liveIntervalMs: 40,
    });
    const res = await live.request(`/api/runs/${fx.raw}/live`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/event: progress/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      assert.equal(done, false, "the stream of a running run stays open");
      text += value;
    }
    await reader.cancel();
    assert.doesNotMatch(text, /event: end/);
    const events = text.split("\n\n").filter((b) => b.startsWith("event: progress"));
    const q = JSON.parse(/^data: (.*)$/m.exec(events[1]!)![1]!) as LiveProgress;
    assert.equal(q.state, "running");
    assert.equal(q.tick, 4321);
    assert.equal(q.ticksPerSecond, 99);
    assert.equal(q.organismsAlive, 7);
    assert.equal(q.maxStoredTick, 1500);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
  // Another run is served from storage.
  const other = await allEvents(await get(`/api/runs/${fx.indexed}/live`));
  assert.equal((JSON.parse(other[0]!.data) as LiveProgress).tick, 2000);
});

Deno.test("runs show their state: finished with an end record, running or incomplete without", async () => {
  const list = await json<RunsResponse>("/api/runs");
  assert.deepEqual(list.runs.map((r) => r.state), ["finished", "finished"]);
  const detail = await json<RunDetail>(`/api/runs/${fx.raw}`);
  assert.equal(detail.state, "finished");
  assert.equal(detail.endTick, 1500);
  assert.match(detail.stateReason, /ended at tick 1500/);
  assert.ok(detail.lastActivityMs !== null && detail.lastActivityMs <= Date.now());
  const { storage, root } = await runningCopy();
  try {
    const fresh = await (await app({ storage }).request(`/api/runs/${fx.raw}`)).json() as RunDetail;
    assert.equal(fresh.state, "running");
    assert.equal(fresh.endTick, null);
    // Idle for longer than the threshold (1 s here), with nothing new stored: the run died.
    const later = app({ storage, idleAfterMs: 1000 });
    await new Promise((r) => setTimeout(r, 1100));
    const dead = await (await later.request(`/api/runs/${fx.raw}`)).json() as RunDetail;
    assert.equal(dead.state, "incomplete");
    assert.match(dead.stateReason, /no end record, no progress for \d+ s; last stored tick 1500/);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the OpenAPI document describes every registered route", async () => {
  const doc = await json<ReturnType<typeof openApiDocument>>("/api/openapi.json");
  assert.equal(doc.openapi, "3.1.0");
  const routes = shared.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length >= 14);
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const item = doc.paths[path];
    assert.ok(item, `OpenAPI lacks path ${path}`);
    assert.ok(item[r.method.toLowerCase()], `OpenAPI lacks ${r.method} ${path}`);
    // Every path parameter is declared.
    const op = item[r.method.toLowerCase()] as { parameters: { $ref?: string; name?: string }[] };
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      assert.ok(
        op.parameters.some((p) => p.name === name || p.$ref === `#/components/parameters/${name}`),
        `${path}: parameter ${name} undeclared`,
      );
    }
  }
  // And nothing documented is missing from the app.
  const registered = new Set(routes.map((r) => r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")));
  for (const p of Object.keys(doc.paths)) assert.ok(registered.has(p), `${p} is not served`);
  // Every $ref resolves.
  const text = JSON.stringify(doc);
  for (const [, kind, name] of text.matchAll(/"#\/components\/(schemas|parameters)\/([^"]+)"/g)) {
    assert.ok((doc.components as Record<string, Record<string, unknown>>)[kind!]![name!], name);
  }
});

Deno.test("the web root is served at /, files below it only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-web-" });
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html><title>evochora</title>");
    await Deno.mkdir(`${dir}/assets`);
    await Deno.writeTextFile(`${dir}/assets/app.js`, "console.log(1)");
    await Deno.writeTextFile(
      `${dir}/../evochora-secret-${dir.split("/").at(-1)}`,
      "TOP-SECRET-CONTENT",
    );
    const web = app({ webRoot: dir });
    const index = await web.request("/");
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type")!, /text\/html/);
    assert.match(await index.text(), /evochora/);
    const js = await web.request("/assets/app.js");
    assert.match(js.headers.get("content-type")!, /javascript/);
    assert.equal(await js.text(), "console.log(1)");
    for (
      const bad of [
        `/..%2fevochora-secret-${dir.split("/").at(-1)}`,
        `/assets/..%2f..%2fevochora-secret-${dir.split("/").at(-1)}`,
        "/%2e%2e/etc/passwd",
        "/.hidden",
        "/missing.js",
      ]
    ) {
      const res = await web.request(bad);
      assert.equal(res.status, 404, bad);
      assert.doesNotMatch(await res.text(), /TOP-SECRET-CONTENT/);
    }
    const api404 = await web.request("/api/nope");
    assert.equal((await api404.json() as ApiError).error.code, "not_found");
    // Without a web root: a text page.
    const text = await shared.request("/");
    assert.match(text.headers.get("content-type")!, /text\/plain/);
    assert.match(await text.text(), /\/api\/runs\/\{run\}\/world\/\{tick\}/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}/../evochora-secret-${dir.split("/").at(-1)}`).catch(() => {});
  }
});

Deno.test("unexpected errors answer 500 with a generic body and are logged", async () => {
  const logged: string[] = [];
  const failing: Storage = {
    ...fx.storage,
    description: "failing",
    listKeys: () => Promise.reject(new Error("disk on fire at /secret/path")),
    read: (k: string) => fx.storage.read(k),
    openWriter: (k: string) => fx.storage.openWriter(k),
    openReader: (k: string) => fx.storage.openReader(k),
    exists: (k: string) => fx.storage.exists(k),
    size: (k: string) => fx.storage.size(k),
    stat: (k: string) => fx.storage.stat(k),
    listObjects: () => Promise.reject(new Error("disk on fire at /secret/path")),
    listChildren: (p: string) => fx.storage.listChildren(p),
    delete: (k: string) => fx.storage.delete(k),
    sweepLeftovers: (o) => fx.storage.sweepLeftovers(o),
    close: () => Promise.resolve(),
  };
  const a = app({ storage: failing, log: (m) => logged.push(m) });
  const res = await a.request(`/api/runs/${fx.raw}/ticks`);
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.doesNotMatch(text, /fire|secret|\.ts/);
  assert.equal((JSON.parse(text) as ApiError).error.code, "internal");
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /disk on fire/);
});

Deno.test("a run with corrupt metadata is listed as unreadable with the reason, and a 502 on its own", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-corrupt-" });
  try {
    const storage = await FilesystemStorage.open({ root });
    const w = await storage.openWriter("runs/broken/metadata.pb");
    await w.write(new Uint8Array([0xff, 0xff, 0xff]));
    await w.commit();
    const logged: string[] = [];
    const a = createApp({ storage, log: (m) => logged.push(m) });
    const list = await (await a.request("/api/runs")).json() as RunsResponse;
    assert.deepEqual(list.runs, []);
    assert.equal(list.unreadable.length, 1);
    assert.equal(list.unreadable[0]!.runId, "broken");
    assert.match(list.unreadable[0]!.reason, /metadata\.pb \(3 bytes\) is malformed/);
    const none = await a.request("/api/runs/latest");
    assert.equal(none.status, 404);
    await none.body?.cancel();
    const own = await a.request("/api/runs/broken");
    assert.equal(own.status, 502);
    const body = await own.json() as ApiError;
    assert.equal(body.error.code, "unreadable_run");
    assert.match(body.error.message, /Run 'broken' is unreadable: metadata\.pb/);
    assert.deepEqual(logged, [], "an answered error is not an internal one");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a run whose metadata has a newer format version is unreadable, naming the version", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-newer-" });
  try {
    const storage = await FilesystemStorage.open({ root });
    const meta = fromBinary(
      SimulationMetadataSchema,
      await fx.storage.read(`runs/${fx.raw}/metadata.pb`),
    );
    meta.formatVersion = 3 as FormatVersion;
    const w = await storage.openWriter(`runs/${fx.raw}/metadata.pb`);
    await w.write(toBinary(SimulationMetadataSchema, meta));
    await w.commit();
    const list = await (await createApp({ storage }).request("/api/runs")).json() as RunsResponse;
    assert.equal(list.unreadable.length, 1);
    assert.match(
      list.unreadable[0]!.reason,
      /metadata\.pb has format version 3, newer than this build reads \(up to 2\)/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("batch listings are reused for the TTL, so a growing run shows new batches soon", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-grow-" });
  try {
    const storage = await FilesystemStorage.open({ root });
    const copy = async (key: string) => {
      const w = await storage.openWriter(key);
      await w.write(await fx.storage.read(key));
      await w.commit();
    };
    const batches = fx.batches.get(fx.raw)!;
    await copy(`runs/${fx.raw}/metadata.pb`);
    await copy(batches[0]!.key);
    let clock = 0;
    const store = new RunStore({ storage, now: () => clock, listingTtlMs: 1000 });
    const info = await store.resolve(fx.raw);
    assert.equal((await store.view(info)).batches.length, 1);
    await copy(batches[1]!.key);
    clock = 999;
    assert.equal((await store.view(info)).batches.length, 1, "within the TTL: the old listing");
    clock = 1000;
    const grown = await store.view(info);
    assert.equal(grown.batches.length, 2);
    assert.equal(grown.batches.at(1)!.lastTick, batches[1]!.lastTick);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a listing that took long is reused for ten times as long as it took", async () => {
  let clock = 0;
  let listings = 0;
  const storage = new Proxy(fx.storage, {
    get(target, prop) {
      if (prop === "listObjects") {
        return (prefix: string, o?: { cursor?: string }) => {
          if (prefix.includes("/raw/")) {
            listings++;
            clock += 500; // a slow listing: a catalog far behind, say
          }
          return target.listObjects(prefix, o);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const store = new RunStore({ storage, now: () => clock, listingTtlMs: 1000 });
  const info = await store.resolve(fx.indexed);
  const first = await store.view(info);
  assert.equal(listings, 1);
  clock = 4900; // past the TTL, within ten times the listing's 500 ms
  assert.equal(await store.view(info), first);
  clock = 5001;
  assert.notEqual(await store.view(info), first);
  assert.equal(listings, 2);
});

/** A listing's catalog entries, by batch key in batch order. */
function catalogEntries(view: RunView): [string, unknown][] {
  return view.batches.map((b): [string, unknown] => [b.key, view.catalog.get(b.key)])
    .filter(([, facts]) => facts !== undefined);
}

Deno.test("a new listing reads only catalog entries it has not listed before, even past the cache", async () => {
  const reads: string[] = [];
  const base = new StorageIndexReader(fx.storage);
  const index: IndexReader = {
    list: (runId, kind) => base.list(runId, kind),
    catalog: (runId, batch) => {
      reads.push(`${batch.firstTick}_${batch.lastTick}`);
      return base.catalog(runId, batch);
    },
    stats: (runId, batch) => base.stats(runId, batch),
    organisms: (runId, batch) => base.organisms(runId, batch),
  };
  let clock = 0;
  // A metadata budget far too small for the run's catalog entries: each evicts the one before.
  const store = new RunStore({
    storage: fx.storage,
    index,
    now: () => clock,
    listingTtlMs: 1000,
    cacheMetaBytes: 64,
  });
  const info = await store.resolve(fx.indexed);
  const first = await store.view(info);
  const entries = catalogEntries(first).length;
  assert.ok(entries >= 2, `the fixture's run has ${entries} catalog entries`);
  assert.equal(reads.length, entries);
  clock = 1000;
  const second = await store.view(info);
  assert.notEqual(second, first, "a new listing");
  assert.equal(catalogEntries(second).length, entries);
  assert.equal(reads.length, entries, "no entry read again");
  assert.deepEqual([...second.batches], [...first.batches]);
});

Deno.test("a listing takes its predecessor's settled beginning over and lists only what follows", async () => {
  const cursors: (string | undefined)[] = [];
  const storage = new Proxy(fx.storage, {
    get(target, prop) {
      if (prop === "listObjects") {
        return (prefix: string, o: { cursor?: string } = {}) => {
          if (prefix.includes("/raw/")) cursors.push(o.cursor);
          return target.listObjects(prefix, o);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const base = new StorageIndexReader(fx.storage);
  let hidden: number | undefined; // first tick of a batch whose catalog entry is not there yet
  const index: IndexReader = {
    list: async (runId, kind, after) =>
      (await base.list(runId, kind, after)).filter((r) => r.firstTick !== hidden),
    catalog: (runId, batch) => base.catalog(runId, batch),
    stats: (runId, batch) => base.stats(runId, batch),
    organisms: (runId, batch) => base.organisms(runId, batch),
  };
  let clock = 0;
  const store = new RunStore({ storage, index, now: () => clock, listingTtlMs: 1 });
  const info = await store.resolve(fx.indexed);
  /** A listing, checked against a listing from scratch of the same storage and index. */
  const listing = async () => {
    clock += 10;
    cursors.length = 0;
    const view = await store.view(info);
    const expected = await new RunStore({ storage: fx.storage, index }).view(info);
    assert.deepEqual([...view.batches], [...expected.batches]);
    assert.deepEqual(catalogEntries(view), catalogEntries(expected));
    assert.deepEqual([view.problems, view.gaps], [expected.problems, expected.gaps]);
    return view;
  };
  // The catalog indexer has not reached the second batch yet.
  hidden = (await new RunStore({ storage: fx.storage }).view(info)).batches.at(1)!.firstTick;
  const first = await listing();
  const { batches } = first;
  assert.ok(batches.length >= 3, `the fixture's run has ${batches.length} batches`);
  assert.deepEqual(cursors, [undefined], "the first listing lists everything");
  await listing();
  assert.deepEqual(cursors, [batches.at(0)!.key], "then only after the settled beginning");
  hidden = undefined; // its entry is written
  await listing();
  assert.deepEqual(cursors, [batches.at(0)!.key]);
  const settled = await listing();
  assert.deepEqual(cursors, [batches.at(-1)!.key], "the whole run is settled now");
  // Held in columns shared with the listing before (appended to), not as objects.
  const again = await listing();
  assert.equal(again.batches.settled, settled.batches.settled);
  assert.equal(again.batches.settledCount, batches.length - 1);
  assert.deepEqual(again.batches.tail, [batches.at(-1)], "only the floor batch as an object");
});

Deno.test("a run's stored bytes come from its catalog and its listing, without a lookup per batch", async () => {
  let lookups = 0;
  const storage = new Proxy(fx.storage, {
    get(target, prop) {
      const v = Reflect.get(target, prop);
      if (prop === "size" || prop === "stat") lookups++;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const store = new RunStore({ storage });
  for (const runId of [fx.raw, fx.indexed]) {
    const view = await store.view(await store.resolve(runId));
    const batches = fx.batches.get(runId)!;
    assert.equal(await store.storedBytes(view), batches.reduce((n, b) => n + b.storedBytes, 0));
  }
  assert.equal(lookups, 0);
});
