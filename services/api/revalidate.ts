/**
 * Revalidation as a Hono middleware: a route's 200 answer whose ETag matches the request's
 * If-None-Match becomes a 304. For answers that are cheap to start and not kept (a merged
 * Parquet export streams its body only as it is read); a stored tick's answers are served by
 * {@link ./immutable_answers.ts}, which can answer 304 without building the body.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { etagMatches } from "./etag.ts";

/** Turns a 200 with a matching ETag into a 304 (the body is cancelled unread). */
export const revalidate: MiddlewareHandler = async (c, next) => {
  await next();
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch === undefined || c.res.status !== 200) return;
  const etag = c.res.headers.get("etag");
  if (etag === null || !etagMatches(ifNoneMatch, etag)) return;
  await c.res.body?.cancel();
  // A 304 carries the validators and caching headers of the 200, not the body's description.
  const headers = new Headers(c.res.headers);
  for (const name of [...headers.keys()]) {
    if (name.startsWith("content-")) headers.delete(name);
  }
  // Unset first: assigning over an answer would merge the old answer's headers back in.
  c.res = undefined;
  c.res = new Response(null, { status: 304, headers });
};
