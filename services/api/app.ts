/**
 * The query API as a Hono app: runs, ticks, world regions (JSON or protobuf), organisms,
 * lineage, statistics, Parquet exports, pipeline status, Prometheus metrics, live progress
 * (SSE), the OpenAPI document and the web client's files. Each resource's routes are a sub-app
 * (`routes_*.ts`) built from one shared {@link ApiContext}; this file mounts them and adds what
 * every request gets: request counting, the nosniff header, HEAD with the GET's length, the Host
 * check and the access token when configured, 405 for other methods, and the error and 404
 * answers.
 *
 * @module
 */

import { type ErrorHandler, Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { type ApiContext, createApiContext } from "./api_context.ts";
import type { RequestCounters } from "./api_metrics.ts";
import type { AppOptions } from "./app_options.ts";
import { accessToken } from "./access_token.ts";
import { ApiHttpError, INTERNAL_ERROR } from "./errors.ts";
import { headRequests } from "./head_requests.ts";
import { hostCheck } from "./host_check.ts";
import { methodNotAllowed } from "./method_not_allowed.ts";
import { requestLimits } from "./request_limits.ts";
import type { CacheStats } from "./lru_cache.ts";
import type { RunStore } from "./run_store.ts";
import { exportRoutes } from "./routes_export.ts";
import { liveRoutes } from "./routes_live.ts";
import { operationsRoutes } from "./routes_operations.ts";
import { organismsRoutes } from "./routes_organisms.ts";
import { runsRoutes } from "./routes_runs.ts";
import { statsRoutes } from "./routes_stats.ts";
import { notFoundAnswer, webRoutes } from "./routes_web.ts";
import { worldRoutes } from "./routes_world.ts";

export type { AppOptions, PipelineProvider } from "./app_options.ts";
export { wantsProtobuf } from "./content_types.ts";

/** The app and the parts a service reports on. */
export interface ApiApp {
  app: Hono;
  store: RunStore;
  counters: RequestCounters;
  /** Counters of every cache of the app. */
  cacheStats(): CacheStats[];
}

/** Builds the app with its store and counters (for services that report on them). */
export function buildApi(options: AppOptions): ApiApp {
  const ctx = createApiContext(options);
  const app = new Hono();
  // First: the routes mounted below run inside it, and it counts refused requests too.
  app.use("*", countRequests(ctx.counters));
  // Before the checks, so that their refusals answer HEAD with a length as well.
  app.use("*", headRequests);
  app.use("*", requestLimits);
  if (options.allowedHosts !== undefined) app.use("*", hostCheck(options.allowedHosts));
  if (options.token !== undefined) app.use("*", accessToken(options.token));
  app.use(
    "*",
    methodNotAllowed(
      () => app.routes,
      async (path) => !path.startsWith("/api/") && (await ctx.web?.find(path) ?? null) !== null,
    ),
  );
  app.onError(errorAnswer(ctx.log));
  app.notFound(notFoundAnswer(ctx));
  app.route("/", webRoutes(ctx));
  app.route("/", operationsRoutes(ctx));
  app.route("/api/runs", runsRoutes(ctx));
  app.route("/api/runs", worldRoutes(ctx));
  app.route("/api/runs", organismsRoutes(ctx));
  app.route("/api/runs", statsRoutes(ctx));
  app.route("/api/runs", exportRoutes(ctx));
  app.route("/api/runs", liveRoutes(ctx));
  return { app, store: ctx.store, counters: ctx.counters, cacheStats: () => ctx.cacheStats() };
}

/** The query API as a Hono app; serve it with `Deno.serve(app.fetch)` or {@link ApiService}. */
export function createApp(options: AppOptions): Hono {
  return buildApi(options).app;
}

/** Counts every answer by route pattern, method and status; adds nosniff to every answer. */
function countRequests(counters: RequestCounters): MiddlewareHandler {
  return async (c, next) => {
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
  };
}

/** API errors as their JSON body; anything unexpected as a generic 500, logged. */
function errorAnswer(log: ApiContext["log"]): ErrorHandler {
  return (err, c) => {
    if (err instanceof ApiHttpError) return c.json(err.body(), err.status);
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: { code: "bad_request", message: err.message } }, err.status);
    }
    log(`api: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json(INTERNAL_ERROR, 500);
  };
}
