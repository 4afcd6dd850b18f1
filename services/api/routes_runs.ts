/**
 * The runs: their list (newest first), one run's detail, and its stored ticks. Mounted at
 * `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import type { RunsResponse } from "./api_types.ts";
import { JSON_TYPE } from "./content_types.ts";
import { runDetail, runSummary, ticksJson } from "./run_summary.ts";

/** GET `/`, `/:run` and `/:run/ticks`. */
export function runsRoutes(ctx: ApiContext): Hono {
  const { store, states } = ctx;
  const app = new Hono();

  app.get("/", async (c) => {
    const list = await store.runList();
    const runs = await Promise.all(
      list.runs.map(async (info) => runSummary(store, states, await store.view(info))),
    );
    const body: RunsResponse = { runs, unreadable: list.unreadable };
    return c.json(body);
  });

  app.get("/:run", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    return c.json(await runDetail(store, states, view));
  });

  app.get("/:run/ticks", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    return c.body(ticksJson(store, view), 200, { "content-type": JSON_TYPE });
  });

  return app;
}
