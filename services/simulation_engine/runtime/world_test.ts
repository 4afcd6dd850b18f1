import assert from "node:assert/strict";
import { MoleculeType, pack } from "../../../codec/mod.ts";
import { World } from "./world.ts";

const data = (v: number) => pack(MoleculeType.DATA, v);
const label = (v: number) => pack(MoleculeType.LABEL, v);

Deno.test("flat indices run x fastest and round-trip through coords", () => {
  const w = new World({ shape: [5, 4, 3] });
  assert.deepEqual(w.strides, [1, 5, 20]);
  assert.equal(w.size, 60);
  assert.equal(w.flatOf([2, 3, 1]), 2 + 3 * 5 + 20);
  for (let f = 0; f < w.size; f++) assert.equal(w.flatOf(w.coords(f)), f);
});

Deno.test("the constructor rejects bad shapes", () => {
  assert.throws(() => new World({ shape: [] }), RangeError);
  assert.throws(() => new World({ shape: [4, 0] }), RangeError);
  assert.throws(() => new World({ shape: [4, 2.5] }), RangeError);
  assert.throws(() => new World({ shape: [65536, 65536] }), RangeError);
});

Deno.test("step wraps around every edge of a 2D torus", () => {
  const w = new World({ shape: [6, 4] });
  const at = (x: number, y: number) => w.flatOf([x, y]);
  assert.equal(w.step(at(5, 2), 0, 1), at(0, 2));
  assert.equal(w.step(at(0, 2), 0, -1), at(5, 2));
  assert.equal(w.step(at(3, 3), 1, 1), at(3, 0));
  assert.equal(w.step(at(3, 0), 1, -1), at(3, 3));
  assert.equal(w.step(at(2, 1), 0, 1), at(3, 1));
  assert.equal(w.step(at(2, 1), 1, -1), at(2, 0));
});

Deno.test("step wraps around every axis of a 3D torus", () => {
  const w = new World({ shape: [4, 5, 3] });
  const at = (x: number, y: number, z: number) => w.flatOf([x, y, z]);
  assert.equal(w.step(at(1, 2, 2), 2, 1), at(1, 2, 0));
  assert.equal(w.step(at(1, 2, 0), 2, -1), at(1, 2, 2));
  assert.equal(w.step(at(1, 4, 1), 1, 1), at(1, 0, 1));
  assert.equal(w.step(at(3, 4, 2), 0, 1), at(0, 4, 2));
  assert.equal(w.step(at(1, 2, 1), 2, 1), at(1, 2, 2));
});

Deno.test("offset wraps any vector length on a torus, in 2D and 3D", () => {
  const w2 = new World({ shape: [6, 4] });
  assert.equal(w2.offset(w2.flatOf([1, 1]), [-2, 0]), w2.flatOf([5, 1]));
  assert.equal(w2.offset(w2.flatOf([1, 1]), [13, -9]), w2.flatOf([2, 0]));
  assert.equal(w2.offset(w2.flatOf([1, 1]), [0, 0]), w2.flatOf([1, 1]));
  const w3 = new World({ shape: [4, 5, 3] });
  assert.equal(w3.offset(w3.flatOf([0, 0, 0]), [-1, -1, -1]), w3.flatOf([3, 4, 2]));
  assert.equal(w3.offset(w3.flatOf([3, 4, 2]), [1, 1, 1]), w3.flatOf([0, 0, 0]));
  assert.equal(w3.offset(w3.flatOf([2, 2, 1]), [8, -10, 7]), w3.flatOf([2, 2, 2]));
  assert.equal(w3.flatOf([-1, 5, 3]), w3.flatOf([3, 0, 0]));
});

Deno.test("a bounded world returns -1 at the edge instead of wrapping", () => {
  const w = new World({ shape: [6, 4], topology: "bounded" });
  const at = (x: number, y: number) => w.flatOf([x, y]);
  assert.equal(w.step(at(5, 2), 0, 1), -1);
  assert.equal(w.step(at(0, 2), 0, -1), -1);
  assert.equal(w.step(at(3, 3), 1, 1), -1);
  assert.equal(w.step(at(3, 0), 1, -1), -1);
  assert.equal(w.step(at(4, 2), 0, 1), at(5, 2));
  assert.equal(w.offset(at(1, 1), [-2, 0]), -1);
  assert.equal(w.offset(at(1, 1), [0, 3]), -1);
  assert.equal(w.offset(at(1, 1), [4, 2]), at(5, 3));
  assert.equal(w.flatOf([6, 0]), -1);
  assert.equal(w.flatOf([0, -1]), -1);
  const w3 = new World({ shape: [4, 4, 4], topology: "bounded" });
  assert.equal(w3.step(w3.flatOf([1, 1, 3]), 2, 1), -1);
  assert.equal(w3.offset(w3.flatOf([1, 1, 1]), [0, 0, -2]), -1);
});

