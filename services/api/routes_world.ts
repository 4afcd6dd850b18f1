/**
 * The world at a stored tick: a region's cells, as JSON or (on Accept) protobuf, behind the
 * immutable answers' caches. Mounted at `/api/runs`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { ApiContext } from "./api_context.ts";
import { JSON_TYPE, PROTOBUF, wantsProtobuf } from "./content_types.ts";
import { entityTag } from "./etag.ts";
import type { ImmutableEnv } from "./immutable_answers.ts";
import { parseRegion, parseTick } from "./params.ts";
import { encodeRegionJson, encodeRegionProto, extractRegion } from "./world_region.ts";

/** The representation a world request gets; part of its URL key and of its ETag. */
function worldFormat(c: Context): "pb" | "json" {
  return wantsProtobuf(c.req.header("accept")) ? "pb" : "json";
}

/** GET `/:run/world/:tick[?region=x0,y0,x1,y1]`. */
export function worldRoutes(ctx: ApiContext): Hono<ImmutableEnv> {
  const { store } = ctx;
  const maxRegionCells = ctx.options.maxRegionCells ?? 1 << 22;
  const app = new Hono<ImmutableEnv>();

  app.get("/:run/world/:tick", ctx.answers.middleware(worldFormat), async (c) => {
    const format = worldFormat(c);
    const view = await ctx.runView(c.req.param("run"));
    const tick = parseTick(c.req.param("tick"));
    const { info } = view;
    const region = parseRegion(c.req.query("region"), info.shape, maxRegionCells);
    store.locate(view, tick);
    const tag = entityTag([
      "world",
      info.runId,
      info.startedAtMs,
      tick,
      region.origin.join(","),
      region.size.join(","),
      format,
    ]);
    const type = format === "pb" ? PROTOBUF : JSON_TYPE;
    return await c.get("answer")(tag, type, async () => {
      const state = await store.state(view, tick);
      const answer = {
        runId: info.runId,
        tick,
        shape: info.shape,
        region,
        cells: extractRegion(state.cells, state.owners, info.shape, region),
      };
      return format === "pb" ? encodeRegionProto(answer) : encodeRegionJson(answer);
    });
  });

  return app;
}
