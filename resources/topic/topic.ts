/**
 * The topic: notifications with consumer groups. Every group sees every message; the members
 * of one group share the partitions (compete); a member commits after processing. Same
 * delivery rules as the queue (see resources/queue/queue.ts), without byte backpressure.
 *
 * @module
 */

import type { Consumer, ConsumerOptions, LogStats, QueueRecord } from "../queue/queue.ts";

export type { Consumer, ConsumerOptions, Delivery, LogStats } from "../queue/queue.ts";

/** A message to publish (same shape as a queue record). */
export type TopicMessage = QueueRecord;

/** A topic of notifications. */
export interface Topic {
  readonly name: string;
  readonly partitions: number;
  /** Publishes a message; resolves when it is stored. */
  publish(message: TopicMessage, signal?: AbortSignal): Promise<void>;
  flush(): Promise<void>;
  /**
   * Joins a group. A group that did not exist starts at the earliest retained message, so a
   * late group sees what was published before it joined (within retention).
   */
  subscribe(options: ConsumerOptions): Consumer;
  stats(): LogStats;
  close(): Promise<void>;
}
