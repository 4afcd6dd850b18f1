/**
 * The shipped primordial program and the worlds it can live in, checked before anything is
 * placed so that an unusable shape is refused with the reason instead of failing inside
 * `ancestor.evo` or dying out unseen.
 *
 * @module
 */

import { valueOf } from "../../../codec/mod.ts";
import { assemble, type PlacedCell, posKey, type ProgramArtifact } from "../assembler/mod.ts";
import type { Topology } from "./world.ts";

/** Source of the shipped primordial program (`programs/ancestor.evo`). */
export const ANCESTOR_SOURCE: string = Deno.readTextFileSync(
  new URL("../programs/ancestor.evo", import.meta.url),
);

/** The shipped ancestor is written for 2D worlds: its vectors have two components. */
export const ANCESTOR_DIMS = 2;

/**
 * Fewest cells along each axis of a world the shipped ancestor lives in. Its body is 55x4
 * cells and it places its children 26 to 38 rows away, which in 64 rows never overlaps the
 * parent; see the comments in `ancestor.evo`.
 */
export const ANCESTOR_MIN_SIZE = 64;

/** Width and height of the shipped ancestor's body as written (4 rows), in cells. */
export const ANCESTOR_EXTENT: readonly number[] = (() => {
  const cells = assemble(ANCESTOR_SOURCE, { dims: ANCESTOR_DIMS }).cells;
  return [0, 1].map((axis) => {
    const values = cells.map((c) => c.pos[axis]!);
    return Math.max(...values) - Math.min(...values) + 1;
  });
})();

/**
 * Cells a world must have along x beyond the ancestor's widest row for a layout to be used. On
 * a torus 9, what a 64-cell world leaves beside the 55-cell rows as written: room for rows to
 * grow by insertion and for neighbours. In a bounded world 40: its children land up to 64
 * columns aside, and those aimed past an edge fail, so a body nearly as wide as the world
 * rarely has a child (a bounded 128x128 world with two rows of 109 cells died out).
 */
export const ANCESTOR_ROW_SPARE: Readonly<Record<Topology, number>> = { torus: 9, bounded: 40 };

/** `ancestor.evo` ends its rows with values below this (its ROW_END). */
const ROW_END = -29;

/** Rows of the ancestor laid end to end, fewest rows first: 1, 2 or all 4 as written. */
const ROW_GROUPS: readonly (readonly number[][])[] = [[[0, 1, 2, 3]], [[0, 1], [2, 3]]];

/**
 * The shipped ancestor as laid out in a world `width` cells wide: the fewest rows whose widest
 * fits with {@link ANCESTOR_ROW_SPARE} cells to spare (on a torus one row of 209 cells from 218
 * cells, two of at most 109 from 118, else the 4 rows of at most 55 as written). Joined rows
 * lose their ends but the last; every row ends with a jump, so the code runs the same.
 *
 * Why: copies are aimed at random places, and a body of 4 rows is hit by a neighbour's copy
 * about twice as often as one of the same cells in one row, so it lives at about half the
 * density. Sampled every 25000 ticks up to 150000 in 256x256, the one-row layout kept 148 to
 * 241 organisms (seeds 1, 7, 42, 123), the 4 rows 94 to 140 (seeds 1, 7); in 240x240 and
 * 256x256 the 4 rows even died out (80000 to 160000 ticks) under the decay defaults of before.
 */
export function layOutAncestor(
  artifact: ProgramArtifact,
  width: number,
  topology: Topology = "torus",
): ProgramArtifact {
  if (artifact.dims !== ANCESTOR_DIMS) return artifact;
  const rows = new Map<number, PlacedCell[]>();
  for (const c of artifact.cells) {
    const row = rows.get(c.pos[1]!) ?? [];
    row.push(c);
    rows.set(c.pos[1]!, row);
  }
  const ys = [...rows.keys()].sort((a, b) => a - b);
  const ordered = ys.map((y) => rows.get(y)!.sort((a, b) => a.pos[0]! - b.pos[0]!));
  if (ordered.length !== 4) return artifact;
  for (const groups of ROW_GROUPS) {
    const lengths = groups.map((g) =>
      g.reduce((n, r) => n + ordered[r]!.length, 0) - (g.length - 1)
    );
    if (Math.max(...lengths) + ANCESTOR_ROW_SPARE[topology] > width) continue;
    return joinRows(artifact, ordered, groups);
  }
  return artifact;
}

function joinRows(
  artifact: ProgramArtifact,
  rows: readonly PlacedCell[][],
  groups: readonly number[][],
): ProgramArtifact {
  const moved = new Map<string, number[]>();
  const cells: PlacedCell[] = [];
  groups.forEach((group, y) => {
    let x = 0;
    group.forEach((r, i) => {
      const row = rows[r]!;
      const last = row[row.length - 1]!;
      if (i < group.length - 1 && valueOf(last.molecule) >= ROW_END) {
        // Only a row's end may go; dropping anything else would change the code.
        throw new Error(`ancestor row ${r} does not end with a value below ${ROW_END}`);
      }
      for (const c of i < group.length - 1 ? row.slice(0, -1) : row) {
        const pos = [x++, y];
        moved.set(posKey(c.pos), pos);
        cells.push({ pos, molecule: c.molecule });
      }
    });
  });
  const to = (pos: readonly number[]) => moved.get(posKey(pos)) ?? [...pos];
  return {
    dims: artifact.dims,
    cells,
    labels: new Map([...artifact.labels].map(([name, pos]) => [name, to(pos)])),
    sourceMap: new Map(
      [...artifact.sourceMap].flatMap(([key, ref]) => {
        const pos = moved.get(key);
        return pos === undefined ? [] : [[posKey(pos), ref] as const];
      }),
    ),
    entry: to(artifact.entry),
    direction: artifact.direction,
  };
}

/**
 * A world the shipped ancestor cannot live in. The message names the shape, what the ancestor
 * needs, what this world lacks and shapes that work.
 */
export class UnsupportedShapeError extends RangeError {
  /** The refused shape. */
  readonly shape: readonly number[];
  constructor(shape: readonly number[], lack: string) {
    super(
      `Cannot place the shipped ancestor in a ${shape.join("x")} world: it needs a 2D world ` +
        `of at least ${ANCESTOR_MIN_SIZE}x${ANCESTOR_MIN_SIZE} and this one ${lack}; e.g. ` +
        `100x100 or the default 256x256`,
    );
    this.name = "UnsupportedShapeError";
    this.shape = [...shape];
  }
}

const AXES = ["x", "y"];

/**
 * What a world of `shape` lacks for the shipped ancestor (completing "this one ..."), or
 * undefined when the ancestor can live in it.
 */
export function ancestorShapeProblem(shape: readonly number[]): string | undefined {
  if (shape.length !== ANCESTOR_DIMS) {
    return `has ${shape.length} dimension${shape.length === 1 ? "" : "s"} (the ancestor is a ` +
      `${ANCESTOR_DIMS}D program: its vectors have ${ANCESTOR_DIMS} components)`;
  }
  const small = shape.findIndex((s) => s < ANCESTOR_MIN_SIZE);
  if (small < 0) return undefined;
  return `has ${shape[small]} cells along ${AXES[small]} (its body is ` +
    `${ANCESTOR_EXTENT.join("x")} cells and its children must land clear of it)`;
}

/** Throws {@link UnsupportedShapeError} when the shipped ancestor cannot live in `shape`. */
export function checkAncestorShape(shape: readonly number[]): void {
  const problem = ancestorShapeProblem(shape);
  if (problem !== undefined) throw new UnsupportedShapeError(shape, problem);
}
