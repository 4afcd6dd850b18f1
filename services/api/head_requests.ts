/**
 * HEAD answered with the GET's headers. Hono runs a HEAD request as the GET and drops the
 * body; Deno.serve then sends `content-length: 0` unless the answer states its length, since a
 * streamed body's length is unknown. This middleware states it: the GET's body is read and its
 * length set. An event stream never ends, so it is cancelled unread and sent without a length,
 * as its GET is.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";

/** The middleware; mount it before the routes. */
export const headRequests: MiddlewareHandler = async (c, next) => {
  await next();
  if (c.req.method !== "HEAD") return;
  const res = c.res;
  if (res.body === null || res.headers.has("content-length")) return;
  const headers = new Headers(res.headers);
  if ((headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    await res.body.cancel();
    // Unset first: assigning over an answer would merge the old answer's headers back in.
    c.res = undefined;
    c.res = new Response(null, { status: res.status, headers });
    return;
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  headers.set("content-length", String(bytes.byteLength));
  c.res = undefined;
  c.res = new Response(null, { status: res.status, headers });
};
