import assert from "node:assert/strict";
import { assemble } from "../../assembler/mod.ts";
import {
  type EngineConfig,
  type EngineConfigInput,
  type MutationConfig,
  resolveEngineConfig,
} from "../engine_config.ts";
import { labelHash } from "../../../../codec/isa.ts";
import { markerOf, MoleculeType, pack, typeOf, valueOf } from "../../../../codec/mod.ts";
import type { Organism } from "../organism.ts";
import { Rng } from "../rng.ts";
import { genomeHash, Simulation, type SimulationPlugin } from "../simulation.ts";
import { Decay } from "./decay.ts";
import { EnergySources } from "./energy_sources.ts";
import { Mutation } from "./mutation.ts";

const NO_MUTATION: MutationConfig = {
  substitutionPerMille: 0,
  insertionPerMille: 0,
  deletionPerMille: 0,
  labelRewritePerMille: 0,
};

const NO_ENERGY = { initialCount: 0, solarPer1000Ticks: 0, geysers: 0 };

/** A 32x32 torus without energy or mutation unless `input` says otherwise. */
function config(input: EngineConfigInput = {}): EngineConfig {
  return resolveEngineConfig({
    shape: [32, 32],
    seed: 1,
    energy: NO_ENERGY,
    mutation: NO_MUTATION,
    ...input,
  });
}

const energyCount = (sim: Simulation) => sim.world.typeCounts[MoleculeType.ENERGY]!;

function run(sim: Simulation, ticks: number): void {
  for (let i = 0; i < ticks; i++) sim.step();
}

// ---------------------------------------------------------------------------------------------
// Energy sources

function energySim(energy: EngineConfigInput["energy"], seed = 1) {
  const cfg = config({ seed, energy: { ...NO_ENERGY, ...energy } });
  const plugin = new EnergySources(cfg.energy);
  const sim = new Simulation(cfg, [plugin]);
  return { cfg, plugin, sim };
}

Deno.test("start places initialCount ENERGY molecules at seeded random free cells", () => {
  const { cfg, sim } = energySim({ initialCount: 60, value: 300 }, 9);
  const w = sim.world;
  // Row 0 is occupied: the sources must not overwrite it.
  for (let x = 0; x < 32; x++) w.set(w.flatOf([x, 0]), pack(MoleculeType.STRUCTURE, x), 0);
  sim.start();
  const rng = new Rng(cfg.seed);
  const want = new Set<number>();
  for (let i = 0; i < 60; i++) {
    const f = rng.nextInt(w.size);
    if (f >= 32) want.add(f);
  }
  assert.equal(energyCount(sim), want.size);
  for (const f of want) {
    assert.equal(w.cells[f], pack(MoleculeType.ENERGY, 300));
    assert.equal(w.owners[f], 0);
  }
  for (let x = 0; x < 32; x++) assert.equal(w.cells[x], pack(MoleculeType.STRUCTURE, x));
});

Deno.test("initial ENERGY is placed exactly initialCount times in a large empty world", () => {
  const cfg = config({ shape: [128, 128], seed: 3, energy: { ...NO_ENERGY, initialCount: 25 } });
  const sim = new Simulation(cfg, [new EnergySources(cfg.energy)]);
  const rng = new Rng(cfg.seed);
  const draws = new Set(Array.from({ length: 25 }, () => rng.nextInt(sim.world.size)));
  assert.equal(draws.size, 25, "precondition: this seed draws 25 distinct cells");
  sim.start();
  assert.equal(energyCount(sim), 25);
});

Deno.test("start chooses the configured number of geysers", () => {
  const { plugin, sim } = energySim({ geysers: 3 });
  sim.start();
  assert.equal(plugin.geysers.length, 3);
  for (const g of plugin.geysers) assert.ok(g >= 0 && g < sim.world.size);
  assert.equal(energyCount(sim), 0, "geysers do not emit before the first tick");
});

Deno.test("solar adds molecules over time, solarPer1000Ticks/1000 per tick", () => {
  const { cfg, sim } = energySim({ solarPer1000Ticks: 500, maxCoveragePerMille: 1000 }, 4);
  sim.start();
  run(sim, 1);
  assert.equal(energyCount(sim), 0, "half a molecule per tick: none after one tick");
  run(sim, 1);
  assert.equal(energyCount(sim), 1);
  run(sim, 98);
  // 50 drops in 100 ticks, on seeded random cells (a drop onto ENERGY is lost).
  const rng = new Rng(cfg.seed);
  const want = new Set<number>();
  for (let i = 0; i < 50; i++) want.add(rng.nextInt(sim.world.size));
  assert.equal(energyCount(sim), want.size);
  for (const f of want) {
    assert.equal(sim.world.cells[f], pack(MoleculeType.ENERGY, cfg.energy.value));
  }
});

