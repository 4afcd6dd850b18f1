/**
 * The query API as a Hono app: runs, ticks, world regions (JSON or protobuf), organisms,
 * lineage, statistics, Parquet exports, pipeline status, Prometheus metrics, live progress
 * (SSE), the OpenAPI document and the web client's files.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { streamSSE } from "hono/streaming";
import type { Storage } from "../../resources/storage/storage.ts";
import type { PipelineStatus } from "../runner/pipeline.ts";
import type {
  LiveProgress,
  OrganismsResponse,
  PipelineResponse,
  RunsResponse,
} from "./api_types.ts";
import { cacheFamilies, pipelineFamilies, RequestCounters } from "./api_metrics.ts";
import { ApiHttpError, badParameter, INTERNAL_ERROR, notFound } from "./errors.ts";
import { etagMatches, strongEtag } from "./etag.ts";
import { IndexData } from "./index_data.ts";
import type { IndexReader } from "./index_reader.ts";
import { buildLineage, LineageSource } from "./lineage.ts";
import { type LiveProvider, ProgressTracker } from "./live_progress.ts";
import { LruCache } from "./lru_cache.ts";
import { openApiDocument } from "./openapi.ts";
import { organismDetail, organismSummary } from "./organisms.ts";
import {
  parseNameList,
  parseNonNegativeInt,
  parseOrganismId,
  parseRegion,
  parseRunId,
  parseTick,
  printable,
} from "./params.ts";
import { EXPORT_TABLES, type ExportTable, parquetExport } from "./parquet_export.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";
import { RunStore, type RunView } from "./run_store.ts";
import { runDetail, runSummary, ticksResponse } from "./run_summary.ts";
import { StaticFiles } from "./static_files.ts";
import { STATS_METRICS, statsSeries } from "./stats_series.ts";
import { encodeRegionJson, encodeRegionProto, extractRegion } from "./world_region.ts";

/** The pipeline's status, as the runner reports it; `mode` defaults to "in-process". */
export type PipelineProvider = () => PipelineStatus & { mode?: PipelineResponse["mode"] };

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Where the runs are. */
  storage: Storage;
  /** The pipeline's status, when the API runs beside it; absent: serve mode. */
  pipeline?: PipelineProvider;
  /** The running engine's progress, when the API runs beside it. */
  live?: LiveProvider;
  /** Directory of the built web client, served at `/`; absent: a small text page. */
  webRoot?: string;
  /** Decoded chunks kept in memory. Default 32. */
  cacheChunks?: number;
  /** Encoded bytes of the decoded chunks kept (decoded, they take a few times more). Default 128 MiB. */
  cacheChunkBytes?: number;
  /** Bytes of decompressed batches kept. Default 256 MiB. */
  cacheBatchBytes?: number;
  /** Bytes of replayed world states kept. Default 256 MiB. */
  cacheStateBytes?: number;
  /** Bytes of encoded immutable answers (world regions, organisms) kept. Default 64 MiB. */
  cacheResponseBytes?: number;
  /** How long storage listings are reused, ms. Default 1000. */
  listingTtlMs?: number;
  /** Longest gap between two live progress events, ms. Default 1000. */
  liveIntervalMs?: number;
  /** Largest world region per request, in cells. Default 2^22. */
  maxRegionCells?: number;
  /** Most lineage nodes per answer. Default 20000. */
  maxLineageNodes?: number;
  /** Index reader; default reads the indexers' files from `storage`. */
  index?: IndexReader;
  /** Where unexpected errors are logged. Default console.error. */
  log?: (message: string) => void;
  /** Ends open live streams when aborted (a server cannot shut down while they run). */
  signal?: AbortSignal;
}

/** The app and the parts a service reports on. */
export interface ApiApp {
  app: Hono;
  store: RunStore;
  counters: RequestCounters;
}

const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * Cache-Control of a stored tick's answer: immutable under a run id; `latest` names another
 * run once a newer one starts, so clients must revalidate (the ETag names the run).
 */
function tickCaching(c: Context): string {
  return c.req.param("run") === "latest" ? "no-cache" : IMMUTABLE;
}
const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json; charset=utf-8";

