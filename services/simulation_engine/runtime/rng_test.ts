import assert from "node:assert/strict";
import { Rng, splitMix64 } from "./rng.ts";

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextU32());
}

Deno.test("splitMix64 from state 0 yields the reference first output", () => {
  const [state, out] = splitMix64(0n);
  assert.equal(out, 0xe220a8397b1dcdafn);
  assert.equal(state, 0x9e3779b97f4a7c15n);
  // The second output of the reference sequence for seed 0.
  assert.equal(splitMix64(state)[1], 0x6e789e6aa1b965f4n);
});

Deno.test("the same seed gives the same sequence", () => {
  assert.deepEqual(draws(new Rng(7), 100), draws(new Rng(7), 100));
  assert.deepEqual(draws(new Rng(7n), 20), draws(new Rng(7), 20));
});

Deno.test("different seeds give different sequences", () => {
  const a = draws(new Rng(1), 16);
  const b = draws(new Rng(2), 16);
  assert.notDeepEqual(a, b);
  // Not just a shifted copy of each other either.
  assert.ok(a.filter((v) => b.includes(v)).length < 2);
});

Deno.test("seeds are taken modulo 2^64", () => {
  assert.deepEqual(draws(new Rng((1n << 64n) + 5n), 8), draws(new Rng(5), 8));
  assert.deepEqual(draws(new Rng(-1), 8), draws(new Rng((1n << 64n) - 1n), 8));
});

Deno.test("nextU32 returns unsigned 32-bit integers", () => {
  const rng = new Rng(3);
  let high = false;
  for (const v of draws(rng, 2000)) {
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `${v}`);
    if (v >= 0x80000000) high = true;
  }
  assert.ok(high, "the top bit is used");
});

Deno.test("nextInt stays in range over many draws and hits every value of a small range", () => {
  const rng = new Rng(12345);
  const hits = new Array<number>(7).fill(0);
  for (let i = 0; i < 7000; i++) {
    const v = rng.nextInt(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7, `${v}`);
    hits[v]!++;
  }
  for (const [v, n] of hits.entries()) assert.ok(n > 700, `value ${v} drawn ${n} times`);
  for (let i = 0; i < 100; i++) assert.equal(rng.nextInt(1), 0);
  for (const n of [2, 1000, 1 << 19, 2 ** 32]) {
    for (let i = 0; i < 500; i++) {
      const v = rng.nextInt(n);
      assert.ok(v >= 0 && v < n, `${v} not in [0, ${n})`);
    }
  }
});

Deno.test("fromState(state()) continues identically", () => {
  const a = new Rng(99);
  draws(a, 37);
  const b = Rng.fromState(a.state());
  assert.deepEqual(b.state(), a.state());
  assert.equal(b.stateHash(), a.stateHash());
  assert.deepEqual(draws(b, 50), draws(a, 50));
  assert.equal(b.nextInt(1000), a.nextInt(1000));
});

Deno.test("state() is a copy: changing it does not change the generator", () => {
  const a = new Rng(4);
  const s = a.state();
  s[0] = 123;
  assert.notEqual(a.state()[0], 123);
});

Deno.test("stateHash changes as the generator advances", () => {
  const a = new Rng(8);
  const h0 = a.stateHash();
  a.nextU32();
  assert.notEqual(a.stateHash(), h0);
  assert.equal(new Rng(8).stateHash(), h0);
});

Deno.test("fork is deterministic and independent of the parent's later draws", () => {
  const p1 = new Rng(21);
  const p2 = new Rng(21);
  const c1 = p1.fork();
  const c2 = p2.fork();
  assert.deepEqual(p1.state(), p2.state());
  draws(p1, 10);
  assert.deepEqual(draws(c1, 20), draws(c2, 20));
  assert.notDeepEqual(draws(p2, 5), draws(new Rng(21).fork(), 5));
});

Deno.test("chance(num, den) is never true for 0 and always true for den", () => {
  const rng = new Rng(5);
  let some = 0;
  for (let i = 0; i < 1000; i++) {
    assert.equal(rng.chance(0, 10), false);
    assert.equal(rng.chance(10, 10), true);
    if (rng.chance(1, 2)) some++;
  }
  assert.ok(some > 400 && some < 600, `${some} of 1000`);
});

Deno.test("setState continues the sequence of the generator the state was taken from", () => {
  const a = new Rng(99n);
  draws(a, 17);
  const b = new Rng(1n);
  b.setState(a.state());
  assert.deepEqual(draws(b, 50), draws(a, 50));
  assert.throws(() => b.setState([1, 2, 3]), /An Rng state has 4 words, got 3/);
});
