/**
 * The stats indexer: one {@link StatsRow} per sampled tick of a raw batch, written as Parquet
 * at {@link statsKey}, and the run's {@link StatsState} after the batch at
 * {@link statsStateKey}.
 *
 * Most columns come from the sample alone (its organisms, the replayed world, the engine's
 * summary for the run-wide counters). `genomes_new` and `genomes_ever` depend on every earlier
 * tick of the run, so a run's batches are indexed in tick order: a batch needs the state
 * written after its predecessor (the batch ending one sampling interval before it starts); the
 * batch starting at tick 0 starts from an empty state. A genome counts as seen once a living
 * organism carries it at a sample (organisms born and dead between two samples do not count,
 * matching `genomes_distinct`). The state is written before the Parquet file, which is the done
 * key: a crash in between leaves the batch to be indexed again, rewriting nothing.
 *
 * Ticks that cannot be read (a raw batch that is unreadable, or missing while later batches
 * exist, see ./batch_gaps.ts) do not stop the run's stats. The service asks {@link
 * statsIndexer}.passOver to write the state after the gap from the state before it, so that
 * the batches after it are indexed: every per-sample column is exact, and the carried columns
 * follow one documented rule: they count the samples that could be read. So after a gap,
 * `genomes_ever` is a lower bound (genomes that lived only inside the gap are not in it) and
 * `genomes_new` at the first sample after the gap also counts genomes that first appeared
 * inside it. The gap is recorded in the state ({@link StatsState.gaps}) and in the footer of
 * every Parquet file computed without it (key {@link CARRIED_GAPS_KEY}, a JSON list), so a
 * reader can tell which rows the rule applies to.
 *
 * When the batch turns up later (or an unreadable one is replaced), its own rows are indexed
 * from the state before it and are exact; the files after it keep their values, because index
 * files are write-once (no-clobber, never replaced: DESIGN.md section 5) and other readers may
 * have used them. The service reports this as a note. Deleting the run's `index/stats/` and
 * `index/state/stats/` makes the indexer recompute them from the complete raw data.
 *
 * @module
 */

import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { sharedReplayer } from "../../codec/mod.ts";
import { WorldTally } from "./world_tally.ts";
import type { BatchIndexer, IndexResult, PassedOver } from "./batch_indexer.ts";
import {
  indexFileMetadata,
  parquetFooter,
  type ParquetKeyValue,
  writeParquetRows,
} from "./parquet.ts";
import type { BatchRef, RawBatch, RunInfo } from "./raw_batch.ts";
import { writeObject } from "./raw_batch.ts";
import {
  type CarriedGap,
  indexPrefix,
  STATS_COLUMNS,
  statsKey,
  type StatsRow,
  type StatsState,
  statsStateKey,
} from "../common/index_schema.ts";

/**
 * Footer key of a stats Parquet file whose carried columns lack some earlier ticks: a JSON list
 * of {@link CarriedGap}. Absent when the carried columns saw every earlier sample.
 */
export const CARRIED_GAPS_KEY = "evochora.stats.carried_gaps";

/**
 * The gaps a stats Parquet file's carried columns lack (its {@link CARRIED_GAPS_KEY} footer
 * entry), empty when they saw every earlier sample. Throws when the entry is malformed.
 */
export function carriedGaps(parquet: Uint8Array): CarriedGap[] {
  const entry = parquetFooter(parquet).find((kv) => kv.key === CARRIED_GAPS_KEY);
  if (entry === undefined) return [];
  const gaps: unknown = JSON.parse(entry.value);
  if (!Array.isArray(gaps) || !gaps.every(isCarriedGap)) {
    throw new Error(`Footer entry '${CARRIED_GAPS_KEY}' is not a list of gaps`);
  }
  return gaps;
}

/** Where a batch (or a gap) of a run starts; `key` names it in messages. */
export type RunTicks = Pick<BatchRef, "runId" | "firstTick"> & { key?: string };

/** The state a run starts from. */
export function emptyStatsState(runId: string): StatsState {
  return { runId, lastTick: -1, genomes: [] };
}

/**
 * Key of the state a batch starts from, or null for the run's first batch (tick 0). The
 * predecessor ends one sampling interval before `ref.firstTick`.
 */
export function predecessorStateKey(ref: RunTicks, sampling: number): string | null {
  if (ref.firstTick === 0) return null;
  return statsStateKey(ref.runId, ref.firstTick - sampling);
}

/** Encodes a state as the JSON stored at {@link statsStateKey}. */
export function encodeStatsState(state: StatsState): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(state) + "\n");
}

