/**
 * A run's statistics series from the stats index, over a tick range, downsampled to at most
 * `maxPoints` buckets. Mounted at `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import { badParameter } from "./errors.ts";
import { parseNameList, parseNonNegativeInt } from "./params.ts";
import { STATS_METRICS } from "./stats_series.ts";

/** GET `/:run/stats[?metrics=a,b&from=&to=&maxPoints=]`. */
export function statsRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get("/:run/stats", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
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
      await ctx.stats.series(ctx.index, view.info.runId, {
        metrics: metrics as typeof STATS_METRICS[number][],
        from,
        to,
        maxPoints,
      }),
    );
  });

  return app;
}
