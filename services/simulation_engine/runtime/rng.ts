/**
 * Deterministic random numbers: xoshiro128** (32-bit operations only, so it is fast in JS and
 * identical on every machine), seeded from a 64-bit seed through SplitMix64.
 *
 * @module
 */

const MASK64 = (1n << 64n) - 1n;

/** One SplitMix64 step: returns [next state, output]. */
export function splitMix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** A seeded xoshiro128** generator. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds from a 64-bit seed (numbers are taken modulo 2^64). */
  constructor(seed: bigint | number) {
    let s = BigInt.asUintN(64, BigInt(seed));
    let out: bigint;
    [s, out] = splitMix64(s);
    this.#a = Number(out & 0xffffffffn) | 0;
    this.#b = Number(out >> 32n) | 0;
    [s, out] = splitMix64(s);
    this.#c = Number(out & 0xffffffffn) | 0;
    this.#d = Number(out >> 32n) | 0;
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** Builds a generator from a state captured by {@link Rng.state}. */
  static fromState(state: readonly number[]): Rng {
    const r = new Rng(0);
    r.#a = state[0]! | 0;
    r.#b = state[1]! | 0;
    r.#c = state[2]! | 0;
    r.#d = state[3]! | 0;
    return r;
  }

  /** Continues from a state captured by {@link Rng.state} (in place: holders keep this object). */
  setState(state: readonly number[]): void {
    if (state.length !== 4) throw new RangeError(`An Rng state has 4 words, got ${state.length}`);
    this.#a = state[0]! | 0;
    this.#b = state[1]! | 0;
    this.#c = state[2]! | 0;
    this.#d = state[3]! | 0;
  }

  /** The four state words. */
  state(): number[] {
    return [this.#a, this.#b, this.#c, this.#d];
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const b = this.#b;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result >>> 0;
  }

  /** Uniform integer in [0, n); n must be in 1..2^32. */
  nextInt(n: number): number {
    // Multiply-shift keeps it branch-free; the bias for n << 2^32 is negligible here.
    return Math.floor((this.nextU32() * n) / 4294967296);
  }

  /** True with probability num/den (integers, deterministic). */
  chance(num: number, den: number): boolean {
    return this.nextInt(den) < num;
  }

  /** A child generator seeded from this one's next 64 bits. */
  fork(): Rng {
    const hi = BigInt(this.nextU32());
    const lo = BigInt(this.nextU32());
    return new Rng((hi << 32n) | lo);
  }

  /** A 64-bit digest of the state, for determinism checks. */
  stateHash(): bigint {
    const s = this.state();
    let h = 0xcbf29ce484222325n;
    for (const w of s) {
      h ^= BigInt(w >>> 0);
      h = (h * 0x100000001b3n) & MASK64;
    }
    return h;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