/** Decodes a stored state; throws naming `key` when it is not a StatsState of `runId`. */
export function decodeStatsState(key: string, runId: string, bytes: Uint8Array): StatsState {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`Stats state '${key}' is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const s = v as Partial<StatsState> | null;
  if (
    s === null || typeof s !== "object" || s.runId !== runId ||
    typeof s.lastTick !== "number" || !Array.isArray(s.genomes) ||
    !s.genomes.every((g) => Number.isSafeInteger(g)) ||
    (s.skippedBatches !== undefined && !Array.isArray(s.skippedBatches)) ||
    (s.gaps !== undefined && !(Array.isArray(s.gaps) && s.gaps.every(isCarriedGap)))
  ) {
    throw new Error(`Stats state '${key}' is not a stats state of run '${runId}'`);
  }
  return s as StatsState;
}

function isCarriedGap(g: unknown): g is CarriedGap {
  const v = g as Partial<CarriedGap> | null;
  return v !== null && typeof v === "object" && Number.isSafeInteger(v.firstTick) &&
    Number.isSafeInteger(v.lastTick) && typeof v.reason === "string" &&
    (v.batchKey === undefined || typeof v.batchKey === "string");
}

/** Reads the state a batch (or a gap) starts from (empty for the run's first tick). */
export async function readPredecessorState(
  storage: Storage,
  ref: RunTicks,
  sampling: number,
): Promise<StatsState> {
  const key = predecessorStateKey(ref, sampling);
  if (key === null) return emptyStatsState(ref.runId);
  let bytes: Uint8Array;
  try {
    bytes = await storage.read(key);
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new Error(
        `Stats of '${
          ref.key ?? `ticks from ${ref.firstTick}`
        }' need the state of the previous batch at '${key}', which is missing`,
      );
    }
    throw e;
  }
  return decodeStatsState(key, ref.runId, bytes);
}

/** Rows of a batch and the state after it. */
export interface StatsResult {
  rows: StatsRow[];
  state: StatsState;
}

/**
 * Computes the stats rows of `batch` for a world of `size` cells, continuing from `previous`
 * (the state after the batch before it). Pure: no I/O.
 */
export function computeStats(batch: RawBatch, size: number, previous: StatsState): StatsResult {
  const seen = new Set(previous.genomes);
  const rows: StatsRow[] = [];
  const replayer = sharedReplayer(size);
  const tally = WorldTally.shared(size);
  const typeCounts = tally.types;
  let mark = new Uint8Array(1024);
  for (const chunk of batch.chunks) {
    for (const s of replayer.replay(chunk)) {
      tally.update(s);
      const os = s.organisms;
      const isAlive = os.alive;
      let alive = 0;
      let died = 0;
      let energy = 0;
      let entropy = 0;
      let genMax = 0;
      let genSum = 0;
      let maxId = 0;
      const genomeCounts = new Map<number, number>();
      for (let i = 0; i < os.count; i++) {
        if (isAlive[i] === 0) {
          died++;
          continue;
        }
        alive++;
        energy += os.energy[i]!;
        entropy += os.entropy[i]!;
        const generation = os.generation[i]!;
        genSum += generation;
        if (generation > genMax) genMax = generation;
        if (os.id[i]! > maxId) maxId = os.id[i]!;
        const genome = os.genomeHash[i]!;
        genomeCounts.set(genome, (genomeCounts.get(genome) ?? 0) + 1);
      }
      if (mark.length <= maxId) mark = new Uint8Array(Math.max(maxId + 1, mark.length * 2));
      else mark.fill(0);
      for (let i = 0; i < os.count; i++) if (isAlive[i] !== 0) mark[os.id[i]!] = 1;
      let genomesActive = 0;
      let genomesNew = 0;
      let shannon = 0;
      for (const [g, n] of genomeCounts) {
        if (n >= 2) genomesActive++;
        if (!seen.has(g)) {
          seen.add(g);
          genomesNew++;
        }
        const p = n / alive;
        shannon -= p * Math.log(p);
      }
      // Cells owned by the living, each organism counted once.
      let owned = 0;
      for (let i = 0; i < os.count; i++) {
        const id = os.id[i]!;
        if (isAlive[i] !== 0 && mark[id] === 1) {
          owned += tally.ownedBy(id);
          mark[id] = 2;
        }
      }
      const sum = s.summary;
      rows.push({
        tick: s.tick,
        alive,
        born: sum?.births ?? 0,
        died,
        created_total: Number(sum?.organismsCreated ?? 0n),
        energy_total: energy,
        energy_mean: alive > 0 ? energy / alive : 0,
        entropy_total: entropy,
        entropy_mean: alive > 0 ? entropy / alive : 0,
        generation_max: genMax,
        generation_mean: alive > 0 ? genSum / alive : 0,
        genomes_distinct: genomeCounts.size,
        genomes_active: genomesActive,
        genomes_new: genomesNew,
        genomes_ever: seen.size,
        // -0 when a single genome holds everything: store a clean 0.
        shannon_diversity: shannon === 0 ? 0 : shannon,
        cells_code: typeCounts[0]!,
        cells_data: typeCounts[1]!,
        cells_energy: typeCounts[2]!,
        cells_structure: typeCounts[3]!,
        cells_label: typeCounts[4]!,
        cells_labelref: typeCounts[5]!,
        cells_register: typeCounts[6]!,
        cells_owned: owned,
        instructions_total: Number(sum?.instructionsExecuted ?? 0n),
      });
    }
  }
  const state: StatsState = {
    runId: batch.runId,
    lastTick: batch.lastTick,
    genomes: [...seen].sort((a, b) => a - b),
  };
  if (previous.skippedBatches !== undefined) state.skippedBatches = [...previous.skippedBatches];
  if (previous.gaps !== undefined) state.gaps = previous.gaps.map((g) => ({ ...g }));
  return { rows, state };
}

