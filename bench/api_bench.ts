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
      const services: ApiService[] = [];
      let staticServer: Deno.HttpServer<Deno.NetAddr> | undefined;
      try {
        const runId = await makeRun(root, {
          ticks,
          engine: { shape: [1024, 1024], seed: 42, programs: [ancestorPlacement(100, 20000)] },
        });
        const storage = await FilesystemStorage.open({ root });
        const start = async (extra: Partial<ApiServiceOptions> = {}) => {
          const s = new ApiService({ name: "api", storage, port: 0, ...extra });
          await s.start();
          services.push(s);
          return s;
        };
        const pb = { accept: "application/x-protobuf" };
        const region = "region=384,384,640,640";
        const sampled = Array.from({ length: Math.floor(ticks / 10) + 1 }, (_, i) => i * 10);
        const warmTick = sampled[Math.floor(sampled.length / 2)]!;
        const out: Figure[] = [];
        const add = (name: string, r: LoadResult, ratioOf?: LoadResult) => {
          out.push({ name: `${name}: p50`, value: r.p50, unit: "ms" });
          out.push({ name: `${name}: p95`, value: r.p95, unit: "ms" });
          const f: Figure = {
            name: `${name}: requests/s`,
            value: r.requests / r.seconds,
            unit: "1/s",
          };
          if (ratioOf !== undefined) {
            f.ratio = (r.requests / r.seconds) / (ratioOf.requests / ratioOf.seconds);
            f.ratioOf = "static";
          }
          out.push(f);
          return r;
        };

        // Cold: a fresh service, every sampled tick requested once, in order, one at a time.
        const cold = await start();
        let next = 0;
        const coldResult = await load(
          () => `${cold.url}/api/runs/${runId}/world/${sampled[next++ % sampled.length]}?${region}`,
          { concurrency: 1, maxRequests: sampled.length, maxMs: 60000, headers: pb },
        );
        // Cold with nothing cached at all: a fresh service per request (batch read, zstd,
        // decode, replay, extract, encode).
        const fresh: number[] = [];
        for (const t of sampled.slice(0, 8)) {
          // Not kept in `services`: its caches go with it.
          const s = new ApiService({ name: "fresh", storage, port: 0 });
          await s.start();
          const t0 = performance.now();
          await (await fetch(`${s.url}/api/runs/${runId}/world/${t}?${region}`, { headers: pb }))
            .arrayBuffer();
          fresh.push(performance.now() - t0);
          await s.stop();
        }
        fresh.sort((a, b) => a - b);

        const api = await start();
        const worldUrl = `${api.url}/api/runs/${runId}/world/${warmTick}?${region}`;
        const warm = await load(() => worldUrl, { ...bounds, maxRequests: 200, headers: pb });
        const size = warm.bytes;
        const orgUrl = `${api.url}/api/runs/${runId}/organisms/${warmTick}`;
        const orgSize = (await (await fetch(orgUrl)).arrayBuffer()).byteLength;
        // The static references: the same numbers of bytes from a plain Hono route.
        const plain = new Hono();
        for (const [path, n] of [["/static", size], ["/static-organisms", orgSize]] as const) {
          const bytes = new Uint8Array(n).map((_, i) => i & 0xff);
          plain.get(
            path,
            (c) => c.body(bytes, 200, { "content-type": "application/octet-stream" }),
          );
        }
        staticServer = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          plain.fetch,
        );
        const staticUrl = `http://127.0.0.1:${staticServer.addr.port}/static`;

        // Static and warm world alternate in rounds, so that other load on the machine hits
        // both alike.
        const staticRuns: LoadResult[] = [];
        const warmRuns: LoadResult[] = [];
        const third = { ...bounds, maxRequests: Math.ceil(bounds.maxRequests / 3) };
        third.maxMs = Math.ceil(bounds.maxMs / 3);
        for (let round = 0; round < 3; round++) {
          staticRuns.push(await load(() => staticUrl, third));
          warmRuns.push(await load(() => worldUrl, { ...third, headers: pb }));
        }
        const staticResult = add("static bytes (same length)", merge(staticRuns));
        add("world, warm (same tick and region repeated)", merge(warmRuns), staticResult);
        add("world, cold (first request per tick, fresh caches, sequential)", coldResult);
        out.push({
          name: "world, cold with nothing cached: p50",
          value: percentile(fresh, 0.5),
          unit: "ms",
        });
        // Warm state, no response cache: extraction and encoding on every request.
        const noResp = await start({ cacheResponseBytes: 0 });
        const regions = ["0,0,256,256", "256,256,512,512", "384,384,640,640", "768,512,1024,768"];
        let k = 0;
        const regionUrl = () =>
          `${noResp.url}/api/runs/${runId}/world/${warmTick}?region=${
            regions[k++ % regions.length]
          }`;
        await load(regionUrl, { concurrency: 1, maxRequests: 4, maxMs: 60000, headers: pb });
        add(
          "world, state cached, response cache off (extract + encode)",
          await load(regionUrl, { ...bounds, headers: pb }),
          staticResult,
        );
        const jsonNoCompress = { "accept-encoding": "identity" };
        add(
          "world JSON, warm",
          await load(() => `${api.url}/api/runs/${runId}/world/${warmTick}?${region}`, {
            ...bounds,
            headers: jsonNoCompress,
          }),
          staticResult,
        );
        const staticOrgRuns: LoadResult[] = [];
        const orgRuns: LoadResult[] = [];
        for (let round = 0; round < 3; round++) {
          staticOrgRuns.push(await load(() => `${staticUrl}-organisms`, third));
          orgRuns.push(await load(() => orgUrl, { ...third, headers: jsonNoCompress }));
        }
        const staticOrgs = add("static bytes (organisms answer's length)", merge(staticOrgRuns));
        const orgs = add("organisms at tick, warm", merge(orgRuns), staticOrgs);
        out.push({ name: "world region answer (protobuf)", value: size, unit: "B" });
        out.push({ name: "organisms answer (JSON)", value: orgs.bytes, unit: "B" });
        return out;
      } finally {
        for (const s of services) await s.stop();
        await staticServer?.shutdown();
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
