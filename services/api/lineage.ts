/**
 * GET /api/runs/:run/lineage: the family tree below an organism, from the organisms index;
 * batches the organisms indexer has not reached yet are scanned from their raw chunks instead.
 *
 * @module
 */

import type { OrganismState } from "../../proto/mod.ts";
import { decodeTickDataChunk } from "../../codec/mod.ts";
import { readMessages } from "../../resources/storage/message_stream.ts";
import type { LineageNode, LineageResponse } from "./api_types.ts";
import { notFound } from "./errors.ts";
import type { IndexData } from "./index_data.ts";
import type { OrganismRow } from "./index_reader.ts";
import { approxSize } from "./approx_size.ts";
import { type CacheStats, LruCache } from "./lru_cache.ts";
import type { BatchRef, RunStore, RunView } from "./run_store.ts";

/** Every organism record of a run, and the batches that could not be read for it. */
export interface LineageRecords {
  records: Map<number, LineageRecord>;
  /** Batches left out: neither their index rows nor their raw chunks could be read. */
  skipped: { key: string; reason: string }[];
}

/** What the tree needs of one organism. */
export interface LineageRecord {
  id: number;
  parentId: number;
  birthTick: number;
  deathTick: number | null;
  generation: number;
  genomeHash: number;
}

/** A lineage request. */
export interface LineageQuery {
  /** Organism id; 0 is the run itself (a synthetic node above the placed organisms). */
  root: number;
  /** Levels below the root. */
  depth: number;
  /** Most nodes in the answer (root included). */
  maxNodes: number;
}

function fromRow(r: OrganismRow): LineageRecord {
  const death = Number(r.death_tick);
  return {
    id: Number(r.id),
    parentId: Number(r.parent_id),
    birthTick: Number(r.birth_tick),
    deathTick: death >= 0 ? death : null,
    generation: Number(r.generation),
    genomeHash: Number(r.genome_hash),
  };
}

function fromState(o: OrganismState): LineageRecord {
  const death = Number(o.deathTick);
  return {
    id: o.id,
    parentId: o.parentId,
    birthTick: Number(o.birthTick),
    deathTick: !o.alive && death > 0 ? death : null,
    generation: o.generation,
    genomeHash: o.genomeHash,
  };
}

/** Adds a record, keeping the known death tick when rows of several batches meet. */
export function mergeRecord(into: Map<number, LineageRecord>, r: LineageRecord): void {
  const old = into.get(r.id);
  if (old === undefined) into.set(r.id, r);
  else if (old.deathTick === null && r.deathTick !== null) old.deathTick = r.deathTick;
}

/** Builds the tree below `q.root` from every organism record of a run. */
export function buildLineage(
  runId: string,
  records: ReadonlyMap<number, LineageRecord>,
  q: LineageQuery,
): LineageResponse {
  const children = new Map<number, number[]>();
  for (const r of records.values()) {
    // Organisms whose parent never appeared in a sample (born and dead between two samples)
    // hang under the run's root, so that nothing is unreachable.
    const parent = r.parentId !== 0 && !records.has(r.parentId) ? 0 : r.parentId;
    let list = children.get(parent);
    if (list === undefined) children.set(parent, list = []);
    list.push(r.id);
  }
  for (const list of children.values()) list.sort((a, b) => a - b);
  let rootRecord: LineageRecord;
  if (q.root === 0) {
    rootRecord = {
      id: 0,
      parentId: 0,
      birthTick: 0,
      deathTick: null,
      generation: -1,
      genomeHash: 0,
    };
  } else {
    const r = records.get(q.root);
    if (r === undefined) {
      throw notFound(`No organism ${q.root} in run '${runId}' (neither indexed nor sampled)`);
    }
    rootRecord = r;
  }
  const countBelow = (id: number): number => {
    let n = 0;
    const stack = [...(children.get(id) ?? [])];
    while (stack.length > 0) {
      const c = stack.pop()!;
      n++;
      for (const g of children.get(c) ?? []) stack.push(g);
    }
    return n;
  };
  let nodes = 1;
  let truncated = 0;
  const toNode = (r: LineageRecord): LineageNode => ({
    id: r.id,
    parentId: r.parentId,
    birthTick: r.birthTick,
    deathTick: r.deathTick,
    generation: r.generation,
    genomeHash: r.genomeHash,
    children: [],
  });
  const root = toNode(rootRecord);
  // Breadth first, so that a node budget keeps the upper levels.
  let level: LineageNode[] = [root];
  for (let d = 0; level.length > 0; d++) {
    const next: LineageNode[] = [];
    for (const node of level) {
      for (const id of children.get(node.id) ?? []) {
        if (d >= q.depth || nodes >= q.maxNodes) {
          truncated += 1 + countBelow(id);
          continue;
        }
        const child = toNode(records.get(id)!);
        node.children.push(child);
        next.push(child);
        nodes++;
      }
    }
    level = next;
  }
  return { runId, root, truncated };
}

