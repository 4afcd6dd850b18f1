/**
 * An estimate of the heap bytes a decoded value holds, for caches whose values are plain
 * objects (index rows, chunk directories, lineage records) rather than byte arrays, so that
 * they too count against the API's one memory budget. Deliberately generous (V8 object
 * headers, hidden classes, boxed doubles) and cheap: arrays longer than 256 elements are
 * sampled and extrapolated.
 *
 * @module
 */

const SAMPLE = 256;
const MAX_DEPTH = 8;

/** Approximate bytes held by `v` (see the module doc). */
export function approxSize(v: unknown, depth = 0): number {
  if (v === null || v === undefined || typeof v === "boolean") return 8;
  if (typeof v === "number") return 16;
  if (typeof v === "bigint") return 24;
  if (typeof v === "string") return 24 + 2 * v.length;
  if (typeof v !== "object") return 16;
  if (ArrayBuffer.isView(v)) return 96 + v.byteLength;
  if (v instanceof ArrayBuffer) return 64 + v.byteLength;
  if (depth >= MAX_DEPTH) return 64;
  if (Array.isArray(v)) return 32 + 8 * v.length + sampled(v, v.length, depth);
  if (v instanceof Map) {
    return 64 + 24 * v.size + sampled([...v.keys()], v.size, depth) +
      sampled([...v.values()], v.size, depth);
  }
  if (v instanceof Set) return 64 + 16 * v.size + sampled([...v], v.size, depth);
  let n = 48;
  for (const k in v) n += 16 + approxSize((v as Record<string, unknown>)[k], depth + 1);
  return n;
}

function sampled(items: readonly unknown[], count: number, depth: number): number {
  if (count === 0) return 0;
  const step = Math.max(1, Math.floor(count / SAMPLE));
  let n = 0, seen = 0;
  for (let i = 0; i < count; i += step) {
    n += approxSize(items[i], depth + 1);
    seen++;
  }
  return Math.round((n / seen) * count);
}
