import assert from "node:assert/strict";
import { ancestorPlacement, createEngine } from "./engine.ts";
import { resolveEngineConfig } from "./engine_config.ts";
import { byId, IdOrder } from "./id_order.ts";

function engine(seed: number) {
  return createEngine(resolveEngineConfig({ shape: [128, 128], seed }, ancestorPlacement(4)));
}

Deno.test("IdOrder gives every sample of a run the same organisms in the same order as a full sort", () => {
  const { sim } = engine(3);
  const order = new IdOrder();
  let births = 0;
  let deaths = 0;
  for (let t = 0; t < 30000; t++) {
    sim.step();
    if (sim.tick % 7 !== 0) continue;
    const dead = sim.takeDead();
    const expected = byId(sim.organisms, dead);
    const got = order.of(sim, dead);
    assert.equal(got.length, expected.length, `tick ${sim.tick}`);
    for (let i = 0; i < got.length; i++) assert.equal(got[i], expected[i], `tick ${sim.tick}`);
    deaths += dead.length;
    births = sim.births;
  }
  // The run had both births and deaths between samples, so the cheap path was exercised.
  assert.ok(births > 10 && deaths > 5, `births ${births}, deaths ${deaths}`);
});

Deno.test("IdOrder takes the organisms of a restored simulation, not those it knew before", () => {
  const a = engine(3);
  const b = engine(3);
  const order = new IdOrder();
  for (let t = 0; t < 300; t++) {
    a.sim.step();
    b.sim.step();
  }
  order.of(a.sim, a.sim.takeDead());
  // The same state in other objects: equal ids and counts, which only the restore tells apart.
  a.sim.restore({
    tick: b.sim.tick,
    organisms: b.sim.organisms,
    dead: [],
    nextOrganismId: b.sim.nextOrganismId,
    organismsCreated: b.sim.organismsCreated,
    births: b.sim.births,
    deaths: b.sim.deaths,
    instructionsExecuted: b.sim.instructionsExecuted,
    maxGeneration: b.sim.maxGeneration,
  });
  const got = order.of(a.sim, []);
  assert.ok(got.length > 0);
  assert.deepEqual(got, byId(b.sim.organisms, []));
  for (const o of got) assert.ok(b.sim.organisms.includes(o));
});

Deno.test("byId sorts living and dead organisms together by id, leaving its inputs as they were", () => {
  const { sim } = engine(5);
  for (let t = 0; t < 500; t++) sim.step();
  const living = sim.organisms.slice().reverse();
  const before = living.slice();
  const [dead, ...rest] = living;
  const sorted = byId(rest, [dead!]);
  assert.deepEqual(sorted.map((o) => o.id), living.map((o) => o.id).sort((x, y) => x - y));
  assert.deepEqual(living, before);
});