Deno.test("solar carries the remainder: 2500 per 1000 ticks drops 2, then 3 molecules", () => {
  const { sim } = energySim({ solarPer1000Ticks: 2500, maxCoveragePerMille: 1000 }, 6);
  sim.start();
  run(sim, 1);
  assert.equal(energyCount(sim), 2);
  run(sim, 1);
  assert.equal(energyCount(sim), 5);
});

Deno.test("solar never writes onto occupied or owned cells", () => {
  const { sim } = energySim({ solarPer1000Ticks: 20000, maxCoveragePerMille: 1000 }, 2);
  const w = sim.world;
  const body = sim.place(
    { ...assemble(".PLACE STRUCTURE:1 0..31|0..3"), name: "wall" },
    [0, 0],
    100000,
  );
  // An owned but empty cell.
  w.set(w.flatOf([5, 20]), 0, body.id);
  sim.start();
  run(sim, 60);
  assert.ok(energyCount(sim) > 100);
  for (let f = 0; f < 32 * 4; f++) assert.equal(typeOf(w.cells[f]!), MoleculeType.STRUCTURE);
  assert.equal(w.cells[w.flatOf([5, 20])], 0);
});

Deno.test("sources pause while ENERGY covers maxCoveragePerMille of the world", () => {
  // 1024 cells at 10 per mille: sources pause from 11 molecules on (11000 >= 10240).
  const { sim } = energySim({ solarPer1000Ticks: 1000, maxCoveragePerMille: 10 });
  sim.start();
  run(sim, 300);
  assert.equal(energyCount(sim), 11);
  run(sim, 300);
  assert.equal(energyCount(sim), 11);
  // Taking ENERGY away lets them resume.
  const w = sim.world;
  const energy = [...w.cells.keys()].filter((f) => typeOf(w.cells[f]!) === MoleculeType.ENERGY);
  for (const f of energy.slice(0, 2)) w.set(f, 0, 0);
  assert.equal(energyCount(sim), 9);
  run(sim, 50);
  assert.equal(energyCount(sim), 11);
});

Deno.test("maxCoveragePerMille 0 stops solar and geysers entirely", () => {
  const { sim } = energySim({
    solarPer1000Ticks: 5000,
    geysers: 4,
    geyserInterval: 1,
    maxCoveragePerMille: 0,
  });
  sim.start();
  run(sim, 50);
  assert.equal(energyCount(sim), 0);
});

Deno.test("geysers emit every geyserInterval ticks within geyserRadius of themselves", () => {
  const { plugin, sim } = energySim({
    geysers: 2,
    geyserInterval: 5,
    geyserRadius: 2,
    maxCoveragePerMille: 1000,
  }, 7);
  sim.start();
  run(sim, 4);
  assert.equal(energyCount(sim), 0);
  run(sim, 1);
  assert.ok(energyCount(sim) >= 1 && energyCount(sim) <= 2);
  run(sim, 95);
  assert.ok(energyCount(sim) > 5);
  const w = sim.world;
  const near = (f: number, g: number) => {
    const a = w.coords(f);
    const b = w.coords(g);
    return a.every((c, i) => {
      const d = Math.abs(c - b[i]!);
      return Math.min(d, 32 - d) <= 2;
    });
  };
  for (let f = 0; f < w.size; f++) {
    if (w.cells[f] === 0) continue;
    assert.ok(plugin.geysers.some((g) => near(f, g)), `ENERGY at ${w.coords(f)} far from geysers`);
  }
});

// ---------------------------------------------------------------------------------------------
// Decay

/** A 3-cell organism at 4|4 that dies of energy exhaustion at tick 2. */
function dyingBody(decay: EngineConfigInput["decay"]) {
  const cfg = config({ decay: { ...decay } });
  const plugin = new Decay(cfg.decay);
  const sim = new Simulation(cfg, [plugin]);
  const o = sim.place(
    { ...assemble(".EMIT DATA:1\n.EMIT STRUCTURE:2\n.EMIT LABEL:3"), name: "d" },
    [4, 4],
    2,
  );
  const body = [0, 1, 2].map((x) => sim.world.flatOf([4 + x, 4]));
  return { sim, plugin, o, body };
}

