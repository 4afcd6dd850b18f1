import assert from "node:assert/strict";
import { DistinctCounter } from "./distinct_counter.ts";

Deno.test("DistinctCounter counts each distinct 32-bit value once, zero and values above 2^31 too", () => {
  const c = new DistinctCounter();
  c.reset(8);
  for (const v of [0, 7, 0xffffffff, 7, 0x80000000, 0, 0xdeadbeef, 0xffffffff]) c.add(v);
  assert.equal(c.size, 5);
});

Deno.test("DistinctCounter starts each count empty, with no value of the last count left", () => {
  const c = new DistinctCounter();
  c.reset(4);
  for (const v of [1, 2, 3]) c.add(v);
  c.reset(4);
  assert.equal(c.size, 0);
  c.add(2);
  c.add(9);
  assert.equal(c.size, 2);
});

Deno.test("DistinctCounter grows past the room it was reset for and agrees with a Set", () => {
  const c = new DistinctCounter();
  for (let round = 0; round < 5; round++) {
    c.reset(2);
    const set = new Set<number>();
    // Many collisions: values that differ only above bit 16 share their low bits.
    for (let i = 0; i < 3000; i++) {
      const v = ((i * 2654435761) >>> 0) % (1000 + 500 * round) * 65536 >>> 0;
      c.add(v);
      set.add(v);
    }
    assert.equal(c.size, set.size, `round ${round}`);
  }
});
