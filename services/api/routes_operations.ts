/**
 * How the API and the pipeline beside it are doing: the pipeline's status, Prometheus metrics
 * (pipeline, requests, caches), and the OpenAPI document. Mounted at `/`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import { cacheFamilies, pipelineFamilies } from "./api_metrics.ts";
import type { PipelineResponse } from "./api_types.ts";
import { openApiDocument } from "./openapi.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";

/** GET `/api/pipeline`, `/metrics` and `/api/openapi.json`. */
export function operationsRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get("/api/openapi.json", (c) => c.json(openApiDocument()));

  app.get("/api/pipeline", (c) => c.json(pipelineResponse(ctx)));

  app.get("/metrics", (c) => {
    const text = renderPrometheus([
      ...pipelineFamilies(pipelineResponse(ctx)),
      ...ctx.counters.families(),
      ...cacheFamilies([
        ...ctx.store.cacheStats(),
        ...ctx.index.cacheStats(),
        ...ctx.answers.stats(),
      ]),
    ]);
    return c.body(text, 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });

  return app;
}

/** The pipeline's status; in serve mode (no pipeline), just the storage. */
function pipelineResponse(ctx: ApiContext): PipelineResponse {
  const { pipeline, storage } = ctx.options;
  if (pipeline === undefined) {
    return {
      mode: "serve",
      services: [],
      resources: [{ name: "storage", kind: "storage", description: storage.description }],
    };
  }
  const s = pipeline();
  return { mode: s.mode ?? "in-process", services: s.services, resources: s.resources };
}
