/**
 * The runs: their list (newest first), one run's detail, and its stored ticks. Mounted at
 * `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import type { RunsResponse } from "./api_types.ts";
import { runDetail, runSummary, ticksResponse } from "./run_summary.ts";

/** GET `/`, `/:run` and `/:run/ticks`. */
export function runsRoutes(ctx: ApiContext): Hono {
  const { store } = ctx;
  const app = new Hono();

  app.get("/", async (c) => {
    const infos = await store.runs();
    const runs = await Promise.all(
      infos.map(async (info) => runSummary(store, await store.view(info))),
    );
    const body: RunsResponse = { runs };
    return c.json(body);
  });

  app.get("/:run", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    return c.json(await runDetail(store, view));
  });

  app.get("/:run/ticks", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    return c.json(ticksResponse(store, view));
  });

  return app;
}
