/**
 * The OpenAPI 3.1 document of the query API, written by hand beside api_types.ts. It states
 * the limits params.ts and the routes enforce (a test requests each bound and one past it),
 * and schemathesis checks the server against it in CI (tests/integration/schemathesis_test.ts).
 * A test checks that every registered route appears here.
 *
 * @module
 */

import { RUN_ID_PATTERN } from "../common/storage_layout.ts";
import { STATS_METRICS } from "./stats_series.ts";

/** The largest tick, `from` and `to`: params.ts accepts up to 2^53 - 1. */
export const MAX_TICK = Number.MAX_SAFE_INTEGER;
/** The largest organism id (`id`, `root`): an int32. */
export const MAX_ORGANISM_ID = 0x7fffffff;
/** The most lineage levels (`depth`). */
export const MAX_LINEAGE_DEPTH = 100000;
/** The most points of a stats series (`maxPoints`). */
export const MAX_STATS_POINTS = 1_000_000;

// What String.prototype.trim removes, spelled out: `\s` differs between regex dialects, and the
// document must accept exactly what params.ts accepts.
const WS =
  "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]*";

/** A JSON value (the document is plain data). */

/** A JSON value (the document is plain data). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The parts of the document the tests and the root page read. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
  components: {
    schemas: Record<string, Json>;
    parameters: Record<string, Json>;
    securitySchemes: Record<string, Json>;
  };
  [key: string]: Json;
}

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** The server has an access token: every operation requires the bearer scheme. */
  token?: boolean;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const int = { type: "integer" };
const num = { type: "number" };
const str = { type: "string" };
const ints = { type: "array", items: int };
const vecs = { type: "array", items: ints };
const strs = { type: "array", items: str };
const nullableInt = { type: ["integer", "null"] };

function obj(properties: Record<string, Json>, optional: string[] = []): Json {
  return {
    type: "object",
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
  };
}

function json(schema: Json, description: string): Json {
  return { description, content: { "application/json": { schema } } };
}

/** Errors an operation answers besides those of every request (see {@link errors}). */
type ErrorStatus = 404 | 502;

const ERROR_TEXT: Record<ErrorStatus, string> = {
  404: "Unknown run, tick (error.nearestTicks lists the nearest sampled ticks), organism or " +
    "index (code not_found or no_index)",
  502: "Stored data cannot be read (code unreadable_run: the run's metadata; code " +
    "corrupt_batch: the batch that holds the tick, its key and byte offset in the message)",
};

/** The error answers of an operation: `codes`, and those any request may get. */
function errors(...codes: ErrorStatus[]): Record<string, Json> {
  const out: Record<string, Json> = {
    "400": json(
      ref("ApiError"),
      "A parameter is malformed or out of range (code bad_parameter; error.parameter names " +
        "it), or the request has no valid Host header (code bad_host)",
    ),
    "401": {
      ...json(
        ref("ApiError"),
        "The server has an access token and the request does not carry it (code unauthorized)",
      ) as Record<string, Json>,
      headers: { "WWW-Authenticate": { description: 'Bearer realm="evochora"', schema: str } },
    },
    "414": json(
      ref("ApiError"),
      "The URL is longer than 4096 characters (code uri_too_long); a query parameter longer " +
        "than 1024 characters, or more than 32 of them, answer 400",
    ),
    "421": json(
      ref("ApiError"),
      "The server is bound to loopback and the Host header names another host (code " +
        "misdirected_request): a guard against DNS rebinding",
    ),
  };
  for (const code of codes) out[String(code)] = json(ref("ApiError"), ERROR_TEXT[code]);
  out["500"] = json(ref("ApiError"), "Internal error (code internal; no details: see the API log)");
  return out;
}

function get(
  summary: string,
  parameters: Json[],
  responses: Record<string, Json>,
): Record<string, Json> {
  return { get: { summary, parameters, responses } };
}

/**
 * A non-negative integer in the query. params.ts reads an empty value as an absent one, so
 * the document allows it (`allowEmptyValue`).
 */
