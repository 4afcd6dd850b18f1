/**
 * Where the S3 server for integration tests and benchmarks is: the environment
 * (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `EVOCHORA_S3_BUCKET`), or else the file `deno task services:up` writes,
 * `~/.cache/evochora/services/env` (`NAME=value` lines).
 *
 * @module
 */

import { join } from "node:path";
import type { S3Credentials } from "./s3_client_setup.ts";

/** An S3 server to test against. */
export interface S3TestServer {
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  bucket: string;
  /** "environment" or the path of the env file. */
  source: string;
}

/** No server is configured; the message says how to start one. */
export class S3ServerMissingError extends Error {
  /** Always "S3ServerMissingError". */
  override readonly name = "S3ServerMissingError";
}

const NAMES = [
  "AWS_ENDPOINT",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "EVOCHORA_S3_BUCKET",
] as const;

/** The env file of `deno task services:up`. */
export function servicesEnvPath(): string {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return join(home, ".cache", "evochora", "services", "env");
}

/** Parses `NAME=value` lines (optional `export `, quotes, `#` comments). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    let value = m[2]!;
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out.set(m[1]!, value);
  }
  return out;
}

function fromValues(get: (name: string) => string | undefined, source: string): S3TestServer {
  const missing = NAMES.filter((n) => n !== "AWS_REGION" && !get(n));
  if (missing.length > 0) {
    throw new S3ServerMissingError(
      `S3 test server settings from ${source} lack ${missing.join(", ")}; start the S3 ` +
        `server with \`deno task services:up\``,
    );
  }
  return {
    endpoint: get("AWS_ENDPOINT")!,
    region: get("AWS_REGION") || "us-east-1",
    credentials: {
      accessKeyId: get("AWS_ACCESS_KEY_ID")!,
      secretAccessKey: get("AWS_SECRET_ACCESS_KEY")!,
    },
    bucket: get("EVOCHORA_S3_BUCKET")!,
    source,
  };
}

/**
 * The S3 server from the environment when `AWS_ENDPOINT` is set there, else from the services
 * env file. Throws {@link S3ServerMissingError} ("start the S3 server with
 * `deno task services:up`") when neither has one.
 */
export async function s3TestServer(): Promise<S3TestServer> {
  if (Deno.env.get("AWS_ENDPOINT")) return fromValues((n) => Deno.env.get(n), "the environment");
  const path = servicesEnvPath();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new S3ServerMissingError(
      `No S3 server configured: AWS_ENDPOINT is not set and ${path} does not exist; start the ` +
        `S3 server with \`deno task services:up\``,
    );
  }
  const values = parseEnvFile(text);
  return fromValues((n) => values.get(n), path);
}
