import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { MoleculeType, typeOf } from "../../../codec/mod.ts";
import { assemble, type PlacedCell, type ProgramArtifact } from "../assembler/mod.ts";
import { ancestorShapeProblem, layOutAncestor, UnsupportedShapeError } from "./ancestor.ts";
import { ANCESTOR_SOURCE, ancestorPlacement, createEngine } from "./engine.ts";
import { ConfigError, type EngineConfigInput, resolveEngineConfig } from "./engine_config.ts";

interface Outcome {
  created: number;
  maxGeneration: number;
  alive: number;
  worldSha256: string;
}

function run(input: EngineConfigInput, ticks: number): Outcome {
  const { sim } = createEngine(resolveEngineConfig(input, ancestorPlacement()));
  for (let t = 0; t < ticks; t++) sim.step();
  const hash = createHash("sha256");
  hash.update(new Uint8Array(sim.world.cells.buffer));
  hash.update(new Uint8Array(sim.world.owners.buffer));
  return {
    created: sim.organismsCreated,
    maxGeneration: sim.maxGeneration,
    alive: sim.organisms.length,
    worldSha256: hash.digest("hex"),
  };
}

// The scenario (`sim --shape 100x100 --ticks 50000 --seed 42`) and the smallest world
// the ancestor is made for: well under a second each.
for (const shape of [[64, 64], [100, 100]]) {
  Deno.test(`the shipped ancestor replicates in a ${shape.join("x")} world, deterministically`, () => {
    const a = run({ shape, seed: 42 }, 50000);
    assert.ok(a.created > 20, `organisms created ${a.created}`);
    assert.ok(a.maxGeneration > 3, `max generation ${a.maxGeneration}`);
    assert.ok(a.alive > 0, "the population died out");
    assert.deepEqual(run({ shape, seed: 42 }, 50000), a);
  });
}

Deno.test("wider worlds get the ancestor's rows end to end: the same code, fewer rows", () => {
  const written = assemble(ANCESTOR_SOURCE, { dims: 2 });
  // The molecules in reading order, without the rows' ends (the only STRUCTURE cells).
  const code = (cells: readonly PlacedCell[]) =>
    [...cells].sort((a, b) => a.pos[1]! - b.pos[1]! || a.pos[0]! - b.pos[0]!)
      .map((c) => c.molecule).filter((m) => typeOf(m) !== MoleculeType.STRUCTURE);
  // World width -> rows, widest row.
  const layouts = [[64, 4, 55], [117, 4, 55], [118, 2, 109], [217, 2, 109], [218, 1, 209]];
  for (const [width, rows, widest] of layouts) {
    const laid = layOutAncestor(written, width!);
    assert.equal(new Set(laid.cells.map((c) => c.pos[1])).size, rows, `${width}: rows`);
    assert.equal(Math.max(...laid.cells.map((c) => c.pos[0]!)) + 1, widest, `${width}: widest`);
    assert.deepEqual(code(laid.cells), code(written.cells), `${width}: code`);
    // Labels move with their cells; the entry stays START.
    const at = (a: ProgramArtifact, pos: readonly number[]) =>
      a.cells.find((c) => c.pos.join() === pos.join())?.molecule;
    for (const [name, pos] of laid.labels) {
      assert.equal(at(laid, pos), at(written, written.labels.get(name)!), `${width}: ${name}`);
    }
    assert.deepEqual(laid.entry, laid.labels.get("START"));
  }
  // A bounded world keeps 40 columns beside the body for children aimed sideways.
  const rowsIn = (width: number) =>
    new Set(layOutAncestor(written, width, "bounded").cells.map((c) => c.pos[1])).size;
  assert.deepEqual([rowsIn(148), rowsIn(149), rowsIn(248), rowsIn(249)], [4, 2, 2, 1]);
  const { programs } = createEngine(
    resolveEngineConfig({ shape: [256, 256] }, ancestorPlacement()),
  );
  assert.equal(programs[0]!.artifact.cells.length, 209);
});

