/**
 * The metadata-persistence service: writes each run's SimulationMetadata to
 * `runs/<runId>/metadata.pb` (no-clobber: a redelivery is a no-op), then commits.
 *
 * @module
 */

import { fromBinary, SimulationMetadataSchema } from "../../proto/mod.ts";
import type { Consumer, Delivery, Queue } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { runConsumerLoop, sleep } from "../common/consumer_loop.ts";
import { writeDeadLetter } from "../common/dead_letters.ts";
import { Lifecycle } from "../common/lifecycle.ts";
import type { Service, ServiceStatus } from "../common/service.ts";
import { isRunId, metadataKey, RUN_ID_RULE } from "../common/storage_layout.ts";

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
  readonly #life: Lifecycle;
  readonly #o: MetadataPersistenceOptions;
  readonly #m = { records: 0, runs: 0, duplicates: 0, dead_letters: 0, errors: 0 };

  constructor(options: MetadataPersistenceOptions) {
    this.#o = options;
    this.name = options.name;
    this.#life = new Lifecycle(this.name, this.kind);
  }

  /** See Service.done. */
  get done(): Promise<void> {
    return this.#life.done;
  }

  /** See Service.start. */
  start(): Promise<void> {
    let consumer: Consumer;
    return this.#life.start(
      () => {
        consumer = this.#o.input.consumer({
          group: this.#o.group ?? "metadata-persistence",
          member: this.name,
        });
      },
      (signal) =>
        runConsumerLoop({
          consumer,
          signal,
          maxRecords: 16,
          drainTimeoutMs: 200,
          onDrainError: (message) => this.#failed(message),
          handle: (deliveries) => this.#handle(consumer, deliveries, signal),
        }),
    );
  }

  async #handle(consumer: Consumer, deliveries: Delivery[], signal: AbortSignal): Promise<void> {
    for (const d of deliveries) {
      this.#m.records++;
      while (!signal.aborted && !(await this.#store(d))) {
        await sleep(this.#o.retryMs ?? 200, signal);
      }
      if (signal.aborted) return; // uncommitted: redelivered on the next start
      await consumer.commit([d]);
    }
  }

  #failed(message: string): void {
    this.#m.errors++;
    this.#life.error = message;
  }

  /** Writes one record (or its dead letter). false when storage failed: retry later. */
  async #store(d: Delivery): Promise<boolean> {
    let key: string | undefined;
    let reason: string | undefined;
    try {
      const meta = fromBinary(SimulationMetadataSchema, d.value);
      if (!isRunId(meta.runId)) {
        throw new RangeError(`run id '${meta.runId}' is not valid: expected ${RUN_ID_RULE}`);
      }
      key = metadataKey(meta.runId);
    } catch (e) {
      reason = `undecodable SimulationMetadata: ${(e as Error).message}`;
    }
    try {
      if (key === undefined) {
        await writeDeadLetter(
          this.#o.storage,
          { source: this.#o.input.name, service: this.name },
          d,
          reason!,
          1,
        );
        this.#m.dead_letters++;
      } else {
        const w = await this.#o.storage.openWriter(key);
        try {
          await w.write(d.value);
          if ((await w.commit()).created) this.#m.runs++;
          else this.#m.duplicates++;
        } catch (e) {
          await w.abort();
          throw e;
        }
      }
      this.#life.error = undefined;
      return true;
    } catch (e) {
      this.#failed(
        `writing '${key ?? "a dead letter"}' failed: ${(e as Error).message}; will retry`,
      );
      return false;
    }
  }

  /** See Service.stop. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  /** See Service.status. */
  status(): ServiceStatus {
    return this.#life.status({ ...this.#m });
  }
}
