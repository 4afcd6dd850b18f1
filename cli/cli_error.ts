/**
 * Errors the CLI reports as one clear line and a non-zero exit, without a stack trace, and the
 * parsers of the flags every command shares: each names its flag when the value is bad.
 *
 * @module
 */

import { ConfigError, parseShape } from "../services/simulation_engine/runtime/mod.ts";

/** A usage or input problem: the message says what is wrong and what to do. */
export class CliError extends Error {
  /** Process exit code (2 for usage errors, 1 for failed work). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * Parses a non-negative integer flag, naming the flag on error. Values above `max` (default
 * 2^53-1, the largest integer a number holds exactly) are refused as too large; the value is
 * echoed as typed, never rounded.
 */
export function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const text = value.trim();
  if (!/^\d+$/.test(text)) {
    throw new CliError(`--${name} expects a whole number, got '${value}'`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) {
    const limit = max === Number.MAX_SAFE_INTEGER
      ? `${max} (2^53-1, the largest exact whole number)`
      : `${max}`;
    throw new CliError(`--${name} is too large: '${value}' is above ${limit}`);
  }
  if (n < min) throw new CliError(`--${name} must be at least ${min}, got '${value}'`);
  return n;
}

/**
 * Parses an --encoder flag: "worker" (encode the chunks on a thread of their own) gives true,
 * "inline" (on the engine's thread) false; undefined when absent (the machine decides).
 */
export function encoderFlag(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const v = text.trim();
  if (v === "worker" || v === "inline") return v === "worker";
  throw new CliError(`--encoder expects 'worker' or 'inline', got '${text}'`);
}

/** Parses a --seed flag (0..2^64-1); undefined when absent. */
export function seedFlag(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) {
    throw new CliError(`--seed expects a whole number, got '${text}'`);
  }
  const s = BigInt(text.trim());
  if (s >= 1n << 64n) throw new CliError(`--seed must be below 2^64, got '${text}'`);
  return s;
}

/** Parses a --shape flag (`256x256`, `32x32x16`); undefined when absent. */
export function shapeFlag(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const huge = text.split(/x/i).find((part) => !Number.isSafeInteger(Number(part.trim())));
  if (huge !== undefined && /^\s*\d+\s*$/.test(huge)) {
    throw new CliError(`--shape: size '${huge.trim()}' of '${text}' is too large`);
  }
  try {
    return parseShape(text);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new CliError(
      `--shape: '${text}' is not a shape; expected 1 to 4 sizes joined by 'x', ` +
        `e.g. 256x256 or 32x32x16`,
    );
  }
}
