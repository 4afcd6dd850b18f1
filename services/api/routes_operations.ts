/**
 * How the API and the pipeline beside it are doing: the pipeline's status, Prometheus metrics
 * (pipeline, requests, caches), and the OpenAPI document. Mounted at `/`. Status texts name
 * directories as the server sees them; answers show them relative or by their last name only
 * (display_paths.ts).
 *
 * @module
 */

import { Hono } from "hono";
import type { ServiceStatus } from "../common/service.ts";
import type { ApiContext } from "./api_context.ts";
import { cacheFamilies, clusterFamilies, pipelineFamilies } from "./api_metrics.ts";
import type { PipelineResponse } from "./api_types.ts";
import { displayPaths } from "./display_paths.ts";
import { openApiDocument } from "./openapi.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";

/** GET `/api/pipeline`, `/metrics` and `/api/openapi.json`. */
export function operationsRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  const doc = openApiDocument({ token: ctx.options.token !== undefined });
  app.get("/api/openapi.json", (c) => c.json(doc));

  app.get("/api/pipeline", (c) => c.json(pipelineResponse(ctx)));

  app.get("/metrics", (c) => {
    const p = pipelineResponse(ctx);
    const text = renderPrometheus([
      ...pipelineFamilies(p),
      ...clusterFamilies(p.cluster),
      ...ctx.counters.families(),
      ...cacheFamilies(ctx.cacheStats()),
    ]);
    return c.body(text, 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });

  return app;
}

/** The pipeline's status with the deployment's services, when the API knows them. */
function pipelineResponse(ctx: ApiContext): PipelineResponse {
  const out = localResponse(ctx);
  const cluster = ctx.options.cluster?.();
  if (cluster !== undefined) {
    out.cluster = {
      lostAfterMs: cluster.lostAfterMs,
      services: cluster.services.map(({ id: _id, startedAt: _s, ...s }) => {
        const shown: NonNullable<PipelineResponse["cluster"]>["services"][number] = { ...s };
        if (s.error !== undefined) shown.error = displayPaths(s.error);
        return shown;
      }),
    };
  }
  return out;
}

/** The pipeline's status (in serve mode, just the storage), with no absolute paths. */
function localResponse(ctx: ApiContext): PipelineResponse {
  const { pipeline, storage } = ctx.options;
  if (pipeline === undefined) {
    return {
      mode: "serve",
      services: [],
      resources: [{
        name: "storage",
        kind: "storage",
        description: displayPaths(storage.description),
      }],
    };
  }
  const s = pipeline();
  return {
    mode: s.mode ?? "in-process",
    services: s.services.map(displayService),
    resources: s.resources.map((r) => ({ ...r, description: displayPaths(r.description) })),
  };
}

/** A service's status with its error and problems shown without absolute paths. */
function displayService(s: ServiceStatus): ServiceStatus {
  const out: ServiceStatus = { ...s };
  if (s.error !== undefined) out.error = displayPaths(s.error);
  if (s.problems !== undefined) out.problems = s.problems.map((p) => displayPaths(p));
  return out;
}
