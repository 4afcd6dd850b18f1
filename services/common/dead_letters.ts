/**
 * Dead letters: a record that cannot be processed is stored with its bytes and the reason
 * under `runs/<run>/dead-letter/`, keyed by its source position (so a redelivery rewrites the
 * same key, a no-op), and only then committed.
 *
 * @module
 */

import { create, DeadLetterSchema, FORMAT_VERSION, toBinary } from "../../proto/mod.ts";
import type { Delivery } from "../../resources/queue/queue.ts";
import type { Storage } from "../../resources/storage/storage.ts";
import { deadLetterKey, runIdOrUnknown } from "./storage_layout.ts";

/** Where a dead letter comes from. */
export interface DeadLetterSource {
  /** The queue's name. */
  source: string;
  /** The service that gave up. */
  service: string;
}

/**
 * Stores one record as a DeadLetter (no-clobber). Returns whether the key was new; throws
 * when storage fails (the caller leaves the record uncommitted and retries).
 */
export async function writeDeadLetter(
  storage: Storage,
  from: DeadLetterSource,
  d: Delivery,
  reason: string,
  attempts: number,
): Promise<boolean> {
  const runId = runIdOrUnknown(d.headers.run);
  const letter = create(DeadLetterSchema, {
    runId,
    source: from.source,
    payload: d.value,
    reason,
    attempts,
    service: from.service,
    failedAtMs: BigInt(Date.now()),
    formatVersion: FORMAT_VERSION,
  });
  const w = await storage.openWriter(deadLetterKey(runId, from.source, d.partition, d.offset));
  try {
    await w.write(toBinary(DeadLetterSchema, letter));
    return (await w.commit()).created;
  } catch (e) {
    await w.abort();
    throw e;
  }
}
