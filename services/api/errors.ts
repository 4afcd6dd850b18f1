/**
 * Errors the query API answers with a 4xx status (or a 502 for stored data it cannot read) and an
 * {@link ApiError} body. Anything else thrown by a handler becomes a 500 with a generic message
 * (the details go to the log only).
 *
 * @module
 */

import type { ApiError } from "./api_types.ts";

/** An error with an HTTP status and a JSON body for the client. */
export class ApiHttpError extends Error {
  /** Always "ApiHttpError". */
  override readonly name = "ApiHttpError";
  constructor(
    /** HTTP status: 4xx, or 502 for stored data that cannot be read. */
    readonly status: 400 | 404 | 406 | 416 | 502,
    /** Machine-readable code, e.g. "bad_parameter", "not_found", "no_index". */
    readonly code: string,
    message: string,
    /** The offending parameter, for "bad_parameter". */
    readonly parameter?: string,
  ) {
    super(message);
  }

  /** For a tick that is not stored: the sampled ticks nearest to it. */
  nearestTicks?: number[];

  /** The JSON body. */
  body(): ApiError {
    const error: ApiError["error"] = { code: this.code, message: this.message };
    if (this.parameter !== undefined) error.parameter = this.parameter;
    if (this.nearestTicks !== undefined) error.nearestTicks = this.nearestTicks;
    return { error };
  }
}

/** 400 naming the parameter. */
export function badParameter(parameter: string, message: string): ApiHttpError {
  return new ApiHttpError(400, "bad_parameter", message, parameter);
}

/** 404 for an unknown run, tick, organism or file. */
export function notFound(message: string): ApiHttpError {
  return new ApiHttpError(404, "not_found", message);
}

/** 404 for data that needs an index the indexers have not written (yet). */
export function noIndex(message: string): ApiHttpError {
  return new ApiHttpError(404, "no_index", message);
}

/**
 * 502 for a raw batch that cannot be read: `detail` names what is wrong and where (the byte
 * offset); only the ticks of that batch fail.
 */
export function corruptBatch(key: string, detail: string): ApiHttpError {
  return new ApiHttpError(502, "corrupt_batch", `Cannot read batch '${key}': ${detail}`);
}

/** 502 for a run whose metadata cannot be used (empty, malformed or inconsistent). */
export function unreadableRun(runId: string, reason: string): ApiHttpError {
  return new ApiHttpError(502, "unreadable_run", `Run '${runId}' is unreadable: ${reason}`);
}

/** The body of every 500: no details, never a stack trace. */
export const INTERNAL_ERROR: ApiError = {
  error: { code: "internal", message: "Internal server error; the details are in the API log" },
};
