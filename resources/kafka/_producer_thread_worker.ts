/**
 * Worker side of {@link KafkaProducerThread}: one KafkaQueue, used only to put records.
 *
 * @module
 */

import { endpointHealth } from "../common/endpoint_health.ts";
import { postEvent, serveRequests } from "../worker/worker_rpc.ts";
import { KafkaQueue } from "./kafka_queue.ts";
import type { ProducerEvent, ProducerRequest } from "./producer_thread.ts";

let queue: KafkaQueue | undefined;
/** The abortable puts waiting, by their sequence number. */
const aborts = new Map<number, AbortController>();

endpointHealth.forward((health) => postEvent({ health } satisfies ProducerEvent));

function open(): KafkaQueue {
  if (queue === undefined) {
    throw new Error(
      "the Kafka producer thread has no queue open (it was closed, or restarted after a crash)",
    );
  }
  return queue;
}

async function put(r: Extract<ProducerRequest, { op: "put" }>): Promise<void> {
  if (!r.abortable) return await open().put(r.record);
  const controller = new AbortController();
  aborts.set(r.seq, controller);
  try {
    await open().put(r.record, controller.signal);
  } finally {
    aborts.delete(r.seq);
  }
}

serveRequests<ProducerRequest>(async (r) => {
  switch (r.op) {
    case "open":
      queue = await KafkaQueue.open(r.options);
      break;
    case "put":
      await put(r);
      break;
    case "abort":
      aborts.get(r.seq)?.abort();
      break;
    case "watch":
      open().watchGroup(r.group);
      break;
    case "flush":
      await open().flush();
      break;
    case "stats":
      return { value: open().stats() };
    case "close":
      await queue?.close();
      queue = undefined;
      break;
  }
  return { value: null };
});
