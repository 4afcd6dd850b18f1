/**
 * Errors the CLI reports as one clear line and a non-zero exit, without a stack trace.
 *
 * @module
 */

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

/** Parses a non-negative integer flag, naming the flag on error. */
export function intFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) {
    throw new CliError(`--${name} expects a whole number, got '${value}'`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new CliError(`--${name} must be at least ${min}, got '${value}'`);
  }
  return n;
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
