/**
 * The organisms of a run: those alive at a stored tick (behind the immutable answers' caches),
 * one organism's detail, and the lineage tree. Mounted at `/api/runs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import type { OrganismsResponse } from "./api_types.ts";
import { JSON_TYPE } from "./content_types.ts";
import { notFound } from "./errors.ts";
import { entityTag } from "./etag.ts";
import { type ImmutableEnv, tickCaching } from "./immutable_answers.ts";
import { buildLineage } from "./lineage.ts";
import { organismDetail, organismSummary } from "./organisms.ts";
import { parseNonNegativeInt, parseOrganismId, parseTick } from "./params.ts";
import { unreadableBatches } from "./run_store.ts";

/** GET `/:run/organisms/:tick`, `/:run/organisms/:tick/:id` and `/:run/lineage`. */
export function organismsRoutes(ctx: ApiContext): Hono<ImmutableEnv> {
  const { store } = ctx;
  const app = new Hono<ImmutableEnv>();

  app.get("/:run/organisms/:tick", ctx.answers.middleware(() => "json"), async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    const tick = parseTick(c.req.param("tick"));
    const { info } = view;
    store.locate(view, tick);
    const tag = entityTag(["organisms", info.runId, info.startedAtMs, tick]);
    return await c.get("answer")(tag, JSON_TYPE, async () => {
      const sample = await store.sample(view, tick);
      const body: OrganismsResponse = {
        runId: info.runId,
        tick,
        organisms: sample.organisms.map((o) => organismSummary(o, info.shape.length)),
      };
      return new TextEncoder().encode(JSON.stringify(body));
    });
  });

  app.get("/:run/organisms/:tick/:id", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    const tick = parseTick(c.req.param("tick"));
    const id = parseOrganismId(c.req.param("id"));
    const sample = await store.sample(view, tick);
    const o = sample.organisms.find((o) => o.id === id);
    if (o === undefined) {
      throw notFound(`No organism ${id} at tick ${tick} of run '${view.info.runId}'`);
    }
    // No ETag (the answer is small and cheap), but as immutable as the tick's other answers.
    c.header("cache-control", tickCaching(c));
    return c.json(organismDetail(o, tick, view.info.shape.length));
  });

  app.get("/:run/lineage", async (c) => {
    const view = await ctx.runView(c.req.param("run"));
    const root = parseNonNegativeInt("root", c.req.query("root"), {
      fallback: 0,
      max: 0x7fffffff,
    });
    const depth = parseNonNegativeInt("depth", c.req.query("depth"), {
      fallback: 16,
      max: 100000,
    });
    const { records, skipped } = await ctx.lineage.records(view);
    const tree = buildLineage(view.info.runId, records, {
      root,
      depth,
      maxNodes: ctx.options.maxLineageNodes ?? 20000,
    });
    // Batches the listing set aside count as skipped too.
    const aside = unreadableBatches(view).map((p) => ({ key: p.key, reason: p.reason }));
    return c.json({ ...tree, skipped: [...skipped, ...aside] });
  });

  return app;
}
