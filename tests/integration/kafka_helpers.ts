/**
 * Shared pieces of the Kafka integration tests: where the broker is, unique topic names,
 * topic cleanup, consumer settings that make rebalances quick.
 *
 * The broker address comes from KAFKA_BOOTSTRAP_SERVERS, else from the env file that
 * `deno task services:up` writes (`$EVOCHORA_SERVICES_ENV_FILE`, default
 * `${EVOCHORA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/evochora}/services/env`). Without either
 * the tests FAIL (never skip): CI starts the services.
 *
 * @module
 */

import { createKafkaClient } from "../../resources/kafka/client.ts";
import type { KafkaLogOptions } from "../../resources/kafka/kafka_log.ts";
import type { KafkaQueueOptions } from "../../resources/kafka/kafka_queue.ts";
import type { Queue } from "../../resources/queue/queue.ts";
import { queueContract } from "../../resources/queue/queue_contract.ts";

/** The env file services:up writes (same rule as scripts/services/config.ts). */
export function servicesEnvFile(): string {
  const get = (n: string) => Deno.env.get(n);
  const explicit = get("EVOCHORA_SERVICES_ENV_FILE");
  if (explicit) return explicit;
  const cache = get("EVOCHORA_CACHE") ??
    (get("XDG_CACHE_HOME")
      ? `${get("XDG_CACHE_HOME")}/evochora`
      : `${get("HOME")}/.cache/evochora`);
  return `${cache}/services/env`;
}

/** Parses `NAME=value` lines (optional `export`, optional quotes, # comments). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(/^export\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 1) continue;
    let v = line.slice(eq + 1).trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) {
      v = v.slice(1, -1);
    }
    out[line.slice(0, eq).trim()] = v;
  }
  return out;
}

/**
 * The broker list for the tests. Throws (failing the test) when no broker is configured,
 * telling how to start one.
 */
export function kafkaBrokers(): string {
  const fromEnv = Deno.env.get("KAFKA_BOOTSTRAP_SERVERS");
  if (fromEnv) return fromEnv;
  const file = servicesEnvFile();
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    throw new Error(
      `no Kafka broker: KAFKA_BOOTSTRAP_SERVERS is unset and ${file} does not exist; ` +
        "start the broker with `deno task services:up`",
    );
  }
  const brokers = parseEnvFile(text)["KAFKA_BOOTSTRAP_SERVERS"];
  if (!brokers) {
    throw new Error(
      `no KAFKA_BOOTSTRAP_SERVERS in ${file}; start the broker with \`deno task services:up\``,
    );
  }
  return brokers;
}

/** A topic name unique across runs. */
export function uniqueTopic(tag: string): string {
  return `it-${tag}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Consumer settings for tests: short heartbeats, waits and session (broker minimum 6 s). */
export const FAST: Partial<KafkaLogOptions> = {
  heartbeatIntervalMs: 300,
  sessionTimeoutMs: 6000,
  rebalanceTimeoutMs: 10000,
  fetchMaxWaitMs: 100,
  lagRefreshMs: 200,
};

/** Deletes test topics (errors ignored: cleanup must not hide the test's own failure). */
export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  const admin = createKafkaClient({ brokers, logLevel: "nothing" }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics(topics);
  } catch {
    // The broker may be gone; the topics have unique names anyway.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Registers the queue contract suite for a Kafka queue made by `open`, each case on a fresh
 * topic (`tag` names it) deleted afterwards. Waits are scaled: rebalances on a real broker take
 * about a second.
 */
export function kafkaQueueContract(
  name: string,
  tag: string,
  open: (options: Omit<KafkaQueueOptions, "client" | "onLog">) => Promise<Queue>,
): void {
  queueContract(name, async ({ partitions, maxBytes }) => {
    const brokers = kafkaBrokers();
    const topic = uniqueTopic(tag);
    const queue = await open({
      name: topic,
      partitions,
      brokers,
      maxBytes,
      // The contract's backpressure cases wait for commits, as MemoryQueue does.
      maxRetainedBytes: maxBytes,
      ...FAST,
    });
    return {
      queue,
      cleanup: async () => {
        await queue.close();
        await deleteTopics(brokers, [topic]);
      },
    };
  }, { timeScale: 4 });
}
