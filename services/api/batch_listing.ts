/**
 * A run's raw batches as the API serves them: what each batch's sampled ticks are (from the
 * catalog index, else from the batch's own chunk headers, else from its file name only while
 * the name claims a plausible number of samples), which files are set aside and why
 * (unreadable, a name that disagrees with the contents, overlapping another batch), and where
 * ticks are missing between batches.
 *
 * @module
 */

import type { ChunkHeader } from "../../codec/mod.ts";
import type { CatalogEntry } from "../common/index_schema.ts";
import { eachLimited } from "./each_limited.ts";
import { lastAtOrBelow, spanLast, spansOf, type TickSpan } from "./tick_spans.ts";

/** One raw batch file the API serves ticks from. */
export interface BatchRef {
  key: string;
  /** First and last sampled tick (from the data; the file name agrees). */
  firstTick: number;
  lastTick: number;
  /** Its sampled ticks, ascending. */
  spans: TickSpan[];
}

/** A file under the run's raw prefix that is not served, and why. */
export interface BatchProblem {
  key: string;
  reason: string;
  /** Whether the file overlaps a served batch (its ticks are served), rather than unusable. */
  overlaps: boolean;
  /** The tick range its name claims, when it has one. */
  firstTick?: number;
  lastTick?: number;
}

/** Ticks between two served batches that no batch holds (missing, or not written yet). */
export interface TickGap {
  /** Last stored tick before the gap, first stored tick after it. */
  after: number;
  before: number;
}

/**
 * What a listing keeps of a batch's catalog entry: a few figures and its ticks as spans. A
 * listing holds one for every indexed batch of a growing run, so the entry's tick list and
 * chunk table (most of its size) are not kept.
 */
export interface CatalogFacts {
  storedBytes: number;
  organismsAlive: number;
  /** The entry's sampled ticks as spans, or why they cannot be used. */
  spans: readonly TickSpan[] | string;
}

/** The {@link CatalogFacts} of a catalog entry. */
export function catalogFacts(entry: CatalogEntry): CatalogFacts {
  let spans: readonly TickSpan[] | string;
  try {
    spans = spansOf(entry.ticks);
    if (spans.length === 0) spans = "its catalog entry lists no ticks";
  } catch (e) {
    spans = `its catalog entry is malformed: ${(e as Error).message}`;
  }
  return { storedBytes: entry.storedBytes, organismsAlive: entry.organismsAlive, spans };
}

/** A batch file named like one, with the tick range its name claims. */
export interface NamedBatch {
  key: string;
  firstTick: number;
  lastTick: number;
}

/** Options of {@link resolveBatches}. */
export interface ResolveBatchesOptions {
  runId: string;
  /** Ticks between samples (>= 1). */
  sampling: number;
  /** Files named like batches (names already parsed). */
  named: readonly NamedBatch[];
  /** Catalog entries by batch key (the catalog indexer read those batches). */
  catalog: ReadonlyMap<string, CatalogFacts>;
  /** The chunk headers of a batch; throws when it cannot be read (null when it is gone). */
  directory: (key: string) => Promise<ChunkHeader[] | null>;
  /** The chunk headers of a batch if they were read before (no reading). */
  peek?: (key: string) => ChunkHeader[] | undefined;
  /** Why a batch could not be read before, if it could not. */
  failed?: (key: string) => string | undefined;
  /** Directories read at once. Default 4. */
  concurrency?: number;
}

/**
 * Most samples a batch's name alone may vouch for: beyond this (a stray file named with a huge
 * range, say) its chunk headers are read first. Enumerating this many ticks is harmless.
 */
export const MAX_NAMED_SAMPLES = 2 ** 20;

/** What {@link resolveBatches} found. */
export interface ResolvedBatches {
  /** Served batches, ascending and disjoint. */
  batches: BatchRef[];
  problems: BatchProblem[];
  gaps: TickGap[];
}

/** Checks the chunk headers of a batch against its name; its spans, or the reason it is wrong. */
export function spansFromHeaders(
  named: NamedBatch,
  headers: readonly ChunkHeader[],
  runId: string,
  sampling: number,
): TickSpan[] | string {
  if (headers.length === 0) return "it holds no chunks";
  const spans: TickSpan[] = [];
  let previous = -1;
  for (const [i, h] of headers.entries()) {
    if (h.runId !== runId) return `chunk ${i} belongs to run '${h.runId}'`;
    const expected = h.firstTick + (h.sampleCount - 1) * sampling;
    if (h.sampleCount < 1 || h.lastTick !== expected) {
      return `chunk ${i} says ticks ${h.firstTick}..${h.lastTick} in ${h.sampleCount} samples ` +
        `every ${sampling} ticks`;
    }
    if (h.firstTick <= previous) {
      return `chunk ${i} starts at ${h.firstTick}, not after ${previous}`;
    }
    previous = h.lastTick;
    spans.push({ first: h.firstTick, step: sampling, count: h.sampleCount });
  }
  const first = spans[0]!.first;
  const last = spanLast(spans.at(-1)!);
  if (first !== named.firstTick || last !== named.lastTick) {
    return `its name says ticks ${named.firstTick}..${named.lastTick}, its chunks hold ` +
      `${first}..${last}`;
  }
  return spans;
}

