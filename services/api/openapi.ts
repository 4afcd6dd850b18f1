/**
 * The OpenAPI 3.1 document of the query API, written by hand beside api_types.ts. A test
 * checks that every registered route appears here.
 *
 * @module
 */

import { RUN_ID_PATTERN } from "../common/storage_layout.ts";
import { STATS_METRICS } from "./stats_series.ts";

/** A JSON value (the document is plain data). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The parts of the document the tests and the root page read. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; parameters: Record<string, Json> };
  [key: string]: Json;
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

const errors = (...codes: (400 | 404)[]): Record<string, Json> => {
  const out: Record<string, Json> = {};
  for (const code of codes) {
    out[String(code)] = json(
      ref("ApiError"),
      code === 400
        ? "A parameter is malformed or out of range (error.parameter names it)"
        : "Unknown run, tick (error.nearestTicks lists the nearest sampled ticks), organism or index",
    );
  }
  out["500"] = json(ref("ApiError"), "Internal error (no details; see the API log)");
  return out;
};

function get(
  summary: string,
  parameters: Json[],
  responses: Record<string, Json>,
): Record<string, Json> {
  return { get: { summary, parameters, responses } };
}

const immutableHeaders: Json = {
  ETag: { description: "Strong entity tag of the answer", schema: str },
  "Cache-Control": { description: "public, max-age=31536000, immutable", schema: str },
};

/** The document. */
export function openApiDocument(): OpenApiDocument {
  const runSummary = {
    runId: str,
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
  const paths: Record<string, Record<string, Json>> = {
    "/": get("The web client (index.html), or a text page listing the endpoints", [], {
      "200": { description: "HTML or text", content: { "text/html": {}, "text/plain": {} } },
    }),
    "/api/openapi.json": get("This document", [], {
      "200": { description: "OpenAPI 3.1", content: { "application/json": {} } },
    }),
    "/api/runs": get("Runs in storage, newest first", [], {
      "200": json(ref("RunsResponse"), "The runs"),
      ...errors(),
    }),
    "/api/runs/{run}": get("A run's metadata and extent", [param("run")], {
      "200": json(ref("RunDetail"), "The run"),
      ...errors(400, 404),
    }),
    "/api/runs/{run}/ticks": get("The run's sampled ticks", [param("run")], {
      "200": json(ref("TicksResponse"), "Ticks, ascending"),
      ...errors(400, 404),
    }),
    "/api/runs/{run}/world/{tick}": get(
      "A box of the world at a sampled tick: JSON, or with `Accept: application/x-protobuf` " +
        "the evochora.v1.WorldRegion message (proto/evochora/v1/tick.proto)",
      [param("run"), param("tick"), {
        name: "region",
        in: "query",
        required: false,
        description: "First corner (inclusive) then second corner (exclusive), 2n integers " +
          "for an n-dimensional world, e.g. x0,y0,x1,y1. Default: the whole world.",
        schema: { type: "string", pattern: "^\\d+(,\\d+)+$" },
      }, {
        name: "If-None-Match",
        in: "header",
        required: false,
        schema: str,
      }],
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
        ...errors(400, 404),
      },
    ),
    "/api/runs/{run}/organisms/{tick}": get(
      "Organisms at a sampled tick (the living, and those that died since the previous sample)",
      [param("run"), param("tick")],
      {
        "200": {
          description: "The organisms",
          headers: immutableHeaders,
          content: { "application/json": { schema: ref("OrganismsResponse") } },
        },
        "304": { description: "Not modified" },
        ...errors(400, 404),
      },
    ),
    "/api/runs/{run}/organisms/{tick}/{id}": get(
      "One organism's full state at a sampled tick",
      [param("run"), param("tick"), {
        name: "id",
        in: "path",
        required: true,
        schema: { type: "integer", minimum: 1 },
      }],
      { "200": json(ref("OrganismDetail"), "The organism"), ...errors(400, 404) },
    ),
    "/api/runs/{run}/lineage": get(
      "The family tree below an organism (organisms index; unindexed batches are scanned)",
      [param("run"), {
        name: "root",
        in: "query",
        required: false,
        description: "Organism id; 0 (default) is the run: a synthetic node (generation -1) " +
          "above the placed organisms and any organism whose parent was never sampled",
        schema: { type: "integer", minimum: 0, default: 0 },
      }, {
        name: "depth",
        in: "query",
        required: false,
        description: "Levels below the root",
        schema: { type: "integer", minimum: 0, default: 16 },
      }],
      { "200": json(ref("LineageResponse"), "The tree"), ...errors(400, 404) },
    ),
    "/api/runs/{run}/stats": get(
      "Metric series from the stats index, downsampled by bucket means",
      [param("run"), {
        name: "metrics",
        in: "query",
        required: false,
        description: "Comma-separated metric names; default all",
        schema: { type: "string" },
      }, {
        name: "from",
        in: "query",
        required: false,
        schema: { type: "integer", minimum: 0, default: 0 },
      }, {
        name: "to",
        in: "query",
        required: false,
        description: "Inclusive",
        schema: { type: "integer", minimum: 0 },
      }, {
        name: "maxPoints",
        in: "query",
        required: false,
        schema: { type: "integer", minimum: 1, default: 2000 },
      }],
      {
        "200": json(ref("StatsResponse"), "The series"),
        ...errors(400, 404),
      },
    ),
    "/api/runs/{run}/export/{file}": get(
      "One table of the run as a single Parquet file (the per-batch index files merged)",
      [param("run"), {
        name: "file",
        in: "path",
        required: true,
        schema: { type: "string", enum: ["stats.parquet", "organisms.parquet"] },
      }],
      {
        "200": {
          description: "Parquet",
          headers: { ETag: { schema: str } },
          content: { "application/vnd.apache.parquet": { schema: { type: "string" } } },
        },
        "304": { description: "Not modified (no index file added since)" },
        ...errors(400, 404),
      },
    ),
    "/api/runs/{run}/live": get(
      "Server-sent events: `event: progress` with LiveProgress JSON, on change and at least " +
        "every second",
      [param("run")],
      {
        "200": {
          description: "Event stream",
          content: { "text/event-stream": { schema: ref("LiveProgress") } },
        },
        ...errors(400, 404),
      },
    ),
    "/api/pipeline": get("Pipeline services and resources", [], {
      "200": json(ref("PipelineResponse"), "Status"),
      ...errors(),
    }),
    "/metrics": get("Prometheus metrics (text exposition format 0.0.4)", [], {
      "200": { description: "Metrics", content: { "text/plain": { schema: str } } },
    }),
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Evochora query API",
      version: "1.0.0",
      description: "Runs, world states, organisms, lineage and statistics of Evochora runs. " +
        "JSON shapes: services/api/api_types.ts. Errors: ApiError with a 4xx/5xx status.",
    },
    paths,
    components: {
      parameters: {
        run: {
          name: "run",
          in: "path",
          required: true,
          description: "Run id, or `latest` for the run started last",
          schema: { type: "string", pattern: RUN_ID_PATTERN.source },
        },
        tick: {
          name: "tick",
          in: "path",
          required: true,
          description: "A sampled tick",
          schema: { type: "integer", minimum: 0 },
        },
      },
      schemas: {
        ApiError: obj({
          error: obj({
            code: { type: "string", enum: ["bad_parameter", "not_found", "no_index", "internal"] },
            message: str,
            parameter: str,
            nearestTicks: ints,
          }, ["parameter", "nearestTicks"]),
        }),
        RunSummary: obj(runSummary),
        RunsResponse: obj({ runs: { type: "array", items: ref("RunSummary") } }),
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
        }),
        TicksResponse: obj({
          runId: str,
          minTick: nullableInt,
          maxTick: nullableInt,
          samplingInterval: int,
          ticks: ints,
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
        }),
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
              metrics: { type: "object", additionalProperties: num },
            }, ["error"]),
          },
          resources: {
            type: "array",
            items: obj({ name: str, kind: str, description: str, stats: { type: "object" } }, [
              "stats",
            ]),
          },
        }),
        LiveProgress: obj({
          runId: str,
          tick: int,
          maxStoredTick: nullableInt,
          ticksPerSecond: num,
          organismsAlive: int,
          batches: int,
        }),
      },
    },
  };
}
