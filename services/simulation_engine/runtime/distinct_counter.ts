/**
 * {@link DistinctCounter}: how many distinct 32-bit values, counted again and again.
 *
 * @module
 */

/**
 * Counts distinct 32-bit values, reused from count to count: an open-addressing table whose
 * slots are valid for one count (stamped), so that nothing is cleared or allocated per count.
 * The tick stream counts a sample's distinct genomes with it: a Set of genome hashes (mostly
 * above V8's small-integer range, so boxed) was 12-15% of what capturing a sample cost.
 */
export class DistinctCounter {
  #keys = new Int32Array(0);
  #stamps = new Uint32Array(0);
  #stamp = 0;
  #mask = -1;
  /** Distinct values added since {@link reset}. */
  size = 0;

  /** Starts a new count, with room for `n` values (more make it grow). */
  reset(n: number): void {
    this.size = 0;
    if (this.#keys.length < 2 * n || this.#stamp === 0xffffffff) this.#allocate(2 * n);
    this.#stamp++;
  }

  /** Adds `value` (a uint32 or int32; the two spellings of one 32-bit value count once). */
  add(value: number): void {
    if (2 * (this.size + 1) > this.#keys.length) this.#grow();
    const v = value | 0;
    const keys = this.#keys;
    const stamps = this.#stamps;
    const stamp = this.#stamp;
    const mask = this.#mask;
    let i = (Math.imul(v, 0x9e3779b1) >>> 16) & mask;
    while (stamps[i] === stamp) {
      if (keys[i] === v) return;
      i = (i + 1) & mask;
    }
    stamps[i] = stamp;
    keys[i] = v;
    this.size++;
  }

  /** Fresh, empty slots for at least `n` values (a power of two, at least 64). */
  #allocate(n: number): void {
    let cap = 64;
    while (cap < n) cap *= 2;
    this.#keys = new Int32Array(cap);
    this.#stamps = new Uint32Array(cap);
    this.#stamp = 0;
    this.#mask = cap - 1;
  }

  /** Twice the room, the values of this count kept. */
  #grow(): void {
    const keys = this.#keys;
    const stamps = this.#stamps;
    const stamp = this.#stamp;
    this.#allocate(Math.max(64, keys.length * 2));
    this.#stamp = 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (stamps[i] === stamp) this.add(keys[i]!);
  }
}
