/**
 * Limits on what a request may ask with: the URL's length (414) and each query parameter's
 * (400 naming it). Every real request is far below them; what is above is junk or an attack,
 * refused before any work and before a cache could keep its key.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { printable } from "./params.ts";

/** Longest URL (path and query) answered, in characters. */
export const MAX_URL_LENGTH = 4096;
/** Longest value of one query parameter, in characters. */
export const MAX_PARAMETER_LENGTH = 1024;
/** Most query parameters in one request. */
export const MAX_PARAMETERS = 32;

/** The middleware; mount it before the routes. */
export const requestLimits: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  const at = url.indexOf("/", url.indexOf("//") + 2);
  const pathAndQuery = at < 0 ? "/" : url.slice(at);
  if (pathAndQuery.length > MAX_URL_LENGTH) {
    return c.json({
      error: {
        code: "uri_too_long",
        message: `The URL has ${pathAndQuery.length} characters; the API answers at most ` +
          `${MAX_URL_LENGTH}`,
      },
    }, 414);
  }
  const query = new URL(url).searchParams;
  let count = 0;
  for (const [name, value] of query) {
    if (++count > MAX_PARAMETERS) {
      return c.json({
        error: {
          code: "bad_parameter",
          message: `Too many query parameters; the API reads at most ${MAX_PARAMETERS}`,
        },
      }, 400);
    }
    if (value.length > MAX_PARAMETER_LENGTH) {
      return c.json({
        error: {
          code: "bad_parameter",
          parameter: printable(name, 64),
          message: `Parameter '${printable(name, 64)}' has ${value.length} characters; at most ` +
            `${MAX_PARAMETER_LENGTH} are allowed`,
        },
      }, 400);
    }
  }
  await next();
};