function intQuery(
  name: string,
  description: string,
  minimum: number,
  maximum: number,
  fallback?: number,
): Json {
  const schema: Record<string, Json> = { type: "integer", minimum, maximum };
  if (fallback !== undefined) schema.default = fallback;
  return { name, in: "query", required: false, description, allowEmptyValue: true, schema };
}

const ifNoneMatch: Json = {
  name: "If-None-Match",
  in: "header",
  required: false,
  description: "An ETag of an earlier answer: 304 when it still matches",
  schema: str,
};

const immutableHeaders: Json = {
  ETag: { description: "Strong entity tag of the answer", schema: str },
  "Cache-Control": {
    description: "public, max-age=31536000, immutable (no-cache under run `latest`)",
    schema: str,
  },
};

/** One server-sent event as schemathesis and OpenAPI 3.2 read a `text/event-stream` schema. */
function sseEvent(event: string, schema: string, description: string): Json {
  return {
    type: "object",
    description,
    properties: {
      event: { const: event },
      data: { type: "string", contentMediaType: "application/json", contentSchema: ref(schema) },
      id: str,
      retry: { type: "integer", minimum: 0 },
    },
    required: ["event", "data"],
  };
}

/** The events of the live stream: progress events, and one `end` once the run is finished. */
const liveEvent: Json = {
  oneOf: [
    sseEvent("progress", "LiveProgress", "`event: progress`, `data:` a LiveProgress as JSON"),
    sseEvent(
      "end",
      "LiveEnd",
      "`event: end`, `data:` a LiveEnd as JSON: the run is finished; the server closes the stream",
    ),
  ],
};

/** The run states (services/common/run_state.ts). */
const runState: Json = {
  type: "string",
  enum: ["running", "finished", "incomplete", "corrupt"],
  description: "running: no end record yet and recent progress; finished: its end record is " +
    "stored and what it names is there; incomplete: no end record and no progress (the run " +
    "died; it can only be continued); corrupt: stored data cannot be read, or is lost",
};

/** A comma-separated list of `names`, as params.ts's parseNameList accepts it. */
function namesPattern(names: readonly string[]): string {
  const name = `${WS}(?:${names.join("|")})${WS}`;
  return `^${name}(?:,${name})*$`;
}

