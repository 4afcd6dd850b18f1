/**
 * The metadata-persistence service: writes each run's SimulationMetadata to
 * `runs/<runId>/metadata.pb` (no-clobber: a redelivery is a no-op), then commits.
 *
 * @module
 */

import {
  create,
  DeadLetterSchema,
  FORMAT_VERSION,
  fromBinary,
  SimulationMetadataSchema,
  toBinary,
} from "../../proto/mod.ts";
import {
  ClosedError,
  type Consumer,
  type Delivery,
  type Queue,
} from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { deadLetterKey, metadataKey } from "../persistence/batch_key.ts";
import {
  type Service,
  type ServiceState,
  type ServiceStatus,
  superviseLoop,
} from "../runner/service.ts";

/** Options for {@link MetadataPersistenceService}. */
export interface MetadataPersistenceOptions {
  name: string;
  input: Queue;
  storage: Storage;
  /** Milliseconds between retries of a failed write. Default 200. */
  retryMs?: number;
  /** Consumer group. Default "metadata-persistence". */
  group?: string;
}

/** Writes run metadata to storage. */
export class MetadataPersistenceService implements Service {
  readonly name: string;
  readonly kind = "metadata-persistence";
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  readonly #o: MetadataPersistenceOptions;
  #consumer: Consumer | null = null;
  #state: ServiceState = "created";
  #error: string | undefined;
  #stopping = false;
  readonly #m = { records: 0, runs: 0, duplicates: 0, dead_letters: 0, errors: 0 };

  constructor(options: MetadataPersistenceOptions) {
    this.#o = options;
    this.name = options.name;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  start(): Promise<void> {
    this.#state = "running";
    this.#consumer = this.#o.input.consumer({
      group: this.#o.group ?? "metadata-persistence",
      member: this.name,
    });
    superviseLoop(this.#loop(), (error) => this.#ended(error));
    return Promise.resolve();
  }

  /** The work loop ended: stopped when it returned, failed with the error when it threw. */
  #ended(error: string | undefined): void {
    this.#state = error === undefined ? "stopped" : "failed";
    if (error !== undefined) this.#error = error;
    this.#resolveDone();
  }

  async #loop(): Promise<void> {
    const consumer = this.#consumer!;
    try {
      while (!this.#stopping) {
        let deliveries: Delivery[];
        try {
          deliveries = await consumer.drain(16, 200);
        } catch (e) {
          if (e instanceof ClosedError) break;
          throw e;
        }
        for (const d of deliveries) {
          this.#m.records++;
          while (!this.#stopping && !(await this.#store(d))) {
            await new Promise((r) => setTimeout(r, this.#o.retryMs ?? 200));
          }
          if (this.#stopping) return; // uncommitted: redelivered on the next start
          await consumer.commit([d]);
        }
      }
    } finally {
      await consumer.close();
    }
  }

  /** Writes one record (or its dead letter). false when storage failed: retry later. */
  async #store(d: Delivery): Promise<boolean> {
    let key: string;
    let bytes = d.value;
    try {
      const meta = fromBinary(SimulationMetadataSchema, d.value);
      if (!/^[A-Za-z0-9._=-]{1,128}$/.test(meta.runId)) {
        throw new RangeError(`run id '${meta.runId}' is not a valid key segment`);
      }
      key = metadataKey(meta.runId);
    } catch (e) {
      const runId = /^[A-Za-z0-9._=-]{1,128}$/.test(d.headers.run ?? "")
        ? d.headers.run!
        : "unknown-run";
      key = deadLetterKey(runId, this.#o.input.name, d.partition, d.offset);
      bytes = toBinary(
        DeadLetterSchema,
        create(DeadLetterSchema, {
          runId,
          source: this.#o.input.name,
          payload: d.value,
          reason: `undecodable SimulationMetadata: ${(e as Error).message}`,
          attempts: 1,
          service: this.name,
          failedAtMs: BigInt(Date.now()),
          formatVersion: FORMAT_VERSION,
        }),
      );
      this.#m.dead_letters++;
    }
    try {
      const w = await this.#o.storage.openWriter(key);
      try {
        await w.write(bytes);
        const r = await w.commit();
        if (r.created) this.#m.runs++;
        else this.#m.duplicates++;
      } catch (e) {
        await w.abort();
        throw e;
      }
      this.#error = undefined;
      return true;
    } catch (e) {
      this.#m.errors++;
      this.#error = `writing '${key}' failed: ${(e as Error).message}; will retry`;
      return false;
    }
  }

  async stop(): Promise<void> {
    if (this.#state === "created") {
      this.#state = "stopped";
      this.#resolveDone();
      return;
    }
    this.#stopping = true;
    if (this.#state === "running") this.#state = "stopping";
    await this.done;
  }

  status(): ServiceStatus {
    const s: ServiceStatus = {
      name: this.name,
      kind: this.kind,
      state: this.#state,
      metrics: { ...this.#m },
    };
    if (this.#error !== undefined) s.error = this.#error;
    return s;
  }
}