Deno.test("set records a changed cell once for the sample and once for the snapshot", () => {
  const w = new World({ shape: [8, 8] });
  w.set(10, data(1), 0);
  w.set(10, data(2), 3);
  w.set(20, data(1), 0);
  assert.deepEqual([...w.sampleChanges()], [10, 20]);
  assert.deepEqual([...w.snapshotChanges()], [10, 20]);
});

Deno.test("set of the same molecule and owner records no change", () => {
  const w = new World({ shape: [8, 8] });
  w.set(5, 0, 0);
  assert.equal(w.sampleChanges().length, 0);
  w.set(5, data(4), 2);
  w.clearSampleChanges();
  w.clearSnapshotChanges();
  w.set(5, data(4), 2);
  w.setOwner(5, 2);
  assert.equal(w.sampleChanges().length, 0);
  assert.equal(w.snapshotChanges().length, 0);
});

Deno.test("an owner-only change is recorded", () => {
  const w = new World({ shape: [8, 8] });
  w.set(7, data(4), 0);
  w.clearSampleChanges();
  w.clearSnapshotChanges();
  w.set(7, data(4), 9);
  assert.deepEqual([...w.sampleChanges()], [7]);
  w.clearSampleChanges();
  w.setOwner(7, 0);
  assert.deepEqual([...w.sampleChanges()], [7]);
  assert.deepEqual([...w.snapshotChanges()], [7]);
  assert.equal(w.owners[7], 0);
});

Deno.test("clearSampleChanges keeps the snapshot changes and vice versa", () => {
  const w = new World({ shape: [8, 8] });
  w.set(1, data(1), 0);
  w.set(2, data(1), 0);
  w.clearSampleChanges();
  assert.equal(w.sampleChanges().length, 0);
  assert.deepEqual([...w.snapshotChanges()], [1, 2]);
  // A cell changed again after the sample is listed for the next sample, once in the snapshot.
  w.set(2, data(5), 0);
  w.set(3, data(5), 0);
  assert.deepEqual([...w.sampleChanges()], [2, 3]);
  assert.deepEqual([...w.snapshotChanges()], [1, 2, 3]);
  w.clearSnapshotChanges();
  assert.equal(w.snapshotChanges().length, 0);
  assert.deepEqual([...w.sampleChanges()], [2, 3]);
  w.set(1, data(9), 0);
  assert.deepEqual([...w.snapshotChanges()], [1]);
  assert.deepEqual([...w.sampleChanges()], [2, 3, 1]);
});

Deno.test("change lists grow beyond their initial capacity", () => {
  const w = new World({ shape: [64, 64] });
  for (let f = 0; f < 3000; f++) w.set(f, data(1), 0);
  assert.equal(w.sampleChanges().length, 3000);
  assert.equal(w.snapshotChanges()[2999], 2999);
});

Deno.test("typeCounts follow writes, overwrites and clears; emptyCells is the rest", () => {
  const w = new World({ shape: [4, 4] });
  assert.equal(w.emptyCells(), 16);
  w.set(0, data(1), 0);
  w.set(1, data(2), 0);
  w.set(2, pack(MoleculeType.ENERGY, 100), 0);
  w.set(3, pack(MoleculeType.CODE, 5), 1);
  assert.equal(w.typeCounts[MoleculeType.DATA], 2);
  assert.equal(w.typeCounts[MoleculeType.ENERGY], 1);
  assert.equal(w.typeCounts[MoleculeType.CODE], 1);
  assert.equal(w.emptyCells(), 12);
  w.set(1, pack(MoleculeType.STRUCTURE, 2), 0);
  assert.equal(w.typeCounts[MoleculeType.DATA], 1);
  assert.equal(w.typeCounts[MoleculeType.STRUCTURE], 1);
  // A marker change keeps the type count.
  w.set(0, pack(MoleculeType.DATA, 1, 7), 0);
  assert.equal(w.typeCounts[MoleculeType.DATA], 1);
  w.set(2, 0, 0);
  assert.equal(w.typeCounts[MoleculeType.ENERGY], 0);
  assert.equal(w.emptyCells(), 13);
  // The empty molecule (CODE:0) is not counted as CODE.
  w.set(4, 0, 5);
  assert.equal(w.typeCounts[MoleculeType.CODE], 1);
});

Deno.test("writing a LABEL indexes it; overwriting or clearing it removes it", () => {
  const w = new World({ shape: [8, 8] });
  w.set(3, label(77), 1);
  w.set(9, label(77), 1);
  w.set(12, label(5), 0);
  assert.deepEqual([...w.labels.get(77)!].sort((a, b) => a - b), [3, 9]);
  assert.deepEqual([...w.labels.get(5)!], [12]);
  // Another label value moves the cell to the other entry.
  w.set(3, label(5), 1);
  assert.deepEqual([...w.labels.get(77)!], [9]);
  assert.deepEqual([...w.labels.get(5)!].sort((a, b) => a - b), [3, 12]);
  // A non-label molecule removes it; an empty entry disappears.
  w.set(9, data(77), 1);
  assert.equal(w.labels.has(77), false);
  w.set(12, 0, 0);
  assert.deepEqual([...w.labels.get(5)!], [3]);
  // A marker change keeps it indexed; LABELREF molecules are not indexed.
  w.set(3, pack(MoleculeType.LABEL, 5, 4), 1);
  assert.deepEqual([...w.labels.get(5)!], [3]);
  w.set(20, pack(MoleculeType.LABELREF, 6), 1);
  assert.equal(w.labels.has(6), false);
  assert.equal(w.typeCounts[MoleculeType.LABEL], 1);
});

