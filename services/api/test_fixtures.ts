/**
 * Test data for the API tests: real runs made by the in-process pipeline, a reference replay
 * of every sample, and index files in the layout of services/common/index_schema.ts written by a
 * minimal stand-in for the indexers (test code only; not exported from mod.ts).
 *
 * @module
 */

import { parquetWriteBuffer } from "hyparquet-writer";
import {
  fromBinary,
  type OrganismState,
  type TickDataChunk,
  TickDataChunkSchema,
  type TickSummary,
} from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { readMessages } from "../../resources/storage/message_stream.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import {
  type CatalogEntry,
  catalogKey,
  ORGANISM_COLUMNS,
  organismsKey,
  STATS_COLUMNS,
  statsKey,
} from "../common/index_schema.ts";
import { parseBatchKey, rawPrefix } from "../common/storage_layout.ts";
import { defaultConfig, Pipeline, resolveConfig } from "../runner/mod.ts";
import type { EngineConfigInput } from "../simulation_engine/runtime/mod.ts";
import { replayChunk } from "../../codec/mod.ts";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";

/** Runs the in-process pipeline (engine and persistence only) into `dataDir`; the run id. */
export async function makeRun(
  dataDir: string,
  options: { ticks?: number; engine?: EngineConfigInput } = {},
): Promise<string> {
  const config = defaultConfig({
    dataDir,
    ticks: options.ticks ?? 2000,
    persistence: 2,
    engine: options.engine ?? { shape: [256, 64], seed: 3 },
  });
  // Only raw data: the tests write (or leave out) index files themselves.
  for (const [name, s] of Object.entries(config.services)) {
    if ((s.kind as string) === "indexer" || (s.kind as string) === "http-api") {
      delete config.services[name];
    }
  }
  if (config.startupSequence !== undefined) {
    config.startupSequence = config.startupSequence.filter((n) => config.services[n]);
  }
  const p = await Pipeline.create(resolveConfig(config));
  await p.start();
  await p.engine!.done;
  await p.stop();
  return p.engine!.runId;
}

/** One sample, replayed independently of the API. */
export interface RefSample {
  tick: number;
  cells: Int32Array;
  owners: Int32Array;
  organisms: OrganismState[];
  summary: TickSummary | undefined;
}

/** One raw batch with its decoded chunks. */
export interface RefBatch {
  key: string;
  firstTick: number;
  lastTick: number;
  storedBytes: number;
  rawBytes: number;
  chunks: TickDataChunk[];
}

/** The raw batches of a run, decoded. */
export async function readBatches(storage: Storage, runId: string): Promise<RefBatch[]> {
  const out: RefBatch[] = [];
  for (const key of await listAllKeys(storage, rawPrefix(runId))) {
    const r = parseBatchKey(key);
    if (r === null) continue;
    const { messages } = await readMessages(storage, key);
    out.push({
      key,
      ...r,
      storedBytes: (await storage.size(key)) ?? 0,
      rawBytes: messages.reduce((n, m) => n + m.length, 0),
      chunks: messages.map((m) => fromBinary(TickDataChunkSchema, m)),
    });
  }
  return out.sort((a, b) => a.firstTick - b.firstTick);
}

/** Every sample of the run by tick (copies of the replayed arrays). */
export function replayAll(batches: RefBatch[], cellCount: number): Map<number, RefSample> {
  const out = new Map<number, RefSample>();
  for (const b of batches) {
    for (const chunk of b.chunks) {
      for (const s of replayChunk(chunk, cellCount)) {
        out.set(s.tick, {
          tick: s.tick,
          cells: s.cells.slice(),
          owners: s.owners.slice(),
          organisms: s.organisms,
          summary: s.summary,
        });
      }
    }
  }
  return out;
}

async function put(storage: Storage, key: string, bytes: Uint8Array): Promise<void> {
  const w = await storage.openWriter(key);
  await w.write(bytes);
  await w.commit();
}

function parquet(
  columns: readonly (readonly [string, string, string])[],
  rows: Record<string, number | string>[],
): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({
    columnData: columns.map(([name, type]) => ({
      name,
      type: type as "INT32" | "INT64" | "DOUBLE" | "STRING",
      data: rows.map((r) => type === "INT64" ? BigInt(r[name] as number) : r[name]!),
    })),
  }));
}

/** Which index files {@link writeIndexes} writes. */
export interface IndexChoice {
  stats?: boolean;
  organisms?: boolean;
  catalog?: boolean;
}

/**
 * Writes stats, organisms and catalog files for every batch, as the indexers would (the values
 * are plausible, computed from the samples; the layout and columns follow the schema).
 */
