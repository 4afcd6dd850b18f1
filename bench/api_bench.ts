/**
 * Query API benchmark under load on loopback: world-at-tick (a 256x256 region of a 1024x1024
 * world) cold and warm, organisms-at-tick, beside a plain Hono route serving a byte array of
 * the same length from memory, all in one run. The load generator is a bounded concurrent fetch
 * loop in the same process (so client and server share the CPU alike for every figure).
 *
 * Run alone with `deno run -A bench/api_bench.ts`, or add {@link apiThroughput} to
 * bench/main.ts.
 *
 * @module
 */

import { Hono } from "hono";
import { type Figure, runSuites, type Suite } from "./_harness.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { ancestorPlacement } from "../services/simulation_engine/runtime/engine.ts";
import { ApiService, type ApiServiceOptions } from "../services/api/api_service.ts";
import { makeRun } from "../tests/fixtures/stored_run.ts";

/** Latencies and rate of one load. */
export interface LoadResult {
  requests: number;
  seconds: number;
  p50: number;
  p95: number;
  /** Mean answer size. */
  bytes: number;
  /** Every latency, ms, ascending. */
  latencies: number[];
}

/** Bounds of one load: stops at `maxRequests` or after `maxMs`, whichever comes first. */
export interface LoadOptions {
  concurrency: number;
  maxRequests: number;
  maxMs: number;
  headers?: Record<string, string>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Fetches `urls()` from `concurrency` loops; only 127.0.0.1 URLs are accepted. */
export async function load(urls: () => string, o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let bytes = 0;
  const start = performance.now();
  const deadline = start + o.maxMs;
  const worker = async () => {
    while (issued < o.maxRequests && performance.now() < deadline) {
      issued++;
      const url = urls();
      if (!url.startsWith("http://127.0.0.1:")) throw new Error(`Not a loopback URL: ${url}`);
      const t = performance.now();
      const res = await fetch(url, o.headers === undefined ? {} : { headers: o.headers });
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
      latencies.push(performance.now() - t);
      bytes += body.byteLength;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    bytes: latencies.length === 0 ? 0 : bytes / latencies.length,
    latencies,
  };
}

/** Several loads of one kind as one: latencies pooled, requests over total time. */
export function merge(results: readonly LoadResult[]): LoadResult {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const requests = results.reduce((n, r) => n + r.requests, 0);
  return {
    requests,
    seconds: results.reduce((n, r) => n + r.seconds, 0),
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    bytes: results.reduce((n, r) => n + r.bytes * r.requests, 0) / Math.max(1, requests),
    latencies,
  };
}

/** Options of {@link apiBenchmark}. */
export interface ApiBenchOptions {
  /** Ticks of the generated run. Default 600. */
  ticks?: number;
  /** Concurrent request loops. Default 8. */
  concurrency?: number;
  /** Requests per warm load. Default 4000. */
  maxRequests?: number;
  /** Longest warm load, ms. Default 4000. */
  maxMs?: number;
}

/** Asks for the world region in protobuf (JSON without it). */
const PB = { accept: "application/x-protobuf" };
/** Asks for JSON without compression. */
const JSON_NO_COMPRESS = { "accept-encoding": "identity" };
/** The 256x256 region of the 1024x1024 world most loads ask for. */
const REGION = "region=384,384,640,640";
/** The regions the load without a response cache asks for in turn. */
const REGIONS = ["0,0,256,256", "256,256,512,512", "384,384,640,640", "768,512,1024,768"];

/** What every step of one run shares. */
interface ApiBench {
  storage: FilesystemStorage;
  runId: string;
  /** Every 10th tick of the run (its sampled ticks), in order. */
  sampled: number[];
  /** The sampled tick the warm loads ask for: the middle one. */
  warmTick: number;
  /** Bounds of the full-length loads. */
  bounds: LoadOptions;
  started: Started;
}

/** What a run started so far, stopped when it ends (also when a step fails). */
interface Started {
  services: ApiService[];
  staticServer?: Deno.HttpServer<Deno.NetAddr>;
  /** The run's storage, closed after the services that read it. */
  storage?: FilesystemStorage;
}

/** A query API service on a free port, stopped with the run's other services. */
async function startService(
  bench: ApiBench,
  extra: Partial<ApiServiceOptions> = {},
): Promise<ApiService> {
  const s = new ApiService({ name: "api", storage: bench.storage, port: 0, ...extra });
  await s.start();
  bench.started.services.push(s);
  return s;
}

/** A fresh service asked for every sampled tick once, in order, one at a time. */
async function coldLoad(bench: ApiBench): Promise<LoadResult> {
  const { runId, sampled } = bench;
  const cold = await startService(bench);
  let next = 0;
  return await load(
    () => `${cold.url}/api/runs/${runId}/world/${sampled[next++ % sampled.length]}?${REGION}`,
    { concurrency: 1, maxRequests: sampled.length, maxMs: 60000, headers: PB },
  );
}

/**
 * Latencies, ms ascending, of the first request to a fresh service per tick: nothing cached at
 * all (batch read, zstd, decode, replay, extract, encode).
 */
async function freshLatencies(bench: ApiBench): Promise<number[]> {
  const { storage, runId, sampled } = bench;
  const fresh: number[] = [];
  for (const t of sampled.slice(0, 8)) {
    // Not kept in `started`: its caches go with it.
    const s = new ApiService({ name: "fresh", storage, port: 0 });
    await s.start();
    const t0 = performance.now();
    await (await fetch(`${s.url}/api/runs/${runId}/world/${t}?${REGION}`, { headers: PB }))
      .arrayBuffer();
    fresh.push(performance.now() - t0);
    await s.stop();
  }
  return fresh.sort((a, b) => a - b);
}

/** The service the warm loads use, once warmed up, with its two answers' URLs and sizes. */
interface WarmService {
  api: ApiService;
  worldUrl: string;
  orgUrl: string;
  /** Bytes of the world region answer (protobuf). */
  size: number;
  /** Bytes of the organisms answer (JSON). */
  orgSize: number;
}

/** Starts the service for the warm loads and warms its caches on the warm tick. */
async function warmService(bench: ApiBench): Promise<WarmService> {
  const api = await startService(bench);
  const worldUrl = `${api.url}/api/runs/${bench.runId}/world/${bench.warmTick}?${REGION}`;
  const warm = await load(() => worldUrl, { ...bench.bounds, maxRequests: 200, headers: PB });
  const orgUrl = `${api.url}/api/runs/${bench.runId}/organisms/${bench.warmTick}`;
  const orgSize = (await (await fetch(orgUrl)).arrayBuffer()).byteLength;
  return { api, worldUrl, orgUrl, size: warm.bytes, orgSize };
}

/**
 * The static references: the same numbers of bytes from a plain Hono route, `/static` (the
 * world answer's length) and `/static-organisms`.
 */
function serveStatic(size: number, orgSize: number): Deno.HttpServer<Deno.NetAddr> {
  const plain = new Hono();
  for (const [path, n] of [["/static", size], ["/static-organisms", orgSize]] as const) {
    const bytes = new Uint8Array(n).map((_, i) => i & 0xff);
    plain.get(
      path,
      (c) => c.body(bytes, 200, { "content-type": "application/octet-stream" }),
    );
  }
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    plain.fetch,
  );
}

/** A load of `urls` with the request headers it needs. */
interface LoadTarget {
  urls: () => string;
  headers: Record<string, string>;
}

/**
 * The static reference and `target` in three alternating rounds of a third of `bounds` each,
 * pooled per kind, so that other load on the machine hits both alike.
 */
async function alternateWithStatic(
  bounds: LoadOptions,
  staticUrls: () => string,
  target: LoadTarget,
): Promise<{ reference: LoadResult; measured: LoadResult }> {
  const staticRuns: LoadResult[] = [];
  const runs: LoadResult[] = [];
  const third = {
    ...bounds,
    maxRequests: Math.ceil(bounds.maxRequests / 3),
    maxMs: Math.ceil(bounds.maxMs / 3),
  };
  for (let round = 0; round < 3; round++) {
    staticRuns.push(await load(staticUrls, third));
    runs.push(await load(target.urls, { ...third, headers: target.headers }));
  }
  return { reference: merge(staticRuns), measured: merge(runs) };
}

/**
 * Warm state without the response cache: extraction and encoding on every request, over
 * regions in turn (after one untimed round of them).
 */
async function noResponseCacheLoad(bench: ApiBench): Promise<LoadResult> {
  const { runId, warmTick } = bench;
  const noResp = await startService(bench, { cacheResponseBytes: 0 });
  let k = 0;
  const regionUrl = () =>
    `${noResp.url}/api/runs/${runId}/world/${warmTick}?region=${REGIONS[k++ % REGIONS.length]}`;
  await load(regionUrl, { concurrency: 1, maxRequests: 4, maxMs: 60000, headers: PB });
  return await load(regionUrl, { ...bench.bounds, headers: PB });
}

/** The warm world region as JSON, from the warm service. */
async function jsonWorldLoad(bench: ApiBench, api: ApiService): Promise<LoadResult> {
  const { runId, warmTick } = bench;
  return await load(() => `${api.url}/api/runs/${runId}/world/${warmTick}?${REGION}`, {
    ...bench.bounds,
    headers: JSON_NO_COMPRESS,
  });
}

/** p50, p95 and requests/s of one load; the rate relative to `ratioOf`'s when given. */
function loadFigures(name: string, r: LoadResult, ratioOf?: LoadResult): Figure[] {
  const f: Figure = {
    name: `${name}: requests/s`,
    value: r.requests / r.seconds,
    unit: "1/s",
  };
  if (ratioOf !== undefined) {
    f.ratio = (r.requests / r.seconds) / (ratioOf.requests / ratioOf.seconds);
    f.ratioOf = "static";
  }
  return [
    { name: `${name}: p50`, value: r.p50, unit: "ms" },
    { name: `${name}: p95`, value: r.p95, unit: "ms" },
    f,
  ];
}

/** Every load of one run, for {@link apiFigures}. */
interface ApiMeasurements {
  world: { reference: LoadResult; measured: LoadResult };
  cold: LoadResult;
  /** Latencies with nothing cached, ms ascending. */
  fresh: number[];
  noResponseCache: LoadResult;
  json: LoadResult;
  organisms: { reference: LoadResult; measured: LoadResult };
  /** Bytes of the world region answer. */
  size: number;
}

/** The table, in its order: each warm load beside its static reference. */
function apiFigures(m: ApiMeasurements): Figure[] {
  const staticResult = m.world.reference;
  return [
    ...loadFigures("static bytes (same length)", staticResult),
    ...loadFigures("world, warm (same tick and region repeated)", m.world.measured, staticResult),
    ...loadFigures("world, cold (first request per tick, fresh caches, sequential)", m.cold),
    {
      name: "world, cold with nothing cached: p50",
      value: percentile(m.fresh, 0.5),
      unit: "ms",
    },
    ...loadFigures(
      "world, state cached, response cache off (extract + encode)",
      m.noResponseCache,
      staticResult,
    ),
    ...loadFigures("world JSON, warm", m.json, staticResult),
    ...loadFigures("static bytes (organisms answer's length)", m.organisms.reference),
    ...loadFigures("organisms at tick, warm", m.organisms.measured, m.organisms.reference),
    { name: "world region answer (protobuf)", value: m.size, unit: "B" },
    { name: "organisms answer (JSON)", value: m.organisms.measured.bytes, unit: "B" },
  ];
}

/** Every load against the stored run, in the order they run. */
async function measureApi(bench: ApiBench): Promise<ApiMeasurements> {
  const cold = await coldLoad(bench);
  const fresh = await freshLatencies(bench);
  const warm = await warmService(bench);
  const { worldUrl, orgUrl } = warm;
  const staticServer = serveStatic(warm.size, warm.orgSize);
  bench.started.staticServer = staticServer;
  const staticUrl = `http://127.0.0.1:${staticServer.addr.port}/static`;
  const world = await alternateWithStatic(bench.bounds, () => staticUrl, {
    urls: () => worldUrl,
    headers: PB,
  });
  const noResponseCache = await noResponseCacheLoad(bench);
  const json = await jsonWorldLoad(bench, warm.api);
  const organisms = await alternateWithStatic(bench.bounds, () => `${staticUrl}-organisms`, {
    urls: () => orgUrl,
    headers: JSON_NO_COMPRESS,
  });
  return { world, cold, fresh, noResponseCache, json, organisms, size: warm.size };
}

/** The benchmark suite. */
export function apiBenchmark(options: ApiBenchOptions = {}): Suite {
  const ticks = options.ticks ?? 600;
  const concurrency = options.concurrency ?? 8;
  const bounds = {
    concurrency,
    maxRequests: options.maxRequests ?? 4000,
    maxMs: options.maxMs ?? 4000,
  };
  return {
    name: `query API: 256x256 region of a 1024x1024 world (100 ancestors, ${ticks} ticks), ` +
      `${concurrency} concurrent loopback clients`,
    async run(): Promise<Figure[]> {
      const root = await Deno.makeTempDir({ prefix: "evochora-api-bench-" });
      const started: Started = { services: [] };
      try {
        const runId = await makeRun(root, {
          ticks,
          engine: { shape: [1024, 1024], seed: 42, programs: [ancestorPlacement(100, 20000)] },
        });
        const storage = await FilesystemStorage.open({ root });
        started.storage = storage;
        const sampled = Array.from({ length: Math.floor(ticks / 10) + 1 }, (_, i) => i * 10);
        const warmTick = sampled[Math.floor(sampled.length / 2)]!;
        const bench: ApiBench = { storage, runId, sampled, warmTick, bounds, started };
        return apiFigures(await measureApi(bench));
      } finally {
        for (const s of started.services) await s.stop();
        await started.staticServer?.shutdown();
        await started.storage?.close();
        await Deno.remove(root, { recursive: true });
      }
    },
  };
}

/** The default suite, for bench/main.ts. */
export const apiThroughput: Suite = apiBenchmark();

if (import.meta.main) {
  await runSuites([apiBenchmark()]);
}
