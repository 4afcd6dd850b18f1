/**
 * 405 for methods the API does not answer at a path it serves: every route is a GET (and so a
 * HEAD), and a POST, PUT, DELETE, OPTIONS or any other method there is answered 405 with
 * `Allow: GET, HEAD` and a JSON error, not the 404 that no matching route would give.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { jsonError } from "./json_error.ts";
import { printable } from "./params.ts";

/** What the API answers at every path it serves. */
export const ALLOW = "GET, HEAD";

/** A route as Hono lists it (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
}

/**
 * Whether `path` is one a GET route of `routes` answers (`:name` matches one segment, a
 * trailing `*` the rest).
 */
export function servesPath(routes: readonly RouteEntry[]): (path: string) => boolean {
  const patterns = routes
    .filter((r) => r.method === "GET" && r.path !== "*" && r.path !== "/*")
    .map((r) => new RegExp(`^${routePattern(r.path)}$`));
  return (path) => patterns.some((p) => p.test(path));
}

function routePattern(path: string): string {
  return path.split("/").map((segment) => {
    if (segment === "*") return ".*";
    if (segment.startsWith(":")) return "[^/]+";
    return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
}

/**
 * Answers 405 to a method other than GET and HEAD at a path a GET route answers (`routes` is
 * read on the first request, once every route is mounted) or at which `isFile` finds a file.
 */
export function methodNotAllowed(
  routes: () => readonly RouteEntry[],
  isFile: (path: string) => Promise<boolean> = () => Promise.resolve(false),
): MiddlewareHandler {
  let served: ((path: string) => boolean) | undefined;
  return async (c, next) => {
    const { method, path } = c.req;
    if (method === "GET" || method === "HEAD") return await next();
    served ??= servesPath(routes());
    if (!served(path) && !(await isFile(path))) return await next();
    return jsonError(
      c,
      405,
      "method_not_allowed",
      `${printable(method, 20)} is not allowed at ${printable(path, 200)}; allowed: ${ALLOW}`,
      { allow: ALLOW },
    );
  };
}