Deno.test("decay empties a dead body's unowned cells delayTicks after the death", () => {
  const { sim, plugin, o, body } = dyingBody({ delayTicks: 5, energyPerMille: 0 });
  run(sim, 2);
  assert.equal(o.alive, false);
  assert.equal(plugin.pending, 3);
  run(sim, 4); // tick 6
  for (const f of body) assert.notEqual(sim.world.cells[f], 0);
  run(sim, 1); // tick 7 = death tick 2 + 5
  for (const f of body) {
    assert.equal(sim.world.cells[f], 0);
    assert.equal(sim.world.owners[f], 0);
  }
  assert.equal(plugin.pending, 0);
  assert.equal(sim.world.labels.has(3), false);
});

Deno.test("decay with energyPerMille 1000 turns every body cell into ENERGY", () => {
  const { sim, body } = dyingBody({ delayTicks: 3, energyPerMille: 1000, energyValue: 77 });
  run(sim, 5);
  for (const f of body) {
    assert.equal(sim.world.cells[f], pack(MoleculeType.ENERGY, 77));
    assert.equal(sim.world.owners[f], 0);
  }
});

Deno.test("decay with delayTicks 0 acts at the end of the tick of death", () => {
  const { sim, body } = dyingBody({ delayTicks: 0, energyPerMille: 0 });
  run(sim, 2);
  for (const f of body) assert.equal(sim.world.cells[f], 0);
});

Deno.test("decay leaves cells that were taken over or emptied in the meantime", () => {
  const { sim, body } = dyingBody({ delayTicks: 5, energyPerMille: 1000, energyValue: 77 });
  run(sim, 2);
  const w = sim.world;
  w.set(body[0]!, pack(MoleculeType.DATA, 5), 42); // someone else owns it now
  w.set(body[1]!, 0, 0); // eaten
  run(sim, 10);
  assert.equal(w.cells[body[0]!], pack(MoleculeType.DATA, 5));
  assert.equal(w.owners[body[0]!], 42);
  assert.equal(w.cells[body[1]!], 0);
  assert.equal(w.cells[body[2]!], pack(MoleculeType.ENERGY, 77));
});

Deno.test("decay does not schedule anything for living organisms", () => {
  const cfg = config({ decay: { delayTicks: 0, energyPerMille: 0 } });
  const plugin = new Decay(cfg.decay);
  const sim = new Simulation(cfg, [plugin]);
  sim.place({ ...assemble(".EMIT DATA:1"), name: "alive" }, [4, 4], 1000);
  run(sim, 20);
  assert.equal(plugin.pending, 0);
  assert.equal(sim.world.cells[sim.world.flatOf([4, 4])], pack(MoleculeType.DATA, 1));
});

// ---------------------------------------------------------------------------------------------
// Mutation

const CHILD_AT = [4, 10];
const MARK = 5;

interface Birth {
  sim: Simulation;
  mutation: Mutation;
  child: Organism;
  body: number[];
  /** Molecules (markers included) of the row from the child's first cell on, `n` cells. */
  row(n: number): number[];
  /** Owners of the same row. */
  owners(n: number): number[];
}

/**
 * A parent marks `molecules` in a row at CHILD_AT and forks them as a child heading +x, with
 * the given mutation chances. `after` is put right behind the row (0 = leave empty).
 */
function birth(
  seed: number,
  mutation: Partial<MutationConfig>,
  molecules: number[],
  after = 0,
): Birth {
  const cfg = config({ seed, mutation: { ...NO_MUTATION, ...mutation } });
  const plugin = new Mutation(cfg.mutation);
  const born: { child: Organism; body: number[] }[] = [];
  const spy: SimulationPlugin = {
    name: "spy",
    onBirth: (_sim, child, body) => born.push({ child, body }),
  };
  const sim = new Simulation(cfg, [plugin, spy]);
  const w = sim.world;
  const parent = sim.place(
    {
      name: "parent",
      cells: [{ pos: [0, 0], molecule: pack(MoleculeType.STRUCTURE, 99) }],
      entry: [0, 0],
      direction: [1, 0],
    },
    [1, 1],
    1000,
  );
  const at = (i: number) => w.flatOf([CHILD_AT[0]! + i, CHILD_AT[1]!]);
  molecules.forEach((m, i) => {
    w.set(at(i), pack(typeOf(m), valueOf(m), MARK), parent.id);
    parent.owned.push(at(i));
  });
  if (after !== 0) w.set(at(molecules.length), after, 0);
  parent.mr = MARK;
  assert.equal(sim.fork(parent, at(0), 0, 1, 100), null);
  assert.equal(born.length, 1);
  const { child, body } = born[0]!;
  const indices = (n: number) => Array.from({ length: n }, (_, i) => at(i));
  return {
    sim,
    mutation: plugin,
    child,
    body,
    row: (n) => indices(n).map((f) => w.cells[f]!),
    owners: (n) => indices(n).map((f) => w.owners[f]!),
  };
}

