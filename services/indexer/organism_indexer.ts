/**
 * The organism indexer: one {@link OrganismRow} per organism that appears in a raw batch,
 * written as Parquet at {@link organismsKey}. Batches are independent: no ordering needed.
 *
 * `program` is the organism's body at the first sample of the batch that shows it: the
 * molecules of the cells it owns then, in world-flat index order, formatted like `DATA:5` and
 * joined by spaces (empty for an organism first seen dead: dead bodies lose their owner).
 *
 * @module
 */

import {
  formatMolecule,
  type LeanOrganisms,
  NO_ORGANISMS,
  type ReplayedState,
  sharedReplayer,
} from "../../codec/mod.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import type { BatchIndexer, IndexResult } from "./batch_indexer.ts";
import { indexFileMetadata, writeParquetRows } from "./parquet.ts";
import { type RawBatch, type RunInfo, writeObject } from "./raw_batch.ts";
import {
  indexPrefix,
  ORGANISM_COLUMNS,
  type OrganismRow,
  organismsKey,
} from "../common/index_schema.ts";

/** A row for organism `i` of `os`, first seen at `tick`. */
function newRow(os: LeanOrganisms, i: number, tick: number): OrganismRow {
  return {
    id: os.id[i]!,
    parent_id: os.parentId[i]!,
    birth_tick: os.birthTick[i]!,
    death_tick: -1,
    death_reason: "",
    generation: os.generation[i]!,
    genome_hash: os.genomeHash[i]!,
    body_size: os.bodySize[i]!,
    children: 0,
    first_seen_tick: tick,
    last_seen_tick: tick,
    energy_last: 0,
    program: "",
  };
}

/** Sets what a row keeps of the last sample showing its organism (`i` of `os`, at `tick`). */
function lastSeen(row: OrganismRow, os: LeanOrganisms, i: number, tick: number): void {
  row.last_seen_tick = tick;
  row.energy_last = os.energy[i]!;
  row.children = os.children[i]!;
}

/** The organisms of one sample and their rows, in the sample's order. */
interface Seen {
  tick: number;
  os: LeanOrganisms;
  rows: OrganismRow[];
}

/**
 * Computes the organism rows of `batch` for a world of `size` cells, ascending by id. Pure:
 * no I/O.
 */
export function computeOrganisms(batch: RawBatch, size: number): OrganismRow[] {
  const rows = new Map<number, OrganismRow>();
  const bodies = new Bodies(size);
  const replayer = sharedReplayer(size);
  let previous: Seen = { tick: 0, os: NO_ORGANISMS, rows: [] };
  for (const chunk of batch.chunks) {
    for (const s of replayer.replay(chunk)) {
      const os = s.organisms;
      const seen: Seen = { tick: s.tick, os, rows: new Array<OrganismRow>(os.count) };
      const newIds: number[] = [];
      // Samples list ids ascending and mostly the same ones: an organism's row is the previous
      // sample's, matched in step; its last values are taken once it is no longer shown.
      const prevIds = previous.os.id;
      let j = 0;
      for (let i = 0; i < os.count; i++) {
        const id = os.id[i]!;
        for (; j < previous.os.count && prevIds[j]! < id; j++) {
          lastSeen(previous.rows[j]!, previous.os, j, previous.tick);
        }
        let row: OrganismRow | undefined;
        if (j < previous.os.count && prevIds[j] === id) row = previous.rows[j++]!;
        else if ((row = rows.get(id)) === undefined) {
          row = newRow(os, i, s.tick);
          rows.set(id, row);
          newIds.push(id);
        }
        seen.rows[i] = row;
        if (os.alive[i] === 0) {
          row.death_tick = os.deathTick[i]!;
          row.death_reason = os.deathReason[i]!;
        }
      }
      for (; j < previous.os.count; j++) lastSeen(previous.rows[j]!, previous.os, j, previous.tick);
      previous = seen;
      if (newIds.length > 0) bodies.write(s, newIds, rows);
    }
  }
  previous.rows.forEach((row, i) => lastSeen(row, previous.os, i, previous.tick));
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

/** Most formatted molecules {@link Bodies} keeps: a world's distinct molecules are far fewer. */
const FORMATTED = 1 << 16;

/** Writes the `program` of organisms first seen at a sample: their bodies then. */
class Bodies {
  /** Per organism id: 1 + its index among the organisms first seen, or 0. */
  #slot = new Int32Array(1024);
  /** Bodies repeat the same molecules (a lineage's code): each is formatted once. */
  readonly #formatted = new Map<number, string>();

  constructor(readonly size: number) {}

  write(s: ReplayedState, newIds: number[], rows: Map<number, OrganismRow>): void {
    const maxId = Math.max(...newIds);
    if (this.#slot.length <= maxId) {
      this.#slot = new Int32Array(Math.max(maxId + 1, this.#slot.length * 2));
    }
    const slot = this.#slot;
    newIds.forEach((id, k) => slot[id] = k + 1);
    const bodies = newIds.map((): string[] => []);
    const { cells, owners } = s;
    const limit = slot.length;
    // Born since the previous sample: every cell they own changed owner since then.
    const at = s.changed ?? null;
    const n = at === null ? this.size : at.length;
    const cellsAt = at === null ? null : at.slice().sort();
    for (let k = 0; k < n; k++) {
      const i = cellsAt === null ? k : cellsAt[k]!;
      const o = owners[i]!;
      if (o <= 0 || o >= limit || slot[o] === 0) continue;
      bodies[slot[o]! - 1]!.push(this.#format(cells[i]!));
    }
    newIds.forEach((id, k) => {
      slot[id] = 0;
      rows.get(id)!.program = bodies[k]!.join(" ");
    });
  }

  #format(m: number): string {
    let text = this.#formatted.get(m);
    if (text === undefined) {
      if (this.#formatted.size >= FORMATTED) this.#formatted.clear();
      this.#formatted.set(m, text = formatMolecule(m));
    }
    return text;
  }
}

/** The organisms index kind. */
export const organismIndexer: BatchIndexer = {
  kind: "organisms",
  needsRunInfo: true,
  doneKey: (ref) => organismsKey(ref.runId, ref.firstTick, ref.lastTick),
  donePrefix: (runId) => indexPrefix(runId, "organisms"),
  prerequisite: () => null,
  provides: () => null,
  async index(storage: Storage, batch: RawBatch, run: RunInfo | null): Promise<IndexResult> {
    if (run === null) throw new Error(`Organisms of '${batch.key}' need the run's metadata`);
    const rows = computeOrganisms(batch, run.size);
    const parquet = writeParquetRows(ORGANISM_COLUMNS, rows, indexFileMetadata("organisms", batch));
    const created = await writeObject(
      storage,
      organismsKey(batch.runId, batch.firstTick, batch.lastTick),
      parquet,
    );
    return { rows: rows.length, created };
  },
};