/** Whether the client asks for protobuf (Accept names it, with a non-zero quality). */
export function wantsProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.trim().split(";").map((s) => s.trim());
    if (type !== PROTOBUF && type !== "application/protobuf") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function rootPage(): string {
  return [
    "Evochora query API",
    "",
    "No web client is configured (webRoot). Endpoints:",
    ...Object.keys(openApiDocument().paths).map((p) => `  ${p}`),
    "",
    "OpenAPI document: /api/openapi.json",
    "",
  ].join("\n");
}

/** Builds the app with its store and counters (for services that report on them). */
export function buildApi(options: AppOptions): ApiApp {
  const storeOptions: ConstructorParameters<typeof RunStore>[0] = { storage: options.storage };
  if (options.index !== undefined) storeOptions.index = options.index;
  if (options.listingTtlMs !== undefined) storeOptions.listingTtlMs = options.listingTtlMs;
  if (options.cacheChunks !== undefined) storeOptions.cacheChunks = options.cacheChunks;
  if (options.cacheChunkBytes !== undefined) storeOptions.cacheChunkBytes = options.cacheChunkBytes;
  if (options.cacheBatchBytes !== undefined) storeOptions.cacheBatchBytes = options.cacheBatchBytes;
  if (options.cacheStateBytes !== undefined) storeOptions.cacheStateBytes = options.cacheStateBytes;
  const store = new RunStore(storeOptions);
  const index = new IndexData({
    reader: store.index,
    ...(options.listingTtlMs === undefined ? {} : { listingTtlMs: options.listingTtlMs }),
  });
  const lineage = new LineageSource(store, index);
  const counters = new RequestCounters();
  const responses = new LruCache<string, { body: Uint8Array<ArrayBuffer>; type: string }>({
    name: "responses",
    maxBytes: options.cacheResponseBytes ?? 64 * 2 ** 20,
    sizeOf: (r) => r.body.byteLength,
  });
  const log = options.log ?? ((m: string) => console.error(m));
  const maxRegionCells = options.maxRegionCells ?? 1 << 22;
  const liveInterval = options.liveIntervalMs ?? 1000;
  const web = options.webRoot === undefined ? undefined : new StaticFiles(options.webRoot);

  const pipelineResponse = (): PipelineResponse => {
    if (options.pipeline === undefined) {
      return {
        mode: "serve",
        services: [],
        resources: [{ name: "storage", kind: "storage", description: options.storage.description }],
      };
    }
    const s = options.pipeline();
    return { mode: s.mode ?? "in-process", services: s.services, resources: s.resources };
  };

  const runView = async (c: Context): Promise<RunView> => {
    const info = await store.resolve(parseRunId(c.req.param("run")));
    return await store.view(info);
  };

  // Answers already built, by exact URL and format: a warm request skips parsing, listing and
  // hashing. Valid because a stored tick's answer never changes; never used for `latest`.
  const byUrl = new LruCache<string, string>({ name: "url_index", maxEntries: 20000 });
  const urlKey = (c: Context, format: string): string | null =>
    c.req.param("run") === "latest" ? null : `${format} ${c.req.url}`;

  const tickHeaders = (c: Context, etag: string): Record<string, string> => ({
    "etag": etag,
    "cache-control": tickCaching(c),
    "vary": "Accept",
  });

  /** The answer built before for this URL and format, or null. */
  const builtBefore = (c: Context, format: string): Response | null => {
    const key = urlKey(c, format);
    if (key === null || !byUrl.has(key)) return null;
    const etag = byUrl.get(key)!;
    const headers = tickHeaders(c, etag);
    if (etagMatches(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
    if (!responses.has(etag)) return null;
    const cached = responses.get(etag)!;
    headers["content-type"] = cached.type;
    return c.body(cached.body, 200, headers);
  };

  /** Answers a stored tick's body: 304 on a matching ETag, else from the response cache. */
  const immutable = async (
    c: Context,
    format: string,
    etag: string,
    type: string,
    build: () => Promise<Uint8Array<ArrayBuffer>>,
  ): Promise<Response> => {
    const headers = tickHeaders(c, etag);
    if (etagMatches(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
    const cached = await responses.getOrLoad(etag, async () => ({ body: await build(), type }));
    const key = urlKey(c, format);
    if (key !== null) byUrl.set(key, etag);
    headers["content-type"] = cached.type;
    return c.body(cached.body, 200, headers);
  };

  const app = new Hono();

  app.use("*", async (c, next) => {
    const t = performance.now();
    // Before next(): Hono adds it as the answer is made (after, it would copy the Response).
    c.header("x-content-type-options", "nosniff");
    await next();
    const route = routePath(c, -1);
    counters.count(
      route === "*" || route === "/*" ? "(unmatched)" : route,
      c.req.method,
      c.res.status,
      (performance.now() - t) / 1000,
    );
  });

  app.onError((err, c) => {
    if (err instanceof ApiHttpError) return c.json(err.body(), err.status);
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: { code: "bad_request", message: err.message } }, err.status);
    }
    log(`api: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json(INTERNAL_ERROR, 500);
  });

  app.notFound(async (c) => {
    const method = c.req.method;
    if (
      web !== undefined && (method === "GET" || method === "HEAD") &&
      !c.req.path.startsWith("/api/")
    ) {
      const file = await web.serve(c.req.path);
      if (file !== null) return file;
    }
    return c.json(
      notFound(`No route ${method} ${printable(c.req.path, 200)}; see /api/openapi.json`).body(),
      404,
    );
  });

  app.get("/", async (c) => {
    if (web !== undefined) {
      const file = await web.serve("/");
      if (file !== null) return file;
    }
    return c.text(rootPage());
  });

  app.get("/api/openapi.json", (c) => c.json(openApiDocument()));

  app.get("/api/runs", async (c) => {
    const infos = await store.runs();
    const runs = await Promise.all(
      infos.map(async (info) => runSummary(store, await store.view(info))),
    );
    const body: RunsResponse = { runs };
    return c.json(body);
  });

  app.get("/api/runs/:run", async (c) => c.json(await runDetail(store, await runView(c))));

  app.get("/api/runs/:run/ticks", async (c) => c.json(ticksResponse(store, await runView(c))));

  app.get("/api/runs/:run/world/:tick", async (c) => {
    const proto = wantsProtobuf(c.req.header("accept"));
    const format = proto ? "pb" : "json";
    const before = builtBefore(c, format);
    if (before !== null) return before;
    const view = await runView(c);
    const tick = parseTick(c.req.param("tick"));
    const { info } = view;
    const region = parseRegion(c.req.query("region"), info.shape, maxRegionCells);
    store.locate(view, tick);
    const etag = strongEtag([
      "world",
      info.runId,
      info.startedAtMs,
      tick,
      region.origin.join(","),
      region.size.join(","),
      format,
    ]);
    return await immutable(c, format, etag, proto ? PROTOBUF : JSON_TYPE, async () => {
      const state = await store.state(view, tick);
      const answer = {
        runId: info.runId,
        tick,
        shape: info.shape,
        region,
        cells: extractRegion(state.cells, state.owners, info.shape, region),
      };
      return proto ? encodeRegionProto(answer) : encodeRegionJson(answer);
    });
  });

  app.get("/api/runs/:run/organisms/:tick", async (c) => {
    const before = builtBefore(c, "json");
    if (before !== null) return before;
    const view = await runView(c);
    const tick = parseTick(c.req.param("tick"));
    const { info } = view;
    store.locate(view, tick);
    const etag = strongEtag(["organisms", info.runId, info.startedAtMs, tick]);
    return await immutable(c, "json", etag, JSON_TYPE, async () => {
      const sample = await store.sample(view, tick);
      const body: OrganismsResponse = {
        runId: info.runId,
        tick,
        organisms: sample.organisms.map((o) => organismSummary(o, info.shape.length)),
      };
      return new TextEncoder().encode(JSON.stringify(body));
    });
  });

  app.get("/api/runs/:run/organisms/:tick/:id", async (c) => {
    const view = await runView(c);
    const tick = parseTick(c.req.param("tick"));
    const id = parseOrganismId(c.req.param("id"));
    const sample = await store.sample(view, tick);
    const o = sample.organisms.find((o) => o.id === id);
    if (o === undefined) {
      throw notFound(`No organism ${id} at tick ${tick} of run '${view.info.runId}'`);
    }
    c.header("cache-control", tickCaching(c));
    return c.json(organismDetail(o, tick, view.info.shape.length));
  });

  app.get("/api/runs/:run/lineage", async (c) => {
    const view = await runView(c);
    const root = parseNonNegativeInt("root", c.req.query("root"), {
      fallback: 0,
      max: 0x7fffffff,
    });
    const depth = parseNonNegativeInt("depth", c.req.query("depth"), {
      fallback: 16,
      max: 100000,
    });
    const records = await lineage.records(view);
    return c.json(buildLineage(view.info.runId, records, {
      root,
      depth,
      maxNodes: options.maxLineageNodes ?? 20000,
    }));
  });

  app.get("/api/runs/:run/stats", async (c) => {
    const view = await runView(c);
    const metrics = parseNameList("metrics", c.req.query("metrics"), STATS_METRICS);
    const from = parseNonNegativeInt("from", c.req.query("from"), { fallback: 0 });
    const to = parseNonNegativeInt("to", c.req.query("to"), {
      fallback: Number.MAX_SAFE_INTEGER,
    });
    if (to < from) throw badParameter("to", `Parameter 'to' (${to}) is before 'from' (${from})`);
    const maxPoints = parseNonNegativeInt("maxPoints", c.req.query("maxPoints"), {
      fallback: 2000,
      min: 1,
      max: 1_000_000,
    });
    return c.json(
      await statsSeries(index, view.info.runId, {
        metrics: metrics as typeof STATS_METRICS[number][],
        from,
        to,
        maxPoints,
      }),
    );
  });

  app.get("/api/runs/:run/export/:file", async (c) => {
    const view = await runView(c);
    const file = c.req.param("file");
    const table = file.endsWith(".parquet") ? file.slice(0, -".parquet".length) : "";
    if (!(EXPORT_TABLES as readonly string[]).includes(table)) {
      throw badParameter(
        "table",
        `Unknown export '${printable(file)}'; valid: ${
          EXPORT_TABLES.map((t) => `${t}.parquet`).join(", ")
        }`,
      );
    }
    const exp = await parquetExport(index, view.info.runId, table as ExportTable);
    const headers = { "etag": exp.etag, "cache-control": "no-cache" };
    if (etagMatches(c.req.header("if-none-match"), exp.etag)) return c.body(null, 304, headers);
    return c.body(exp.stream(), 200, {
      ...headers,
      "content-type": "application/vnd.apache.parquet",
      "content-disposition": `attachment; filename="${exp.filename}"`,
    });
  });

  app.get("/api/runs/:run/live", async (c) => {
    const view = await runView(c);
    const tracker = new ProgressTracker(store, view.info, options.live);
    const first = await tracker.progress();
    const closed = new AbortController();
    // A client that goes away cancels the response body, which aborts the stream (onAbort
    // below); request.signal is not used, since Deno also aborts it after normal responses.
    const signals = [options.signal].filter((s) => s !== undefined);
    const onAbort = () => closed.abort();
    for (const s of signals) {
      if (s.aborted) closed.abort();
      else s.addEventListener("abort", onAbort, { once: true });
    }
    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          closed.signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        closed.signal.addEventListener("abort", done, { once: true });
      });
    const same = (a: LiveProgress, b: LiveProgress) =>
      a.tick === b.tick && a.maxStoredTick === b.maxStoredTick && a.batches === b.batches &&
      a.organismsAlive === b.organismsAlive;
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => closed.abort());
      let sent = first;
      let sentAt = performance.now();
      await stream.writeSSE({ event: "progress", data: JSON.stringify(first) });
      try {
        // Polls four times per interval: sends on change, and at least once per interval.
        while (!closed.signal.aborted) {
          await pause(liveInterval / 4);
          if (closed.signal.aborted) break;
          const p = await tracker.progress();
          if (!same(p, sent) || performance.now() - sentAt >= liveInterval) {
            await stream.writeSSE({ event: "progress", data: JSON.stringify(p) });
            sent = p;
            sentAt = performance.now();
          }
        }
      } finally {
        for (const s of signals) s.removeEventListener("abort", onAbort);
      }
    }, (e) => {
      log(`api: live progress of ${view.info.runId}: ${e.stack ?? e.message}`);
      return Promise.resolve();
    });
  });

  app.get("/api/pipeline", (c) => c.json(pipelineResponse()));

  app.get("/metrics", (c) => {
    const text = renderPrometheus([
      ...pipelineFamilies(pipelineResponse()),
      ...counters.families(),
      ...cacheFamilies([
        ...store.cacheStats(),
        ...index.cacheStats(),
        responses.stats(),
        byUrl.stats(),
      ]),
    ]);
    return c.body(text, 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });

  return { app, store, counters };
}

/** The query API as a Hono app; serve it with `Deno.serve(app.fetch)` or {@link ApiService}. */
export function createApp(options: AppOptions): Hono {
  return buildApi(options).app;
}