const structures = (n: number) =>
  Array.from({ length: n }, (_, i) => pack(MoleculeType.STRUCTURE, i + 1));

Deno.test("without mutation a newborn body is the marked cells with markers cleared", () => {
  const mol = structures(6);
  const b = birth(1, {}, mol);
  assert.deepEqual(b.row(6), mol);
  assert.ok(b.row(6).every((m) => markerOf(m) === 0));
  assert.deepEqual(b.owners(7), [...new Array(6).fill(b.child.id), 0]);
  assert.equal(b.child.bodySize, 6);
  assert.deepEqual(b.mutation.counts, {
    substitution: 0,
    insertion: 0,
    deletion: 0,
    labelRewrite: 0,
  });
});

Deno.test("substitutionPerMille 1000 changes exactly one cell of a newborn body", () => {
  const mol = structures(6);
  for (let seed = 1; seed <= 20; seed++) {
    const b = birth(seed, { substitutionPerMille: 1000 }, mol);
    const row = b.row(6);
    const changed = row.map((m, i) => (m !== mol[i] ? i : -1)).filter((i) => i >= 0);
    assert.equal(changed.length, 1, `seed ${seed}`);
    // A STRUCTURE is replaced by an instruction.
    const m = row[changed[0]!]!;
    assert.equal(typeOf(m), MoleculeType.CODE, `seed ${seed}`);
    assert.ok(valueOf(m) >= 1, `seed ${seed}`);
    assert.deepEqual(b.owners(6), new Array(6).fill(b.child.id));
    assert.equal(b.child.bodySize, 6);
    assert.equal(b.mutation.counts.substitution, 1);
  }
});

Deno.test({
  name: "a substitution always changes the molecule it replaces",
  fn: () => {
    const mol = Array.from({ length: 6 }, (_, i) => pack(MoleculeType.DATA, 10 * i));
    for (let seed = 1; seed <= 40; seed++) {
      const b = birth(seed, { substitutionPerMille: 1000 }, mol);
      const changed = b.row(6).filter((m, i) => m !== mol[i]).length;
      assert.equal(changed, 1, `seed ${seed}`);
    }
  },
});

Deno.test("insertionPerMille 1000 grows the body by one, shifting the rest of the run", () => {
  const mol = structures(6);
  for (let seed = 1; seed <= 20; seed++) {
    const b = birth(seed, { insertionPerMille: 1000 }, mol);
    const row = b.row(8);
    assert.equal(row[7], 0, `seed ${seed}`);
    const inserted = row.slice(0, 7).filter((m) => typeOf(m) === MoleculeType.CODE);
    assert.equal(inserted.length, 1, `seed ${seed}`);
    assert.ok(valueOf(inserted[0]!) >= 1);
    assert.deepEqual(
      row.slice(0, 7).filter((m) => typeOf(m) !== MoleculeType.CODE),
      mol,
      `seed ${seed}: order kept`,
    );
    assert.deepEqual(b.owners(8), [...new Array(7).fill(b.child.id), 0]);
    assert.equal(b.child.bodySize, 7);
    assert.equal(new Set(b.child.owned).size, 7);
    assert.equal(b.mutation.counts.insertion, 1);
  }
});

Deno.test("an insertion needs an empty cell at the end of the run", () => {
  const mol = structures(4);
  const wall = pack(MoleculeType.DATA, 1);
  for (let seed = 1; seed <= 5; seed++) {
    const b = birth(seed, { insertionPerMille: 1000 }, mol, wall);
    assert.deepEqual(b.row(5), [...mol, wall]);
    assert.equal(b.child.bodySize, 4);
    assert.equal(b.mutation.counts.insertion, 0);
  }
});