export async function writeIndexes(
  storage: Storage,
  runId: string,
  batches: RefBatch[],
  samples: Map<number, RefSample>,
  choice: IndexChoice = { stats: true, organisms: true, catalog: true },
): Promise<void> {
  const genomesEver = new Set<number>();
  for (const b of batches) {
    const ticks = [...samples.keys()].filter((t) => t >= b.firstTick && t <= b.lastTick)
      .sort((x, y) => x - y);
    const statsRows: Record<string, number | string>[] = [];
    const organisms = new Map<number, Record<string, number | string>>();
    for (const t of ticks) {
      const s = samples.get(t)!;
      const living = s.organisms.filter((o) => o.alive);
      const n = living.length;
      const genomes = new Map<number, number>();
      for (const o of living) genomes.set(o.genomeHash, (genomes.get(o.genomeHash) ?? 0) + 1);
      let fresh = 0;
      for (const g of genomes.keys()) {
        if (!genomesEver.has(g)) fresh++;
        genomesEver.add(g);
      }
      let shannon = 0;
      for (const c of genomes.values()) shannon -= (c / n) * Math.log(c / n);
      const sum = (f: (o: OrganismState) => number) => living.reduce((a, o) => a + f(o), 0);
      const counts = s.summary?.moleculeCounts ?? [];
      let owned = 0;
      for (let i = 0; i < s.owners.length; i++) if (s.owners[i] !== 0) owned++;
      statsRows.push({
        tick: t,
        alive: n,
        born: s.summary?.births ?? 0,
        died: s.summary?.deaths ?? 0,
        created_total: Number(s.summary?.organismsCreated ?? 0),
        energy_total: sum((o) => o.energy),
        energy_mean: n ? sum((o) => o.energy) / n : 0,
        entropy_total: sum((o) => o.entropy),
        entropy_mean: n ? sum((o) => o.entropy) / n : 0,
        generation_max: living.reduce((a, o) => Math.max(a, o.generation), 0),
        generation_mean: n ? sum((o) => o.generation) / n : 0,
        genomes_distinct: genomes.size,
        genomes_active: [...genomes.values()].filter((c) => c >= 2).length,
        genomes_new: fresh,
        genomes_ever: genomesEver.size,
        shannon_diversity: shannon,
        cells_code: counts[0] ?? 0,
        cells_data: counts[1] ?? 0,
        cells_energy: counts[2] ?? 0,
        cells_structure: counts[3] ?? 0,
        cells_label: counts[4] ?? 0,
        cells_labelref: counts[5] ?? 0,
        cells_register: counts[6] ?? 0,
        cells_owned: owned,
        instructions_total: Number(s.summary?.instructionsExecuted ?? 0),
      });
      for (const o of s.organisms) {
        const row = organisms.get(o.id) ?? {
          id: o.id,
          parent_id: o.parentId,
          birth_tick: Number(o.birthTick),
          death_tick: -1,
          death_reason: "",
          generation: o.generation,
          genome_hash: o.genomeHash,
          body_size: o.bodySize,
          children: 0,
          first_seen_tick: t,
          last_seen_tick: t,
          energy_last: 0,
          program: "",
        };
        row.children = o.children;
        row.last_seen_tick = t;
        row.energy_last = o.energy;
        if (!o.alive) {
          row.death_tick = Number(o.deathTick);
          row.death_reason = o.deathReason;
        }
        organisms.set(o.id, row);
      }
    }
    if (choice.stats) {
      await put(
        storage,
        statsKey(runId, b.firstTick, b.lastTick),
        parquet(STATS_COLUMNS, statsRows),
      );
    }
    if (choice.organisms) {
      await put(
        storage,
        organismsKey(runId, b.firstTick, b.lastTick),
        parquet(ORGANISM_COLUMNS, [...organisms.values()]),
      );
    }
    if (choice.catalog) {
      const last = samples.get(ticks.at(-1)!)!;
      const entry: CatalogEntry = {
        runId,
        batchKey: b.key,
        firstTick: b.firstTick,
        lastTick: b.lastTick,
        ticks,
        chunks: b.chunks.map((c) => ({
          index: Number(c.chunkIndex),
          firstTick: Number(c.firstTick),
          lastTick: Number(c.lastTick),
        })),
        rawBytes: b.rawBytes,
        storedBytes: b.storedBytes,
        organismsAlive: last.organisms.filter((o) => o.alive).length,
        maxGeneration: last.organisms.reduce((a, o) => Math.max(a, o.generation), 0),
      };
      await put(
        storage,
        catalogKey(runId, b.firstTick, b.lastTick),
        new TextEncoder().encode(JSON.stringify(entry)),
      );
    }
  }
}

/** A data directory with two runs: `indexed` (older, with index files) and `raw` (latest). */
export interface TwoRuns {
  root: string;
  storage: FilesystemStorage;
  indexed: string;
  raw: string;
  shape: number[];
  /** Reference samples of each run. */
  samples: Map<string, Map<number, RefSample>>;
  batches: Map<string, RefBatch[]>;
}

/** Builds {@link TwoRuns} in a fresh temporary directory (removed at process exit). */
export async function makeTwoRuns(): Promise<TwoRuns> {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-test-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // Already gone.
    }
  });
  const shape = [256, 64];
  const indexed = await makeRun(root, { engine: { shape, seed: 3 } });
  // Start times are in ms; make sure the second run starts later.
  await new Promise((r) => setTimeout(r, 5));
  const raw = await makeRun(root, { engine: { shape, seed: 5 }, ticks: 1500 });
  const storage = await FilesystemStorage.open({ root });
  const samples = new Map<string, Map<number, RefSample>>();
  const batches = new Map<string, RefBatch[]>();
  for (const run of [indexed, raw]) {
    const b = await readBatches(storage, run);
    batches.set(run, b);
    samples.set(run, replayAll(b, shape[0]! * shape[1]!));
  }
  await writeIndexes(storage, indexed, batches.get(indexed)!, samples.get(indexed)!);
  return { root, storage, indexed, raw, shape, samples, batches };
}
