/**
 * The runs in storage and their metadata, for the run store: the run ids (listing reused for
 * the TTL), each run's info (kept once read) and the runs whose metadata cannot be used
 * (remembered for the TTL).
 *
 * @module
 */

import { NotFoundError, type Storage } from "../../resources/storage/storage.ts";
import { metadataKey } from "../common/storage_layout.ts";
import { ApiHttpError, notFound, unreadableRun } from "./errors.ts";
import type { ListingTtl, Timed } from "./_listing_ttl.ts";
import { type RunInfo, runInfoOf } from "./run_info.ts";

/** A run whose metadata cannot be used, and why. */
export interface UnreadableRun {
  runId: string;
  reason: string;
}

function newer(a: RunInfo, b: RunInfo): boolean {
  return a.startedAtMs !== b.startedAtMs ? a.startedAtMs > b.startedAtMs : a.runId > b.runId;
}

/** The runs in storage and their metadata, cached. */
export class RunInfos {
  readonly #storage: Storage;
  readonly #ttl: ListingTtl;
  #runIds: Timed<string[]> | undefined;
  readonly #infos = new Map<string, RunInfo>();
  readonly #unreadable = new Map<string, Timed<string>>();

  /** Runs of `storage`, listed again after `ttl`. */
  constructor(storage: Storage, ttl: ListingTtl) {
    this.#storage = storage;
    this.#ttl = ttl;
  }

  /**
   * Run ids with any key under `runs/`, sorted (listing reused for the TTL). Lists the runs,
   * not their keys: a listing of every key cost the API gigabytes once a run had 50000
   * batches (several index files each), on every poll of the run list.
   */
  runIds(): Promise<string[]> {
    if (this.#ttl.fresh(this.#runIds)) return this.#runIds.value;
    const value = this.#storage.listChildren("runs/");
    const entry = { at: this.#ttl.now(), value };
    this.#runIds = entry;
    value.catch(() => {
      if (this.#runIds === entry) this.#runIds = undefined;
    });
    return value;
  }

  /**
   * The run's metadata, or null when it has none (yet); a 502 `unreadable_run` when it cannot
   * be used. `runId` must be validated.
   */
  async info(runId: string): Promise<RunInfo | null> {
    const cached = this.#infos.get(runId);
    if (cached !== undefined) return cached;
    const bad = this.#unreadable.get(runId);
    if (this.#ttl.fresh(bad)) throw unreadableRun(runId, await bad.value);
    let bytes: Uint8Array;
    try {
      bytes = await this.#storage.read(metadataKey(runId));
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
    const info = runInfoOf(runId, bytes);
    if (typeof info === "string") {
      this.#unreadable.set(runId, { at: this.#ttl.now(), value: Promise.resolve(info) });
      throw unreadableRun(runId, info);
    }
    this.#unreadable.delete(runId);
    this.#infos.set(runId, info);
    return info;
  }

  /** Every run with usable metadata, newest first, and those whose metadata is not usable. */
  async runList(): Promise<{ runs: RunInfo[]; unreadable: UnreadableRun[] }> {
    const unreadable: UnreadableRun[] = [];
    const infos = await Promise.all((await this.runIds()).map(async (id) => {
      try {
        return await this.info(id);
      } catch (e) {
        if (!(e instanceof ApiHttpError)) throw e;
        unreadable.push({ runId: id, reason: e.message });
        return null;
      }
    }));
    const runs = infos.filter((i): i is RunInfo => i !== null).sort((a, b) => newer(a, b) ? -1 : 1);
    unreadable.sort((a, b) => a.runId < b.runId ? -1 : 1);
    return { runs, unreadable };
  }

  /** Every run with usable metadata, newest first. */
  async runs(): Promise<RunInfo[]> {
    return (await this.runList()).runs;
  }

  /** A validated run id or `latest` to the run's info; 404 when unknown. */
  async resolve(runId: string): Promise<RunInfo> {
    if (runId === "latest") {
      const newest = (await this.runs())[0];
      if (newest === undefined) throw notFound("No runs in storage yet");
      return newest;
    }
    const info = await this.info(runId);
    if (info === null) throw notFound(`No run '${runId}' (or it has no metadata yet)`);
    return info;
  }
}