Deno.test("deletionPerMille 1000 shrinks the body by one, pulling the rest of the run back", () => {
  const mol = structures(6);
  for (let seed = 1; seed <= 20; seed++) {
    const b = birth(seed, { deletionPerMille: 1000 }, mol);
    const row = b.row(6);
    assert.equal(row[5], 0, `seed ${seed}`);
    const kept = row.slice(0, 5);
    const gone = mol.findIndex((m, i) => kept[i] !== m);
    assert.ok(gone >= 0, `seed ${seed}`);
    assert.deepEqual(kept, mol.filter((_, i) => i !== gone), `seed ${seed}`);
    assert.deepEqual(b.owners(6), [...new Array(5).fill(b.child.id), 0]);
    assert.equal(b.child.bodySize, 5);
    assert.ok(!b.child.owned.includes(b.sim.world.flatOf([CHILD_AT[0]! + 5, CHILD_AT[1]!])));
    assert.equal(b.mutation.counts.deletion, 1);
  }
});

Deno.test("a one-cell body is never deleted", () => {
  const b = birth(1, { deletionPerMille: 1000 }, structures(1));
  assert.deepEqual(b.row(1), structures(1));
  assert.equal(b.child.bodySize, 1);
  assert.equal(b.mutation.counts.deletion, 0);
});

Deno.test("label rewrite flips exactly one bit of one LABEL or LABELREF", () => {
  const h = labelHash("LOOP");
  const r = labelHash("NEXT");
  const mol = [
    pack(MoleculeType.STRUCTURE, 1),
    pack(MoleculeType.LABEL, h),
    pack(MoleculeType.STRUCTURE, 2),
    pack(MoleculeType.LABELREF, r),
    pack(MoleculeType.DATA, 3),
  ];
  const kinds = new Set<number>();
  for (let seed = 1; seed <= 20; seed++) {
    const b = birth(seed, { labelRewritePerMille: 1000 }, mol);
    const row = b.row(5);
    const changed = row.map((m, i) => (m !== mol[i] ? i : -1)).filter((i) => i >= 0);
    assert.equal(changed.length, 1, `seed ${seed}`);
    const i = changed[0]!;
    assert.ok(i === 1 || i === 3, `seed ${seed}: changed cell ${i}`);
    assert.equal(typeOf(row[i]!), typeOf(mol[i]!));
    const diff = valueOf(row[i]!) ^ valueOf(mol[i]!);
    assert.ok(diff > 0 && (diff & (diff - 1)) === 0, `seed ${seed}: one bit, got ${diff}`);
    assert.ok(valueOf(row[i]!) >= 0);
    if (i === 1) {
      assert.equal(b.sim.world.labels.has(h), false, "the old label value is unindexed");
      assert.ok(b.sim.world.labels.get(valueOf(row[1]!))?.has(b.body[1]!));
    }
    assert.equal(b.mutation.counts.labelRewrite, 1);
    kinds.add(i);
  }
  assert.deepEqual([...kinds].sort(), [1, 3], "both LABEL and LABELREF get rewritten");
});

Deno.test("label rewrite leaves a body without labels alone", () => {
  const mol = structures(4);
  const b = birth(2, { labelRewritePerMille: 1000 }, mol);
  assert.deepEqual(b.row(4), mol);
  assert.equal(b.mutation.counts.labelRewrite, 0);
});

Deno.test("the child's genome hash is taken after mutation", () => {
  const mol = structures(6);
  const b = birth(3, { substitutionPerMille: 1000, insertionPerMille: 1000 }, mol);
  const plain = birth(3, {}, mol);
  assert.equal(b.child.genomeHash, genomeHash(b.sim.world, b.child.owned, b.child.ip));
  assert.notEqual(b.child.genomeHash, plain.child.genomeHash);
  assert.equal(
    plain.child.genomeHash,
    genomeHash(plain.sim.world, plain.child.owned, plain.child.ip),
  );
});

Deno.test("mutations are deterministic for a seed", () => {
  const all = {
    substitutionPerMille: 500,
    insertionPerMille: 500,
    deletionPerMille: 500,
    labelRewritePerMille: 500,
  };
  const mol = [...structures(5), pack(MoleculeType.LABEL, 12345)];
  for (let seed = 1; seed <= 5; seed++) {
    assert.deepEqual(birth(seed, all, mol).row(8), birth(seed, all, mol).row(8));
  }
});