Deno.test("negative label values are indexed by their signed value", () => {
  const w = new World({ shape: [8, 8] });
  w.set(1, label(-3), 0);
  assert.deepEqual([...w.labels.get(-3)!], [1]);
});

Deno.test("relative() is invariant under translation of body and origin, across the wrap", () => {
  const w = new World({ shape: [10, 7] });
  const body = [[0, 0], [1, 0], [2, 1], [0, 3]];
  const origin = [0, 0];
  const key = (shift: number[]) =>
    body.map((c) =>
      w.relative(
        w.flatOf([c[0]! + shift[0]!, c[1]! + shift[1]!]),
        w.flatOf([origin[0]! + shift[0]!, origin[1]! + shift[1]!]),
      )
    );
  const base = key([0, 0]);
  assert.deepEqual(base, [0, 1, 2 + 10, 3 * 10]);
  for (const shift of [[3, 2], [8, 6], [9, 0], [5, 5]]) assert.deepEqual(key(shift), base);
  // Each axis is wrapped into [0, n).
  assert.equal(w.relative(w.flatOf([0, 0]), w.flatOf([9, 6])), 1 + 1 * 10);
});

Deno.test("relative() also works in 3D", () => {
  const w = new World({ shape: [4, 4, 4] });
  const a = w.relative(w.flatOf([1, 2, 3]), w.flatOf([0, 0, 0]));
  const b = w.relative(w.flatOf([3, 0, 1]), w.flatOf([2, 2, 2]));
  assert.equal(a, b);
  assert.equal(a, 1 + 2 * 4 + 3 * 16);
});

Deno.test("distance() takes the short way around a torus", () => {
  const w = new World({ shape: [10, 8] });
  const at = (x: number, y: number) => w.flatOf([x, y]);
  assert.equal(w.distance(at(1, 1), at(1, 1)), 0);
  assert.equal(w.distance(at(1, 1), at(4, 3)), 5);
  assert.equal(w.distance(at(0, 0), at(9, 0)), 1);
  assert.equal(w.distance(at(0, 0), at(0, 7)), 1);
  assert.equal(w.distance(at(0, 0), at(5, 4)), 9);
  assert.equal(w.distance(at(1, 0), at(8, 6)), 3 + 2);
  assert.equal(w.distance(at(8, 6), at(1, 0)), w.distance(at(1, 0), at(8, 6)));
});

Deno.test("distance() does not wrap in a bounded world", () => {
  const w = new World({ shape: [10, 8], topology: "bounded" });
  assert.equal(w.distance(w.flatOf([0, 0]), w.flatOf([9, 7])), 16);
});

Deno.test("load replaces the grid, rebuilds counts and labels, and leaves no change pending", () => {
  const w = new World({ shape: [8, 8] });
  w.set(3, data(1), 7);
  w.set(4, label(5), 7);
  w.load([10, 20, 30], [label(9), data(2), 0], [0, 4, 4]);
  assert.equal(w.cells[3], 0);
  assert.equal(w.owners[3], 0);
  assert.deepEqual([w.cells[10], w.cells[20], w.cells[30]], [label(9), data(2), 0]);
  assert.deepEqual([w.owners[10], w.owners[20], w.owners[30]], [0, 4, 4]);
  assert.equal(w.typeCounts[MoleculeType.LABEL], 1);
  assert.equal(w.typeCounts[MoleculeType.DATA], 1);
  assert.deepEqual([...w.labels.keys()], [9]);
  assert.equal(w.sampleChanges().length, 0);
  assert.equal(w.snapshotChanges().length, 0);
  assert.throws(() => w.load([64], [data(1)], [0]), /Cell position 64 lies outside/);
  assert.throws(() => w.load([1, 2], [data(1)], [0, 0]), /Cell columns differ in length/);
});

Deno.test("markChanged records cells as changed for the sample and the snapshot separately", () => {
  const w = new World({ shape: [8, 8] });
  w.markChanged([5, 9], [9, 12]);
  assert.deepEqual([...w.sampleChanges()], [5, 9]);
  assert.deepEqual([...w.snapshotChanges()], [9, 12]);
  w.set(5, data(1), 0); // already recorded for the sample: listed once
  assert.deepEqual([...w.sampleChanges()], [5, 9]);
  assert.deepEqual([...w.snapshotChanges()], [9, 12, 5]);
  assert.throws(() => w.markChanged([-1], []), /Changed cell -1 lies outside/);
});