function need(run: RunInfo | null, ref: Pick<BatchRef, "runId" | "key">): RunInfo {
  if (run === null) throw new Error(`Stats of '${ref.key}' need the run's metadata`);
  return run;
}

/** Footer of a stats file: the usual keys, plus the gaps its carried columns lack. */
function statsFooter(batch: RawBatch, previous: StatsState): ParquetKeyValue[] {
  const meta = indexFileMetadata("stats", batch);
  const gaps = previous.gaps ?? [];
  if (gaps.length > 0) meta.push({ key: CARRIED_GAPS_KEY, value: JSON.stringify(gaps) });
  return meta;
}

/**
 * When the state after `batch` was there before it (written when its ticks were passed over),
 * a note that the files after it keep values computed without it; otherwise undefined.
 */
async function passedOverNote(storage: Storage, batch: BatchRef): Promise<string | undefined> {
  const key = statsStateKey(batch.runId, batch.lastTick);
  const state = decodeStatsState(key, batch.runId, await storage.read(key));
  const own = (state.gaps ?? []).find((g) =>
    g.firstTick <= batch.lastTick && batch.firstTick <= g.lastTick
  );
  if (own === undefined) return undefined;
  return `stats of '${batch.key}' indexed after ticks ${own.firstTick}..${own.lastTick} were ` +
    `passed over (${own.reason}): genomes_new and genomes_ever after tick ${batch.lastTick} ` +
    `keep values computed without it (index files are write-once); delete ` +
    `'${indexPrefix(batch.runId, "stats")}' and '${indexPrefix(batch.runId, "state")}stats/' ` +
    `to recompute them`;
}

/** The stats index kind. */
export const statsIndexer: BatchIndexer = {
  kind: "stats",
  needsRunInfo: true,
  doneKey: (ref) => statsKey(ref.runId, ref.firstTick, ref.lastTick),
  donePrefix: (runId) => indexPrefix(runId, "stats"),
  prerequisite: (ref, run) => predecessorStateKey(ref, need(run, ref).sampling),
  provides: (ref) => statsStateKey(ref.runId, ref.lastTick),
  async index(storage: Storage, batch: RawBatch, run: RunInfo | null): Promise<IndexResult> {
    const info = need(run, batch);
    const previous = await readPredecessorState(storage, batch, info.sampling);
    const { rows, state } = computeStats(batch, info.size, previous);
    const parquet = writeParquetRows(STATS_COLUMNS, rows, statsFooter(batch, previous));
    // The state first: the Parquet file is the done key, so it must come last.
    const a = await writeObject(
      storage,
      statsStateKey(batch.runId, batch.lastTick),
      encodeStatsState(state),
    );
    const b = await writeObject(
      storage,
      statsKey(batch.runId, batch.firstTick, batch.lastTick),
      parquet,
    );
    const result: IndexResult = { rows: rows.length, created: a || b };
    if (!a && b) {
      const note = await passedOverNote(storage, batch);
      if (note !== undefined) result.note = note;
    }
    return result;
  },
  async passOver(storage: Storage, gap: PassedOver, run: RunInfo | null): Promise<boolean> {
    const sampling = need(run, { runId: gap.runId, key: `ticks ${gap.firstTick}` }).sampling;
    const previous = await readPredecessorState(storage, gap, sampling);
    const { runId, ...carried } = gap;
    const state: StatsState = {
      runId,
      lastTick: gap.lastTick,
      genomes: previous.genomes,
      gaps: [...(previous.gaps ?? []), carried],
    };
    const skipped = [...(previous.skippedBatches ?? [])];
    if (gap.batchKey !== undefined) skipped.push(gap.batchKey);
    if (skipped.length > 0) state.skippedBatches = skipped;
    return await writeObject(storage, statsStateKey(runId, gap.lastTick), encodeStatsState(state));
  },
};
