/**
 * The retry policy of S3 requests: exponential backoff with jitter ({@link backoffDelay}), the
 * SDK retry strategy built on it ({@link BackoffRetryStrategy}), and which failures are worth
 * another attempt. Private to `resources/storage`.
 *
 * @module
 */

import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { errorCode, errorName, httpStatus } from "./_s3_errors.ts";

/**
 * Backoff of retried requests: the delay before retry n (from 0) is drawn from [cap/2, cap],
 * cap = min(maxDelayMs, baseDelayMs * 2^n).
 */
export interface BackoffOptions {
  /** Delay base in ms, default 100. Throttling answers use 5 times this base. */
  baseDelayMs?: number;
  /** Largest delay in ms, default 5000. A server's Retry-After is honoured up to this. */
  maxDelayMs?: number;
}

/** The SDK's retry strategy interface (v2), as S3ClientConfig declares it. */
type RetryStrategyV2 = Extract<
  NonNullable<S3ClientConfig["retryStrategy"]>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2["acquireInitialRetryToken"]>>;
/** What the SDK says about a failed attempt. */
export type RetryErrorInfo = Parameters<RetryStrategyV2["refreshRetryTokenForRetry"]>[1];

/** The delay before retry number `retry` (0 = the first retry): within [cap/2, cap]. */
export function backoffDelay(
  retry: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** retry);
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/**
 * The SDK retry strategy used by `createS3Client`: up to `maxAttempts` attempts per
 * request with {@link backoffDelay}; retries throttling, transient errors (timeouts, resets,
 * refused connections, 500/502/503/504) and other 5xx answers except 501 Not Implemented.
 */
export class BackoffRetryStrategy implements RetryStrategyV2 {
  readonly #maxAttempts: number;
  readonly #base: number;
  readonly #max: number;
  readonly #random: () => number;

  /** `random` is for tests. */
  constructor(
    maxAttempts: number,
    backoff: BackoffOptions = {},
    random: () => number = Math.random,
  ) {
    this.#maxAttempts = maxAttempts;
    this.#base = backoff.baseDelayMs ?? 100;
    this.#max = backoff.maxDelayMs ?? 5000;
    this.#random = random;
  }

  /** A token for a first attempt. */
  acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return Promise.resolve(retryToken(0, 0));
  }

  /** A token for the next attempt, or a rejection when the error is final. */
  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = token.getRetryCount();
    if (retries + 1 >= this.#maxAttempts || !isRetryable(info)) {
      return Promise.reject(new Error("not retried")); // the SDK rethrows the request's error
    }
    const base = info.errorType === "THROTTLING" ? this.#base * 5 : this.#base;
    let delay = backoffDelay(retries, base, this.#max, this.#random);
    if (info.retryAfterHint instanceof Date) {
      const hinted = info.retryAfterHint.getTime() - Date.now();
      delay = Math.max(delay, Math.min(hinted, this.#max));
    }
    return Promise.resolve(retryToken(retries + 1, delay));
  }

  /** Nothing to record: no retry budget is kept. */
  recordSuccess(_token: RetryToken): void {}
}

function retryToken(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

/** Whether the SDK should try a failed request again. */
function isRetryable(info: RetryErrorInfo): boolean {
  if (info.errorType === "THROTTLING" || info.errorType === "TRANSIENT") return true;
  return info.errorType === "SERVER_ERROR" && httpStatus(info.error) !== 501;
}

const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/** Errors worth another attempt when they happen outside the SDK's retries (body streaming). */
export function isTransient(e: unknown): boolean {
  const status = httpStatus(e);
  if (status !== undefined) return status >= 500 && status !== 501 || status === 429;
  const name = errorName(e);
  return name === "TimeoutError" || TRANSIENT_CODES.has(errorCode(e)) ||
    (e instanceof Error && /aborted|socket hang up|premature close/i.test(e.message));
}