/** Organism records of a run: index rows where the index has the batch, else scanned chunks. */
export class LineageSource {
  readonly #store: RunStore;
  readonly #index: IndexData;
  readonly #scanned: LruCache<string, LineageRecord[]>;
  readonly #merged: LruCache<string, { version: string; merged: LineageRecords }>;

  /** `maxBytes`: estimated bytes of lineage records kept, half scans, half merged runs. */
  constructor(store: RunStore, index: IndexData, maxBytes = 11 * 2 ** 20) {
    this.#store = store;
    this.#index = index;
    const half = Math.floor(maxBytes / 2);
    this.#scanned = new LruCache<string, LineageRecord[]>({
      name: "lineage_scans",
      maxEntries: 1024,
      maxBytes: half,
      sizeOf: approxSize,
    });
    this.#merged = new LruCache<string, { version: string; merged: LineageRecords }>({
      name: "lineage_runs",
      maxEntries: 4,
      maxBytes: half,
      // Records are six numbers each; the map's entries dominate.
      sizeOf: (m) => 160 * m.merged.records.size + approxSize(m.merged.skipped),
    });
  }

  /** Counters of the scanned-batch and merged-run caches. */
  cacheStats(): CacheStats[] {
    return [this.#scanned.stats(), this.#merged.stats()];
  }

  async #scan(batch: BatchRef): Promise<LineageRecord[]> {
    return await this.#scanned.getOrLoad(batch.key, async () => {
      const seen = new Map<number, LineageRecord>();
      const { messages } = await readMessages(this.#store.storage, batch.key);
      for (const [i, bytes] of messages.entries()) {
        let chunk;
        try {
          chunk = decodeTickDataChunk(bytes);
        } catch (e) {
          throw new Error(`Cannot read batch '${batch.key}': chunk ${i}: ${(e as Error).message}`);
        }
        for (const o of chunk.snapshot?.organisms ?? []) mergeRecord(seen, fromState(o));
        for (const d of chunk.deltas) for (const o of d.organisms) mergeRecord(seen, fromState(o));
      }
      return [...seen.values()];
    });
  }

  /**
   * Every organism of the run, by id (reused while no batch or index file is added); a batch
   * that cannot be read is skipped and named, the others still count.
   */
  async records(view: RunView): Promise<LineageRecords> {
    const runId = view.info.runId;
    const indexed = new Set(
      (await this.#index.list(runId, "organisms")).map((r) => `${r.firstTick}_${r.lastTick}`),
    );
    const version = `${view.batches.length}:${view.batches.at(-1)?.key}:${indexed.size}`;
    const memo = this.#merged.get(runId);
    if (memo !== undefined && memo.version === version) return memo.merged;
    const merged = await this.#merge(view, indexed);
    this.#merged.set(runId, { version, merged });
    return merged;
  }

  async #merge(view: RunView, indexed: Set<string>): Promise<LineageRecords> {
    const runId = view.info.runId;
    const skipped: LineageRecords["skipped"] = [];
    const parts = await Promise.all(view.batches.map(async (b) => {
      if (indexed.has(`${b.firstTick}_${b.lastTick}`)) {
        try {
          return (await this.#index.organismRows(runId, b)).map(fromRow);
        } catch {
          // An unreadable index file: the raw batch has the same organisms.
        }
      }
      try {
        return await this.#scan(b);
      } catch (e) {
        skipped.push({ key: b.key, reason: (e as Error).message });
        return [];
      }
    }));
    const records = new Map<number, LineageRecord>();
    for (const part of parts) {
      // Copies: merging must not change cached records.
      for (const r of part) mergeRecord(records, { ...r });
    }
    skipped.sort((a, b) => a.key < b.key ? -1 : 1);
    return { records, skipped };
  }
}
