/**
 * Feeds a {@link ClusterStatus} from the status topic: joins a consumer group of its own (every
 * reader sees every heartbeat; a new group starts at the earliest retained message, so a reader
 * started later sees the recent beats at once), decodes each message and records it. Messages
 * that are not heartbeats of this version are counted and skipped.
 *
 * @module
 */

import type { Consumer, Topic } from "../../resources/topic/topic.ts";
import { ClusterStatus, type ClusterStatusOptions, type ClusterView } from "./cluster_status.ts";
import { decodeHeartbeat } from "./heartbeat.ts";

/** Records per drain. */
const DRAIN_MAX = 500;

/** Options of a {@link ClusterStatusReader}. */
export interface ClusterStatusReaderOptions extends ClusterStatusOptions {
  /** The status topic. */
  topic: Topic;
  /** Who reads, for the consumer group's name (e.g. "api", "cli"). Default "reader". */
  role?: string;
  /** Where a stopped reading is reported. Default console.error. */
  log?: (message: string) => void;
}

/** Counters of a reader. */
export interface ClusterStatusReaderStats {
  beats: number;
  skipped: number;
  lastSkip: string | null;
}

/** Reads heartbeats into a ClusterStatus until stopped; see the module doc. */
export class ClusterStatusReader {
  readonly status: ClusterStatus;
  /** The reader's own consumer group. */
  readonly group: string;
  readonly #o: ClusterStatusReaderOptions;
  readonly #stop = new AbortController();
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #caughtUp = false;
  readonly #stats: ClusterStatusReaderStats = { beats: 0, skipped: 0, lastSkip: null };

  constructor(options: ClusterStatusReaderOptions) {
    this.#o = options;
    this.status = new ClusterStatus(options);
    // Unique per reader: every reader must see every beat (members of one group would split them).
    this.group = `evochora-status-${options.role ?? "reader"}-${Deno.hostname()}-${Deno.pid}-` +
      crypto.randomUUID().slice(0, 8);
  }

  /** Joins the group and reads in the background. Idempotent. */
  start(): void {
    if (this.#loop !== undefined) return;
    const consumer = this.#o.topic.subscribe({ group: this.group, member: "status-reader" });
    this.#consumer = consumer;
    this.#loop = this.#read(consumer);
  }

  /** Whether the reader owns partitions and has read (about) what they retained when it joined. */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** The deployment's services now. */
  view(): ClusterView {
    return this.status.view();
  }

  /** Beats read and messages skipped. */
  stats(): ClusterStatusReaderStats {
    return { ...this.#stats };
  }

  /** Stops reading and leaves the group. Idempotent. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    await this.#consumer?.close().catch(() => {});
  }

  async #read(consumer: Consumer): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let records;
      try {
        records = await consumer.drain(DRAIN_MAX, 500, signal);
      } catch (e) {
        if (signal.aborted) return;
        (this.#o.log ?? console.error)(
          `Cannot read heartbeats from status topic '${this.#o.topic.name}': ` +
            `${(e as Error).message}; the cluster status stops updating (services show as lost)`,
        );
        return;
      }
      // Less than a full drain: what was retained when it joined is (about) read.
      if (records.length < DRAIN_MAX && consumer.assignment().length > 0) this.#caughtUp = true;
      for (const r of records) {
        try {
          this.status.record(decodeHeartbeat(r.value));
          this.#stats.beats++;
        } catch (e) {
          this.#stats.skipped++;
          this.#stats.lastSkip = `partition ${r.partition} offset ${r.offset}: ${
            (e as Error).message
          }`;
        }
      }
      // Committed because a consumer keeps every uncommitted offset: memory stays bounded.
      if (records.length > 0) await consumer.commit(records).catch(() => false);
    }
  }
}
