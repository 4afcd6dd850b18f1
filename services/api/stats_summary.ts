/**
 * A run's statistics held as block sums of bounded size, so that the whole-run series clients
 * poll while a run grows costs the new rows only, not a read of every stats file per new file.
 *
 * Samples are grouped in aligned blocks of `blockSize` consecutive samples (a power of two):
 * block j holds the sum of every metric over samples j*blockSize .. (j+1)*blockSize - 1, their
 * count and the first one's tick. When the blocks reach {@link MAX_BLOCKS} the block size
 * doubles and neighbours merge, so a summary holds at most MAX_BLOCKS blocks however long the
 * run. A series whose buckets are whole multiples of the block size is exact: the same bucket
 * means the rows would give with buckets of that size.
 *
 * @module
 */

import type { StatsRow } from "../common/index_schema.ts";
import type { BatchRange } from "./index_reader.ts";

/** Most blocks a summary holds (then the block size doubles). */
export const MAX_BLOCKS = 4096;

/** Block sums of a run's statistics (see the module doc). */
export class StatsSummary {
  readonly metrics: readonly string[];
  /** Samples per block, a power of two. */
  blockSize = 1;
  /** Blocks in use. */
  blocks = 0;
  /** Samples added. */
  samples = 0;
  /** The stats files added, ascending. */
  readonly files: BatchRange[] = [];
  #lastTick = -Infinity;
  #firstTicks = new Float64Array(MAX_BLOCKS);
  #counts = new Float64Array(MAX_BLOCKS);
  #sums: Float64Array;

  constructor(metrics: readonly string[]) {
    this.metrics = metrics;
    this.#sums = new Float64Array(MAX_BLOCKS * metrics.length);
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#firstTicks.byteLength + this.#counts.byteLength + this.#sums.byteLength + 256;
  }

  /**
   * Whether the files added so far and `files` agree as far as both go (then the summary goes
   * on with the rest of `files`, or is newer than them); false when a file appeared between
   * others (a gap filled later), which needs a new summary.
   */
  agreesWith(files: readonly BatchRange[]): boolean {
    const n = Math.min(files.length, this.files.length);
    for (let i = 0; i < n; i++) {
      const a = this.files[i]!, b = files[i]!;
      if (a.firstTick !== b.firstTick || a.lastTick !== b.lastTick) return false;
    }
    return true;
  }

  /** Adds one stats file's rows (ascending); a tick not after the last one added is skipped. */
  add(file: BatchRange, rows: readonly StatsRow[]): void {
    this.files.push({ firstTick: file.firstTick, lastTick: file.lastTick });
    const m = this.metrics.length;
    for (const row of rows) {
      if (!(row.tick > this.#lastTick)) continue;
      this.#lastTick = row.tick;
      let b = this.blocks - 1;
      if (b < 0 || this.#counts[b] === this.blockSize) {
        if (this.blocks === MAX_BLOCKS) this.#merge();
        b = this.blocks++;
        this.#firstTicks[b] = row.tick;
      }
      this.#counts[b]!++;
      const at = b * m;
      for (let k = 0; k < m; k++) {
        this.#sums[at + k]! += (row as Record<string, number>)[this.metrics[k]!] ?? 0;
      }
      this.samples++;
    }
  }

  /** Doubles the block size: block j becomes blocks 2j and 2j + 1 together. */
  #merge(): void {
    const m = this.metrics.length;
    const merged = Math.ceil(this.blocks / 2);
    for (let j = 0; j < merged; j++) {
      const a = 2 * j, b = 2 * j + 1;
      this.#firstTicks[j] = this.#firstTicks[a]!;
      const both = b < this.blocks;
      this.#counts[j] = this.#counts[a]! + (both ? this.#counts[b]! : 0);
      for (let k = 0; k < m; k++) {
        this.#sums[j * m + k] = this.#sums[a * m + k]! + (both ? this.#sums[b * m + k]! : 0);
      }
    }
    this.#counts.fill(0, merged);
    this.#sums.fill(0, merged * m);
    this.blocks = merged;
    this.blockSize *= 2;
  }

  /**
   * The series of `metrics` in at most `maxPoints` buckets of a whole number of blocks each
   * (`bucket` samples), or null when that needs buckets finer than the blocks (then the rows
   * must be read).
   */
  series(
    metrics: readonly string[],
    maxPoints: number,
  ): { ticks: number[]; series: Record<string, number[]>; bucket: number } | null {
    const wanted = Math.max(1, Math.ceil(this.samples / maxPoints));
    if (wanted < this.blockSize && this.blockSize > 1) return null;
    const per = Math.ceil(wanted / this.blockSize); // blocks per bucket
    const m = this.metrics.length;
    const columns = metrics.map((name) => {
      const k = this.metrics.indexOf(name);
      if (k < 0) throw new RangeError(`No metric '${name}' in the summary`);
      return k;
    });
    const ticks: number[] = [];
    const series: Record<string, number[]> = {};
    for (const name of metrics) series[name] = [];
    for (let i = 0; i < this.blocks; i += per) {
      const end = Math.min(this.blocks, i + per);
      let count = 0;
      for (let j = i; j < end; j++) count += this.#counts[j]!;
      ticks.push(this.#firstTicks[i]!);
      for (const [c, k] of columns.entries()) {
        let sum = 0;
        for (let j = i; j < end; j++) sum += this.#sums[j * m + k]!;
        series[metrics[c]!]!.push(count === 1 ? sum : sum / count);
      }
    }
    return { ticks, series, bucket: per * this.blockSize };
  }
}