/** The spans of a catalog entry, or the reason they cannot be used. */
function spansFromCatalog(named: NamedBatch, facts: CatalogFacts): TickSpan[] | string {
  const spans = facts.spans;
  if (typeof spans === "string") return spans;
  if (spans[0]!.first !== named.firstTick || spanLast(spans.at(-1)!) !== named.lastTick) {
    return `its catalog entry does not match its name's ticks ${named.firstTick}..` +
      `${named.lastTick}`;
  }
  return [...spans];
}

/** Reads what must be read (at most `concurrency` at once) and sorts the batches out. */
export async function resolveBatches(options: ResolveBatchesOptions): Promise<ResolvedBatches> {
  const { sampling, catalog } = options;
  const problems: BatchProblem[] = [];
  const candidates: (BatchRef & { indexed: boolean })[] = [];
  await eachLimited(options.named, options.concurrency ?? 4, async (named) => {
    const entry = catalog.get(named.key);
    let spans: TickSpan[] | string | null;
    try {
      spans = entry !== undefined
        ? spansFromCatalog(named, entry)
        : await headersToSpans(named, options);
    } catch (e) {
      spans = `it cannot be read: ${(e as Error).message}`;
    }
    if (spans === null) return;
    if (typeof spans === "string") problems.push({ ...named, reason: spans, overlaps: false });
    else candidates.push({ ...named, spans, indexed: entry !== undefined });
  });
  const batches = disjoint(candidates, problems);
  problems.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return { batches, problems, gaps: gapsBetween(batches, sampling) };
}

/** The spans of a batch the catalog does not have: known headers, its name, or its headers. */
async function headersToSpans(
  named: NamedBatch,
  options: ResolveBatchesOptions,
): Promise<TickSpan[] | string | null> {
  const failure = options.failed?.(named.key);
  if (failure !== undefined) return failure;
  const known = options.peek?.(named.key);
  if (known !== undefined) {
    return spansFromHeaders(named, known, options.runId, options.sampling);
  }
  const span = (named.lastTick - named.firstTick) / options.sampling;
  if (Number.isInteger(span) && span < MAX_NAMED_SAMPLES) {
    return [{ first: named.firstTick, step: options.sampling, count: span + 1 }];
  }
  const headers = await options.directory(named.key);
  if (headers === null) return null;
  return spansFromHeaders(named, headers, options.runId, options.sampling);
}

/**
 * Keeps batches that do not overlap: indexed ones first, then the earlier start, then the
 * shorter range (a stray file claiming a long range loses to the real batch it covers).
 */
function disjoint(
  candidates: (BatchRef & { indexed: boolean })[],
  problems: BatchProblem[],
): BatchRef[] {
  const ranked = [...candidates].sort((a, b) =>
    Number(b.indexed) - Number(a.indexed) || a.firstTick - b.firstTick ||
    a.lastTick - b.lastTick || (a.key < b.key ? -1 : 1)
  );
  // Kept batches, ascending; a candidate can clash only with its neighbours there.
  const kept: BatchRef[] = [];
  for (const c of ranked) {
    const at = insertionPoint(kept, c.firstTick);
    const clash = [kept[at - 1], kept[at]].find((k) =>
      k !== undefined && c.firstTick <= k.lastTick && k.firstTick <= c.lastTick
    );
    if (clash === undefined) {
      kept.splice(at, 0, {
        key: c.key,
        firstTick: c.firstTick,
        lastTick: c.lastTick,
        spans: c.spans,
      });
    } else {
      problems.push({
        key: c.key,
        firstTick: c.firstTick,
        lastTick: c.lastTick,
        overlaps: true,
        reason: `it overlaps batch '${clash.key}' (ticks ${clash.firstTick}..${clash.lastTick})`,
      });
    }
  }
  return kept;
}

/** Index of the first batch starting after `tick`. */
function insertionPoint(batches: readonly BatchRef[], tick: number): number {
  return lastAtOrBelow(batches.length, (i) => batches[i]!.firstTick, tick) + 1;
}

function gapsBetween(batches: readonly BatchRef[], sampling: number): TickGap[] {
  const gaps: TickGap[] = [];
  for (let i = 1; i < batches.length; i++) {
    const after = batches[i - 1]!.lastTick;
    const before = batches[i]!.firstTick;
    if (before - after > sampling) gaps.push({ after, before });
  }
  return gaps;
}
