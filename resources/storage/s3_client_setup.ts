/**
 * The S3 client: its settings, their defaults from the process environment (`AWS_ENDPOINT`,
 * `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …) and {@link createS3Client}, which builds an S3Client
 * that never reads `~/.aws` files.
 *
 * (Where the S3 server of integration tests and benchmarks is, is `./s3_env.ts`'s concern.)
 *
 * @module
 */

import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { type BackoffOptions, BackoffRetryStrategy } from "./_s3_retry.ts";
import { type EndpointHealth, endpointHealth } from "../common/endpoint_health.ts";
import { watchEndpoint } from "./_s3_endpoint_watch.ts";

export type { BackoffOptions };

/** Attempts per request (the first one included), by default. */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Whether request payloads carry CRC32 checksums. */
export type ChecksumMode = "when-supported" | "when-required";

/** Static credentials. */
export interface S3Credentials {
  /** AWS_ACCESS_KEY_ID. */
  accessKeyId: string;
  /** AWS_SECRET_ACCESS_KEY. */
  secretAccessKey: string;
  /** AWS_SESSION_TOKEN, for temporary credentials. */
  sessionToken?: string;
}

/** Settings of the S3 client (shared by `S3Storage` and {@link createS3Client}). */
export interface S3ClientOptions {
  /**
   * Endpoint URL of an S3-compatible server, e.g. "http://127.0.0.1:18333". Default: env
   * `AWS_ENDPOINT` (or `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`); without one, AWS S3.
   */
  endpoint?: string;
  /** Default: env `AWS_REGION` (or `AWS_DEFAULT_REGION`), else "us-east-1". */
  region?: string;
  /** Default: env `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. */
  credentials?: S3Credentials;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Attempts per request including the first, default 5. */
  maxAttempts?: number;
  /** Backoff between attempts. */
  backoff?: BackoffOptions;
  /** Time to establish a connection, ms, default 5000. */
  connectTimeoutMs?: number;
  /** Time from sending a request until the response headers arrive, ms, default 120000. */
  requestTimeoutMs?: number;
  /** Time a socket may sit idle mid-request or mid-response, ms, default 60000. */
  idleTimeoutMs?: number;
  /**
   * "when-supported" (default): PutObject and UploadPart carry a CRC32 the server verifies, and
   * responses that carry one are verified. "when-required": only where S3 demands it, for
   * servers that reject checksum headers.
   */
  checksums?: ChecksumMode;
  /** Where the endpoint's failures and answers go (default: the process's). */
  health?: EndpointHealth;
}

/** Client settings with the environment's defaults filled in. */
export interface ResolvedS3ClientOptions {
  /** The endpoint URL, or undefined for AWS S3. */
  endpoint: string | undefined;
  /** Where the endpoint came from, for messages: `AWS_ENDPOINT`, `endpoint`, ... */
  endpointSource: string;
  /** The region. */
  region: string;
  /** Static credentials, or undefined when neither the options nor the environment have them. */
  credentials: S3Credentials | undefined;
  /** Path-style URLs. */
  forcePathStyle: boolean;
}

/** An environment variable; an empty one counts as unset. */
function env(name: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : v;
}

/** Fills endpoint, region, credentials and path style from the environment where not given. */
export function resolveS3ClientOptions(options: S3ClientOptions = {}): ResolvedS3ClientOptions {
  const source = options.endpoint !== undefined
    ? "endpoint"
    : ["AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"].find((n) => env(n)) ??
      "AWS_ENDPOINT";
  const endpoint = options.endpoint ?? env(source);
  const region = options.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  const credentials = options.credentials === undefined
    ? credentialsFromEnv()
    : options.credentials;
  if (endpoint !== undefined) checkEndpoint(endpoint);
  return {
    endpoint,
    endpointSource: source,
    region,
    credentials,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
  };
}

/** Credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`. */
function credentialsFromEnv(): S3Credentials | undefined {
  const accessKeyId = env("AWS_ACCESS_KEY_ID");
  const secretAccessKey = env("AWS_SECRET_ACCESS_KEY");
  const sessionToken = env("AWS_SESSION_TOKEN");
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}

/** Throws a TypeError naming the endpoint unless it is an http(s) URL. */
function checkEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`Invalid S3 endpoint '${endpoint}': not a URL (e.g. http://host:9000)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`Invalid S3 endpoint '${endpoint}': use http:// or https://`);
  }
}

/**
 * An S3Client configured as S3Storage configures its own: explicit region and credentials (no
 * shared config files), {@link BackoffRetryStrategy}, timeouts, no `Expect: 100-continue`.
 * Throws when no credentials are given or in the environment.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const resolved = resolveS3ClientOptions(options);
  if (resolved.credentials === undefined) {
    throw new Error(
      `No S3 credentials for ${resolved.endpoint ?? "AWS S3"}: set AWS_ACCESS_KEY_ID and ` +
        `AWS_SECRET_ACCESS_KEY (shared config files such as ~/.aws/credentials are not read)`,
    );
  }
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`S3 maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const config = clientConfig(options, resolved, resolved.credentials, maxAttempts);
  if (resolved.endpoint !== undefined) config.endpoint = resolved.endpoint;
  const client = new S3Client(config);
  watchEndpoint(client, {
    health: options.health ?? endpointHealth,
    address: resolved.endpoint ?? `AWS S3 (${resolved.region})`,
    hint: resolved.endpoint === undefined
      ? "check the network and AWS_REGION"
      : `check ${resolved.endpointSource}`,
  });
  return client;
}

/** The S3ClientConfig of {@link createS3Client}, its endpoint aside. */
function clientConfig(
  options: S3ClientOptions,
  resolved: ResolvedS3ClientOptions,
  credentials: S3Credentials,
  maxAttempts: number,
): S3ClientConfig {
  const checksums = options.checksums ?? "when-supported";
  const calc = checksums === "when-supported" ? "WHEN_SUPPORTED" : "WHEN_REQUIRED";
  return {
    region: resolved.region,
    credentials,
    forcePathStyle: resolved.forcePathStyle,
    maxAttempts,
    retryStrategy: new BackoffRetryStrategy(maxAttempts, options.backoff),
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      throwOnRequestTimeout: true,
      socketTimeout: options.idleTimeoutMs ?? 60_000,
    },
    // With 100-continue the SDK opens a fresh connection for every large body; the round trip
    // it saves (a refused request does not send its body) does not happen in normal operation.
    expectContinueHeader: false,
    requestChecksumCalculation: calc,
    responseChecksumValidation: calc,
    // Settled here so that the SDK does not look for them in ~/.aws/config.
    defaultsMode: "standard",
    retryMode: "standard",
    useDualstackEndpoint: false,
    useFipsEndpoint: false,
    useArnRegion: false,
    disableS3ExpressSessionAuth: true,
    userAgentAppId: "evochora",
  };
}
