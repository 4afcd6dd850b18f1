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

import { ChunkReplayer, formatMolecule } from "../../codec/mod.ts";
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

/**
 * Computes the organism rows of `batch` for a world of `size` cells, ascending by id. Pure:
 * no I/O.
 */
export function computeOrganisms(batch: RawBatch, size: number): OrganismRow[] {
  const rows = new Map<number, OrganismRow>();
  let fresh = new Uint8Array(1024);
  const replayer = new ChunkReplayer(size);
  for (const chunk of batch.chunks) {
    for (const s of replayer.replay(chunk)) {
      const newIds: number[] = [];
      const os = s.organisms;
      for (let i = 0; i < os.count; i++) {
        const id = os.id[i]!;
        let row = rows.get(id);
        if (row === undefined) {
          row = {
            id,
            parent_id: os.parentId[i]!,
            birth_tick: os.birthTick[i]!,
            death_tick: -1,
            death_reason: "",
            generation: os.generation[i]!,
            genome_hash: os.genomeHash[i]!,
            body_size: os.bodySize[i]!,
            children: 0,
            first_seen_tick: s.tick,
            last_seen_tick: s.tick,
            energy_last: 0,
            program: "",
          };
          rows.set(id, row);
          newIds.push(id);
        }
        row.last_seen_tick = s.tick;
        row.energy_last = os.energy[i]!;
        row.children = os.children[i]!;
        if (os.alive[i] === 0) {
          row.death_tick = os.deathTick[i]!;
          row.death_reason = os.deathReason[i]!;
        }
      }
      if (newIds.length === 0) continue;
      // Bodies of the organisms first seen here: one pass over the owners.
      const maxId = Math.max(...newIds);
      if (fresh.length <= maxId) fresh = new Uint8Array(Math.max(maxId + 1, fresh.length * 2));
      for (const id of newIds) fresh[id] = 1;
      const bodies = new Map<number, string[]>(newIds.map((id) => [id, []]));
      const { cells, owners } = s;
      const limit = fresh.length;
      const isNew = (o: number) => o > 0 && o < limit && fresh[o] === 1;
      if (s.changed === null) {
        for (let i = 0; i < size; i++) {
          if (isNew(owners[i]!)) bodies.get(owners[i]!)!.push(formatMolecule(cells[i]!));
        }
      } else {
        // Born since the previous sample: every cell they own changed owner since then.
        const at = s.changed.filter((i) => isNew(owners[i]!)).sort();
        for (const i of at) bodies.get(owners[i]!)!.push(formatMolecule(cells[i]!));
      }
      for (const id of newIds) {
        fresh[id] = 0;
        rows.get(id)!.program = bodies.get(id)!.join(" ");
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.id - b.id);
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
