/**
 * Reports every attempt of an S3 client's requests to an {@link EndpointHealth}: an answer (any
 * HTTP status) clears the endpoint, a network failure (refused, timed out, reset) marks it, and
 * a HeadBucket (the bucket check at startup) counts as trying it, so that a server that never
 * answers shows too. Other requests do not count as tries: a large upload may take long
 * without the endpoint being gone. Private to `resources/storage`.
 *
 * @module
 */

import type { S3Client } from "@aws-sdk/client-s3";
import { type EndpointHealth, networkFailure } from "../common/endpoint_health.ts";
import { errorName, httpStatus } from "./_s3_errors.ts";

/** Options of {@link watchEndpoint}. */
export interface S3EndpointWatch {
  health: EndpointHealth;
  /** The endpoint as messages name it (its URL). */
  address: string;
  /** What to check when it does not answer. */
  hint: string;
}

/** Why a request attempt failed without an answer; undefined for an answer or another error. */
export function s3NetworkFailure(e: unknown): string | undefined {
  if (httpStatus(e) !== undefined) return undefined;
  if (errorName(e) === "TimeoutError") {
    const message = e instanceof Error ? e.message : "";
    const ms = /(\d+) ms/.exec(message)?.[1];
    const after = ms === undefined ? "" : ` after ${Math.round(Number(ms) / 1000)} s`;
    return /establish a connection/.test(message)
      ? `connection timed out${after}`
      : `no answer${after}`;
  }
  return networkFailure(e);
}

/** Adds the watching middleware to `client` (once per attempt: after the retry step). */
export function watchEndpoint(client: S3Client, o: S3EndpointWatch): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "HeadBucketCommand") {
        o.health.attempt("S3 endpoint", o.address, o.hint);
      }
      try {
        const out = await next(args);
        o.health.answered("S3 endpoint", o.address);
        return out;
      } catch (e) {
        // An HTTP error is an answer; an error of neither kind says nothing about the endpoint.
        const failure = s3NetworkFailure(e);
        if (httpStatus(e) !== undefined) o.health.answered("S3 endpoint", o.address);
        else if (failure !== undefined) o.health.failed("S3 endpoint", o.address, failure, o.hint);
        throw e;
      }
    },
    { step: "deserialize", name: "evochoraEndpointWatch", override: true },
  );
}
