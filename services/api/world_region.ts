/**
 * A box of the world at one tick: the non-empty or owned cells inside it, as parallel columns,
 * and its two answer forms, JSON ({@link WorldResponse}) and the `evochora.v1.WorldRegion`
 * protobuf message.
 *
 * @module
 */

import { ProtoWriter } from "../../codec/mod.ts";
import type { WorldResponse } from "./api_types.ts";
import type { Region } from "./params.ts";

/** The cells of a region, world-flat indices ascending. */
export interface RegionCells {
  flatIndex: Int32Array;
  molecule: Int32Array;
  owner: Int32Array;
}

/** Strides of a shape, x fastest. */
export function strides(shape: readonly number[]): number[] {
  const out: number[] = [];
  let s = 1;
  for (const n of shape) {
    out.push(s);
    s *= n;
  }
  return out;
}

/**
 * Collects the non-empty or owned cells of `region` from dense world arrays (`cells` and
 * `owners` indexed by world-flat index, x fastest), in ascending flat index order.
 */
export function extractRegion(
  cells: Int32Array,
  owners: Int32Array,
  shape: readonly number[],
  region: Region,
): RegionCells {
  const dims = shape.length;
  const st = strides(shape);
  const { origin, size } = region;
  const total = size.reduce((a, b) => a * b, 1);
  // Worst case every cell is kept; trimmed below.
  let flat = new Int32Array(Math.min(total, 1 << 16));
  let n = 0;
  const grow = () => {
    const next = new Int32Array(Math.min(total, flat.length * 2));
    next.set(flat);
    flat = next;
  };
  const width = size[0]!;
  const x0 = origin[0]!;
  // Iterate rows (all coordinates but x), each a contiguous run of `width` cells.
  const rows = total / width;
  const coord = new Array<number>(dims).fill(0);
  for (let r = 0; r < rows; r++) {
    let base = x0;
    let rest = r;
    for (let d = 1; d < dims; d++) {
      coord[d] = rest % size[d]!;
      rest = Math.floor(rest / size[d]!);
      base += (origin[d]! + coord[d]!) * st[d]!;
    }
    const end = base + width;
    for (let f = base; f < end; f++) {
      if (cells[f] !== 0 || owners[f] !== 0) {
        if (n === flat.length) grow();
        flat[n++] = f;
      }
    }
  }
  const flatIndex = flat.slice(0, n);
  const molecule = new Int32Array(n);
  const owner = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = flatIndex[i]!;
    molecule[i] = cells[f]!;
    owner[i] = owners[f]!;
  }
  return { flatIndex, molecule, owner };
}

/** What both answer forms carry. */
export interface RegionAnswer {
  runId: string;
  tick: number;
  shape: readonly number[];
  region: Region;
  cells: RegionCells;
}

/**
 * The JSON form ({@link WorldResponse}) as UTF-8 bytes. Written by hand: joining typed arrays
 * is several times faster than JSON.stringify of number arrays of this size.
 */
export function encodeRegionJson(a: RegionAnswer): Uint8Array<ArrayBuffer> {
  const head: Omit<WorldResponse, "cells"> = {
    runId: a.runId,
    tick: a.tick,
    shape: [...a.shape],
    origin: a.region.origin,
    size: a.region.size,
  };
  const json = JSON.stringify(head).slice(0, -1) +
    `,"cells":{"flatIndex":[${a.cells.flatIndex.join(",")}],"molecule":[${
      a.cells.molecule.join(",")
    }],"owner":[${a.cells.owner.join(",")}]}}`;
  return new TextEncoder().encode(json);
}

/**
 * The `evochora.v1.WorldRegion` message in binary: the bytes `toBinary(WorldRegionSchema, ...)`
 * gives for the same values (fields in number order, defaults omitted, `cells` always present),
 * written directly for speed.
 */
export function encodeRegionProto(a: RegionAnswer): Uint8Array<ArrayBuffer> {
  const n = a.cells.flatIndex.length;
  const w = new ProtoWriter(64 + a.runId.length * 3 + n * 12);
  w.stringField(1, a.runId);
  w.intField(2, a.tick);
  w.packed(3, a.shape);
  w.packed(4, a.region.origin);
  w.packed(5, a.region.size);
  w.tag(6, 2);
  const cells = w.begin();
  w.packed(1, a.cells.flatIndex);
  w.packed(2, a.cells.molecule);
  w.packed(3, a.cells.owner);
  w.end(cells);
  // A copy of exactly the written bytes: the answer may be cached, the buffer is oversized.
  return w.buf.slice(0, w.pos) as Uint8Array<ArrayBuffer>;
}