Deno.test("a bounded 64x64 world holds the ancestor inside its edges and it reproduces", () => {
  const config = resolveEngineConfig(
    { shape: [64, 64], topology: "bounded", seed: 42 },
    ancestorPlacement(),
  );
  const engine = createEngine(config);
  // The centre would put the 55-cell rows over the edge: the body is moved in, and metadata
  // gets the origin actually used.
  assert.deepEqual(engine.programs[0]!.origin, [9, 32]);
  // Most copies would cross an edge there and are taken back: the first birth comes late.
  for (let t = 0; t < 20000 && engine.sim.births === 0; t++) engine.sim.step();
  assert.ok(engine.sim.births > 0, "no child within 20000 ticks");
});

const REFUSED: [number[], RegExp][] = [
  [[256], /in a 256 world: it needs a 2D world of at least 64x64 and this one has 1 dimension/],
  [[16, 16, 16], /in a 16x16x16 world: it needs a 2D world of at least 64x64 .* 3 dimensions/],
  [[63, 256], /in a 63x256 world: .* has 63 cells along x/],
  [[256, 63], /in a 256x63 world: .* has 63 cells along y/],
  [[16, 16], /in a 16x16 world: .* has 16 cells along x/],
];

for (const [shape, message] of REFUSED) {
  Deno.test(`a ${shape.join("x")} world is refused up front for the shipped ancestor`, () => {
    assert.throws(
      () => resolveEngineConfig({ shape }, ancestorPlacement()),
      (e: unknown) => {
        assert.ok(e instanceof RangeError && e instanceof UnsupportedShapeError);
        assert.match(e.message, /^Cannot place the shipped ancestor /);
        assert.match(e.message, message);
        assert.match(e.message, /e\.g\. 100x100 or the default 256x256$/);
        assert.deepEqual(e.shape, shape);
        return true;
      },
    );
  });
}

Deno.test("the ancestor's limits hold from 64 cells along each axis, also as programs[]", () => {
  for (const shape of [[64, 64], [64, 1000], [1000, 64], [256, 256]]) {
    assert.equal(ancestorShapeProblem(shape), undefined, shape.join("x"));
  }
  const programs = [{ name: "mine", source: ANCESTOR_SOURCE, count: 2, energy: 1000 }];
  assert.throws(() => resolveEngineConfig({ shape: [32, 32], programs }), UnsupportedShapeError);
  // No copy placed, nothing to refuse (tests of the tick stream run empty worlds).
  resolveEngineConfig({ shape: [32, 32] }, ancestorPlacement(0));
  // A field out of range is still a ConfigError, named before the ancestor's limits.
  assert.throws(() => resolveEngineConfig({ shape: [2, 2] }, ancestorPlacement()), ConfigError);
});

Deno.test("a program of one's own has no fixed limits, only a body that must fit", () => {
  const tiny = { name: "tiny", source: "START:\n  NOP\n  JMPI START\n", count: 1, energy: 100 };
  for (const shape of [[8], [8, 8], [8, 8, 8]]) {
    const { sim } = createEngine(resolveEngineConfig({ shape, programs: [tiny] }));
    assert.equal(sim.organisms.length, 1, shape.join("x"));
  }
  // 14 instructions of 3 cells after the label: one row of 43 cells.
  const source = `START:\n${"  SETI %DR0 DATA:1\n".repeat(14)}`;
  const row = { name: "row", source, count: 1, energy: 100 };
  for (const topology of ["torus", "bounded"] as const) {
    const config = resolveEngineConfig({ shape: [32, 32], topology, programs: [row] });
    assert.throws(
      () => createEngine(config),
      new RegExp(
        `^RangeError: Cannot place program 'row' in a 32x32 ${topology} world: its body spans ` +
          "43x1 cells",
      ),
    );
  }
});