/** The document; with `token`, every operation requires the bearer token. */
export function openApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const runSummary = {
    runId: str,
    state: runState,
    stateReason: { type: "string", description: "Why the run is in its state, in one line" },
    endTick: { ...nullableInt, description: "The tick the run's end record names" },
    lastActivityMs: {
      ...nullableInt,
      description: "When the run last stored something, ms since the epoch",
    },
    startedAtMs: int,
    seed: { type: "string", description: "64-bit seed in decimal" },
    shape: ints,
    topology: { type: "string", enum: ["torus", "bounded"] },
    minTick: nullableInt,
    maxTick: nullableInt,
    batches: int,
    storedBytes: int,
  };
  const organismSummary = {
    id: int,
    parentId: int,
    birthTick: int,
    generation: int,
    energy: int,
    entropy: int,
    ip: ints,
    dv: ints,
    genomeHash: int,
    bodySize: int,
    children: int,
    alive: { type: "boolean" },
    lastInstruction: str,
    lastFailed: { type: "boolean" },
  };
  const keyReason = { type: "array", items: obj({ key: str, reason: str }) };
  const paths: Record<string, Record<string, Json>> = {
    "/": get("The web client (index.html), or a text page listing the endpoints", [{
      name: "token",
      in: "query",
      required: false,
      description: "Opens the web client with the access token: answered 303 to the same " +
        "page without it, with an HttpOnly cookie that carries it from then on",
      schema: str,
    }], {
      "200": {
        description: "HTML or text",
        content: { "text/html": { schema: str }, "text/plain": { schema: str } },
      },
      "303": {
        description: "The token was right: the page again, without it in the address",
        headers: {
          Location: { schema: str },
          "Set-Cookie": { description: "evochora_token (HttpOnly, SameSite=Lax)", schema: str },
        },
      },
      ...errors(),
    }),
    "/api/openapi.json": get("This document", [], {
      "200": json({ type: "object" }, "OpenAPI 3.1"),
      ...errors(),
    }),
    "/api/runs": get("Runs in storage, newest first", [], {
      "200": json(ref("RunsResponse"), "The runs"),
      ...errors(),
    }),
    "/api/runs/{run}": get("A run's metadata and extent", [param("run")], {
      "200": json(ref("RunDetail"), "The run"),
      ...errors(404, 502),
    }),
    "/api/runs/{run}/ticks": get("The run's sampled ticks", [param("run")], {
      "200": json(ref("TicksResponse"), "Ticks, ascending"),
      ...errors(404, 502),
    }),
    "/api/runs/{run}/world/{tick}": get(
      "A box of the world at a sampled tick: JSON, or with `Accept: application/x-protobuf` " +
        "the evochora.v1.WorldRegion message (proto/evochora/v1/tick.proto)",
      [param("run"), param("tick"), {
        name: "region",
        in: "query",
        required: false,
        description: "First corner (inclusive) then second corner (exclusive), 2n integers " +
          "for an n-dimensional world, e.g. x0,y0,x1,y1; each start below its end, each end " +
          "at most the world's size there, at most 2^22 cells (else 400). Default: the " +
          "whole world.",
        schema: { type: "string", pattern: `^${WS}[0-9]{1,9}${WS}(?:,${WS}[0-9]{1,9}${WS})+$` },
      }, ifNoneMatch],
      {
        "200": {
          description: "The region's non-empty or owned cells",
          headers: immutableHeaders,
          content: {
            "application/json": { schema: ref("WorldResponse") },
            "application/x-protobuf": {
              schema: { type: "string", contentMediaType: "application/x-protobuf" },
            },
          },
        },
        "304": { description: "Not modified (If-None-Match matched the ETag)" },
        ...errors(404, 502),
      },
    ),
    "/api/runs/{run}/organisms/{tick}": get(
      "Organisms at a sampled tick (the living, and those that died since the previous sample)",
      [param("run"), param("tick"), ifNoneMatch],
      {
        "200": {
          description: "The organisms",
          headers: immutableHeaders,
          content: { "application/json": { schema: ref("OrganismsResponse") } },
        },
        "304": { description: "Not modified" },
        ...errors(404, 502),
      },
    ),
    "/api/runs/{run}/organisms/{tick}/{id}": get(
      "One organism's full state at a sampled tick",
      [param("run"), param("tick"), {
        name: "id",
        in: "path",
        required: true,
        description: "Organism id",
        schema: { type: "integer", minimum: 1, maximum: MAX_ORGANISM_ID },
      }],
      { "200": json(ref("OrganismDetail"), "The organism"), ...errors(404, 502) },
    ),
    "/api/runs/{run}/lineage": get(
      "The family tree below an organism (organisms index; unindexed batches are scanned, " +
        "unreadable ones skipped and listed)",
      [
        param("run"),
        intQuery(
          "root",
          "Organism id; 0 (default) is the run: a synthetic node (generation -1) above the " +
            "placed organisms and any organism whose parent was never sampled",
          0,
          MAX_ORGANISM_ID,
          0,
        ),
        intQuery("depth", "Levels below the root", 0, MAX_LINEAGE_DEPTH, 16),
      ],
      { "200": json(ref("LineageResponse"), "The tree"), ...errors(404, 502) },
    ),
    "/api/runs/{run}/stats": get(
      "Metric series from the stats index, downsampled by bucket means",
      [
        param("run"),
        {
          name: "metrics",
          in: "query",
          required: false,
          description: "Comma-separated metric names; default all",
          schema: { type: "string", minLength: 1, pattern: namesPattern(STATS_METRICS) },
        },
        intQuery("from", "First tick (inclusive)", 0, MAX_TICK, 0),
        intQuery(
          "to",
          "Last tick (inclusive), not before `from` (else 400); default: the last",
          0,
          MAX_TICK,
        ),
        intQuery("maxPoints", "Most points per series", 1, MAX_STATS_POINTS, 2000),
      ],
      { "200": json(ref("StatsResponse"), "The series"), ...errors(404, 502) },
    ),
    "/api/runs/{run}/export/{file}": get(
      "One table of the run as a single Parquet file (the per-batch index files merged)",
      [param("run"), {
        name: "file",
        in: "path",
        required: true,
        schema: { type: "string", enum: ["stats.parquet", "organisms.parquet"] },
      }, ifNoneMatch],
      {
        "200": {
          description: "Parquet",
          headers: { ETag: { schema: str } },
          content: { "application/vnd.apache.parquet": { schema: { type: "string" } } },
        },
        "304": { description: "Not modified (no index file added since)" },
        ...errors(404, 502),
      },
    ),
    "/api/runs/{run}/live": get(
      "The run's progress as server-sent events (text/event-stream): `event: progress` with " +
        "a LiveProgress as JSON data, on change and at least every second, until the run is " +
        "finished (then one `event: end` with a LiveEnd, and the server closes the stream) or " +
        "the client disconnects",
      [param("run")],
      {
        "200": {
          description: "Event stream",
          content: { "text/event-stream": { schema: liveEvent } },
        },
        ...errors(404, 502),
      },
    ),
    "/api/pipeline": get("Pipeline services and resources", [], {
      "200": json(ref("PipelineResponse"), "Status"),
      ...errors(),
    }),
    "/metrics": get("Prometheus metrics (text exposition format 0.0.4)", [], {
      "200": { description: "Metrics", content: { "text/plain": { schema: str } } },
      ...errors(),
    }),
  };
  const doc: OpenApiDocument = {
    openapi: "3.1.0",
    info: {
      title: "Evochora query API",
      version: "1.0.0",
      description: "Runs, world states, organisms, lineage and statistics of Evochora runs. " +
        "JSON shapes: services/api/api_types.ts. Errors: ApiError with a 4xx/5xx status. " +
        "Every GET also answers HEAD (the same headers, no body); other methods answer 405 " +
        "with `Allow: GET, HEAD`. A server with an access token needs it on every request " +
        "(bearerAuth); a server bound to loopback answers only requests whose Host names it.",
    },
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "The server's access token (serve --token, or EVOCHORA_API_TOKEN)",
        },
      },
      parameters: {
        run: {
          name: "run",
          in: "path",
          required: true,
          description: "Run id, or `latest` for the run started last",
          schema: {
            type: "string",
            minLength: 1,
            maxLength: 128,
            pattern: RUN_ID_PATTERN.source,
            not: { enum: [".", ".."] },
          },
        },
        tick: {
          name: "tick",
          in: "path",
          required: true,
          description: "A sampled tick",
          schema: { type: "integer", minimum: 0, maximum: MAX_TICK },
        },
      },
      schemas: {
        ApiError: obj({
          error: obj({
            code: {
              type: "string",
              description: "bad_parameter, bad_host (400); unauthorized (401); not_found, " +
                "no_index (404); method_not_allowed (405); misdirected_request (421); " +
                "internal (500); unreadable_run, corrupt_batch (502)",
            },
            message: str,
            parameter: str,
            nearestTicks: ints,
          }, ["parameter", "nearestTicks"]),
        }),
        RunSummary: obj(runSummary),
        RunsResponse: obj({
          runs: { type: "array", items: ref("RunSummary") },
          unreadable: {
            type: "array",
            description: "Runs whose metadata cannot be used, with the reason",
            items: obj({ runId: str, reason: str }),
          },
        }),
        RunDetail: obj({
          ...runSummary,
          intervals: obj({ sampling: int, accumulatedDelta: int, snapshot: int, chunk: int }),
          engineVersion: str,
          moleculeTypes: strs,
          instructionNames: strs,
          programs: {
            type: "array",
            items: obj({
              name: str,
              origin: ints,
              energy: int,
              genomeHash: int,
              cellCount: int,
              source: str,
            }),
          },
          config: { description: "The resolved engine config" },
          problems: {
            ...keyReason,
            description: "Files under the run's raw prefix that are not served",
          },
          gaps: {
            type: "array",
            description: "Ticks between served batches that no batch holds",
            items: obj({ after: int, before: int }),
          },
        }),
        TicksResponse: obj({
          runId: str,
          minTick: nullableInt,
          maxTick: nullableInt,
          samplingInterval: int,
          count: { ...int, description: "How many ticks are sampled" },
          spans: {
            type: "array",
            description:
              "Sampled ticks ascending, as spans: first, first + step, ... (count ticks)",
            items: obj({ first: int, step: { ...int, minimum: 1 }, count: { ...int, minimum: 1 } }),
          },
        }),
        WorldResponse: obj({
          runId: str,
          tick: int,
          shape: ints,
          origin: ints,
          size: ints,
          cells: obj({
            flatIndex: { ...ints, description: "World-flat index, x fastest" },
            molecule: {
              ...ints,
              description: "Packed: bits 0-19 signed value, 20-23 type, 24-27 marker",
            },
            owner: ints,
          }),
        }),
        OrganismSummary: obj(organismSummary),
        OrganismsResponse: obj({
          runId: str,
          tick: int,
          organisms: { type: "array", items: ref("OrganismSummary") },
        }),
        OrganismDetail: obj({
          ...organismSummary,
          tick: int,
          dataPointers: vecs,
          activeDp: int,
          dataRegisters: strs,
          locationRegisters: vecs,
          dataStack: strs,
          locationStack: vecs,
          callStack: vecs,
          marker: int,
          lastInstructionPosition: { type: ["array", "null"], items: int },
          lastCost: int,
          failureReason: str,
          instructionsExecuted: int,
          deathReason: str,
        }),
        LineageNode: obj({
          id: int,
          parentId: int,
          birthTick: int,
          deathTick: nullableInt,
          generation: int,
          genomeHash: int,
          children: { type: "array", items: ref("LineageNode") },
        }),
        LineageResponse: obj({
          runId: str,
          root: ref("LineageNode"),
          truncated: { type: "integer", description: "Organisms left out by depth or size" },
          skipped: { ...keyReason, description: "Batches that could not be read" },
        }, ["skipped"]),
        StatsResponse: obj({
          runId: str,
          metrics: { type: "array", items: { type: "string", enum: [...STATS_METRICS] } },
          ticks: { ...ints, description: "First tick of each bucket" },
          series: { type: "object", additionalProperties: { type: "array", items: num } },
          bucket: { type: "integer", description: "Rows averaged per point (1 = raw)" },
        }),
        PipelineResponse: obj({
          mode: { type: "string", enum: ["serve", "in-process"] },
          services: {
            type: "array",
            items: obj({
              name: str,
              kind: str,
              state: str,
              error: str,
              detail: {
                type: "string",
                description:
                  "What the state is about, e.g. the endpoint a `waiting` service waits for",
              },
              problems: strs,
              metrics: { type: "object", additionalProperties: num },
            }, ["error", "detail", "problems"]),
          },
          resources: {
            type: "array",
            items: obj({
              name: str,
              kind: str,
              description: { type: "string", description: "No absolute paths" },
              stats: { type: "object" },
            }, ["stats"]),
          },
          cluster: {
            ...(obj({
              lostAfterMs: { type: "integer", description: "Silence after which one is lost, ms" },
              services: {
                type: "array",
                items: obj({
                  name: str,
                  kind: str,
                  host: str,
                  pid: int,
                  state: {
                    type: "string",
                    description: "The reported state, or `lost` after lostAfterMs of silence",
                  },
                  reportedState: str,
                  error: str,
                  detail: { type: "string", description: "What the state is about" },
                  metrics: { type: "object", additionalProperties: num },
                  lag: { type: ["number", "null"], description: "Records not yet processed" },
                  lastSeenAt: { type: "integer", description: "ms since the epoch" },
                  ageMs: { type: "integer", description: "ms since last seen" },
                }, ["error", "detail"]),
              },
            }) as Record<string, Json>),
            description: "Every service of the deployment, from the heartbeats on the status " +
              "topic; absent when the config names none",
          },
        }, ["cluster"]),
        LiveEnd: obj({ runId: str, state: { const: "finished" }, endTick: int }),
        LiveProgress: obj({
          runId: str,
          state: runState,
          tick: int,
          maxStoredTick: nullableInt,
          ticksPerSecond: num,
          organismsAlive: int,
          batches: int,
        }),
      },
    },
  };
  if (options.token) doc.security = [{ bearerAuth: [] }];
  return doc;
}
