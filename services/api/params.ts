/**
 * Parsing and validation of request parameters. Every function throws a 400
 * (`bad_parameter`) naming the parameter; nothing here builds a storage key from unchecked
 * text.
 *
 * @module
 */

import { RUN_ID_PATTERN } from "../common/storage_layout.ts";
import { badParameter } from "./errors.ts";

export { RUN_ID_PATTERN };

/** Checks a run id (or `latest`); throws a 400 naming `run`. */
export function parseRunId(text: string | undefined): string {
  const id = text ?? "";
  if (!RUN_ID_PATTERN.test(id) || id === "." || id === "..") {
    throw badParameter(
      "run",
      `Run id '${printable(id)}' is not valid: expected 1-128 characters of [A-Za-z0-9._=-], ` +
        `or 'latest'`,
    );
  }
  return id;
}

/** Shortens and escapes text for an error message. */
export function printable(text: string, max = 64): string {
  const cut = text.length > max ? text.slice(0, max) + "..." : text;
  return JSON.stringify(cut).slice(1, -1);
}

/**
 * A non-negative integer (decimal digits only, at most `max`). `undefined` (parameter absent)
 * gives `fallback`, or a 400 when there is none.
 */
export function parseNonNegativeInt(
  name: string,
  text: string | undefined,
  options: { fallback?: number; min?: number; max?: number } = {},
): number {
  if (text === undefined || text === "") {
    if (options.fallback !== undefined) return options.fallback;
    throw badParameter(name, `Parameter '${name}' is required`);
  }
  const min = options.min ?? 0;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(text)) {
    throw badParameter(
      name,
      `Parameter '${name}' must be a non-negative integer, got '${printable(text)}'`,
    );
  }
  // Compared as typed: beyond 2^53 a Number is rounded, and the answer must not echo that.
  const digits = text.replace(/^0+(?=\d)/, "");
  const n = Number(digits);
  if (digits.length > 16 || !Number.isSafeInteger(n) || n > max) {
    throw badParameter(
      name,
      `Parameter '${name}' is too large: '${printable(text)}' is above ${max}`,
    );
  }
  if (n < min) {
    throw badParameter(name, `Parameter '${name}' must be in ${min}..${max}, got ${digits}`);
  }
  return n;
}

/** A tick in a path (`/world/:tick`): a non-negative integer. */
export function parseTick(text: string | undefined): number {
  return parseNonNegativeInt("tick", text);
}

/** An organism id in a path: a positive int32. */
export function parseOrganismId(text: string | undefined): number {
  return parseNonNegativeInt("id", text, { min: 1, max: 0x7fffffff });
}

/** A box of the world: origin inclusive, size per dimension. */
export interface Region {
  origin: number[];
  size: number[];
}

/**
 * Parses `region=x0,y0,...,x1,y1,...`: the first corner (inclusive) then the second
 * (exclusive), `2 * dims` integers, inside `shape`, non-empty. Absent: the whole world.
 * Regions over `maxCells` cells are refused.
 */
export function parseRegion(
  text: string | undefined,
  shape: readonly number[],
  maxCells: number,
): Region {
  const dims = shape.length;
  let origin: number[];
  let end: number[];
  const example = dims === 2 ? "x0,y0,x1,y1" : `${2 * dims} numbers (first corner, then end)`;
  if (text === undefined) {
    origin = shape.map(() => 0);
    end = [...shape];
  } else {
    const parts = text.split(",");
    if (parts.length !== 2 * dims || parts.some((p) => !/^\d{1,9}$/.test(p.trim()))) {
      throw badParameter(
        "region",
        `Region '${printable(text)}' is malformed: expected ${example} for a ${dims}D world ` +
          `(non-negative integers, end exclusive)`,
      );
    }
    const n = parts.map((p) => Number(p.trim()));
    origin = n.slice(0, dims);
    end = n.slice(dims);
    for (let d = 0; d < dims; d++) {
      if (origin[d]! >= end[d]! || end[d]! > shape[d]!) {
        throw badParameter(
          "region",
          `Region '${printable(text)}' is out of range: dimension ${d} must satisfy ` +
            `0 <= start < end <= ${shape[d]} (world ${shape.join("x")})`,
        );
      }
    }
  }
  const size = end.map((e, d) => e - origin[d]!);
  const cells = size.reduce((a, b) => a * b, 1);
  if (cells > maxCells) {
    throw badParameter(
      "region",
      `Region has ${cells} cells; at most ${maxCells} per request (ask for a smaller region)`,
    );
  }
  return { origin, size };
}

/** A comma-separated list of names from `valid`; absent: all of them. */
export function parseNameList(
  name: string,
  text: string | undefined,
  valid: readonly string[],
): string[] {
  if (text === undefined) return [...valid];
  const items = text.split(",").map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === "")) {
    throw badParameter(name, `Parameter '${name}' must be a comma-separated list of names`);
  }
  for (const item of items) {
    if (!valid.includes(item)) {
      throw badParameter(
        name,
        `Unknown ${name === "metrics" ? "metric" : name} '${printable(item)}'; valid: ${
          valid.join(", ")
        }`,
      );
    }
  }
  return [...new Set(items)];
}
