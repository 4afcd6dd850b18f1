/**
 * The web client: its files at `/` and at every path no route answers (outside `/api/`), or,
 * without a web root, a text page listing the endpoints. Mounted at `/`; {@link notFoundAnswer}
 * is the app's not-found handler, since a sub-app's own is not used once mounted.
 *
 * @module
 */

import { Hono, type NotFoundHandler } from "hono";
import type { ApiContext } from "./api_context.ts";
import { notFound } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import { printable } from "./params.ts";

/** GET `/`: the web client's index, or a text page. */
export function webRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    if (ctx.web !== undefined) {
      const file = await ctx.web.serve("/");
      if (file !== null) return file;
    }
    return c.text(rootPage(ctx.web !== undefined));
  });

  return app;
}

/** Unmatched GET and HEAD outside `/api/`: a web client file if there is one; else a JSON 404. */
export function notFoundAnswer(ctx: ApiContext): NotFoundHandler {
  return async (c) => {
    const method = c.req.method;
    if (
      ctx.web !== undefined && (method === "GET" || method === "HEAD") &&
      !c.req.path.startsWith("/api/")
    ) {
      const file = await ctx.web.serve(c.req.path);
      if (file !== null) return file;
    }
    return c.json(
      notFound(`No route ${method} ${printable(c.req.path, 200)}; see /api/openapi.json`).body(),
      404,
    );
  };
}

/** The text page: why there is no web client, and the endpoints. */
function rootPage(configured: boolean): string {
  return [
    "Evochora query API",
    "",
    configured
      ? "The web client is not built: its directory holds no index.html (run " +
        "`deno task web:build`, or see the server's log for why building it failed)."
      : "No web client is configured (webRoot).",
    "",
    "Endpoints:",
    ...Object.keys(openApiDocument().paths).map((p) => `  ${p}`),
    "",
    "OpenAPI document: /api/openapi.json",
    "",
  ].join("\n");
}
