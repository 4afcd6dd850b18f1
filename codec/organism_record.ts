/**
 * An organism's state as one run of numbers: what the engine's thread copies at a sample when
 * the chunk is encoded elsewhere (./chunk_capture.ts). Cheaper to write than the columns'
 * flattened values (one array, positions as flat indices, strings as indices), and read back by
 * `OrganismColumnsWriter.addRecord` into exactly what `add` makes of the same organism.
 *
 * Layout: [0] id; [1..16] the number fields in the columns' order (parent id .. death tick, the
 * genome hash as uint32, bools as 0/1); [17] the IP and [18] the last position (-1 for none),
 * flat; [19] failure reason and [20] death reason, as indices into the capture's strings (0 is
 * ""); then each array as its length and its elements: direction, data pointers (flat), data
 * registers, location registers, data stack, the location stack (its count, then each vector
 * as length and elements), call stack (flat), last arguments.
 *
 * @module
 */

import type { OrganismStateFields } from "./chunk_writer.ts";

/** Index of the first number field (parent id); sixteen follow. */
export const RECORD_NUMBERS = 1;
export const RECORD_IP = 17;
export const RECORD_LAST_POSITION = 18;
export const RECORD_FAILURE = 19;
export const RECORD_DEATH = 20;
/** Where the arrays begin. */
export const RECORD_ARRAYS = 21;

/** A growable Float64Array the records are appended to. */
export interface RecordBuffer {
  a: Float64Array<ArrayBuffer>;
  n: number;
}

/** Strings by index: 0 is "", others added as met. */
export class StringTable {
  readonly list: string[] = [""];
  readonly #index = new Map<string, number>();

  /** The index of `s`, added if new. */
  indexOf(s: string): number {
    if (s === "") return 0;
    let i = this.#index.get(s);
    if (i === undefined) {
      i = this.list.push(s) - 1;
      this.#index.set(s, i);
    }
    return i;
  }

  /** Empties the table (back to [""]). */
  clear(): void {
    this.list.length = 1;
    this.#index.clear();
  }
}

function copy(a: Float64Array, k: number, values: ArrayLike<number>): number {
  const n = values.length;
  a[k++] = n;
  for (let i = 0; i < n; i++) a[k++] = values[i]!;
  return k;
}

/** Appends `o` as one record to `out`. */
export function writeOrganismRecord(
  out: RecordBuffer,
  o: OrganismStateFields,
  strings: StringTable,
): void {
  const ls = o.locationStack;
  let size = RECORD_ARRAYS + 9 + ls.length + o.dv.length + o.dataPointers.length +
    o.dataRegisters.length + o.locationRegisters.length + o.dataStack.length +
    o.callStack.length + o.lastArgs.length;
  for (let i = 0; i < ls.length; i++) size += ls[i]!.length;
  if (out.n + size > out.a.length) {
    const next = new Float64Array(Math.max(out.a.length * 2, out.n + size));
    next.set(out.a.subarray(0, out.n));
    out.a = next;
  }
  const a = out.a;
  let k = out.n;
  a[k++] = o.id;
  a[k++] = o.parentId;
  a[k++] = o.birthTick;
  a[k++] = o.generation;
  a[k++] = o.activeDp;
  a[k++] = o.energy;
  a[k++] = o.entropy;
  a[k++] = o.marker;
  a[k++] = o.genomeHash >>> 0;
  a[k++] = o.lastOpcode;
  a[k++] = o.lastCost;
  a[k++] = o.lastFailed ? 1 : 0;
  a[k++] = o.instructionsExecuted;
  a[k++] = o.alive ? 1 : 0;
  a[k++] = o.children;
  a[k++] = o.bodySize;
  a[k++] = o.deathTick;
  a[k++] = o.ip;
  a[k++] = o.lastPosition;
  a[k++] = strings.indexOf(o.failureReason);
  a[k++] = strings.indexOf(o.deathReason);
  k = copy(a, k, o.dv);
  k = copy(a, k, o.dataPointers);
  k = copy(a, k, o.dataRegisters);
  k = copy(a, k, o.locationRegisters);
  k = copy(a, k, o.dataStack);
  a[k++] = ls.length;
  for (let i = 0; i < ls.length; i++) k = copy(a, k, ls[i]!);
  k = copy(a, k, o.callStack);
  k = copy(a, k, o.lastArgs);
  out.n = k;
}
