/**
 * A JSON error answer ({@link ApiError} body) for the statuses the request checks answer with
 * before any route runs (400, 401, 405, 421), which ./errors.ts's thrown errors do not cover.
 *
 * @module
 */

import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiError } from "./api_types.ts";

/** The answer: `{ error: { code, message } }` with `status` and any extra `headers`. */
export function jsonError(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ApiError = { error: { code, message } };
  return c.json(body, status, headers);
}
