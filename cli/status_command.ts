/**
 * `evochora status --config F [--json] [--watch]`: every service of a deployment, from the
 * heartbeats on the config's status topic (see services/common/heartbeat.ts), as a table (or
 * JSON): name, kind, host, pid, state (`lost` after 10 s of silence), lag and last seen.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Topic } from "../resources/topic/topic.ts";
import type { ClusterService, ClusterView } from "../services/common/cluster_status.ts";
import { ClusterStatusReader } from "../services/common/cluster_status_reader.ts";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "../services/common/heartbeat.ts";
import { buildResource } from "../services/runner/resources.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { loadConfigFlag } from "./config_flag.ts";

export const STATUS_USAGE = `Usage: evochora status --config F [--json] [--watch] [--wait MS]

Prints every service of the deployment of config F, on any host: name, kind, host, pid, state,
lag and when it was last seen, from the heartbeats every process running services of F
publishes on the config's status topic (its top-level 'status' names a topic resource). A
service whose process has been silent for 10 s is 'lost'.

A service 'waiting' cannot go on until the endpoint named beside it (a Kafka broker, an S3
endpoint) answers; its process keeps retrying.

Exit code: 0 when every service is running or stopped, 1 when one is lost, failed, waiting or
starting (or none is known), 2 on bad input.

Options:
  --config F   the config file (required)
  --json       print {"lostAfterMs", "services": [...]} as one JSON object
  --watch      print again every 2 s until Ctrl-C
  --wait MS    after reading the retained heartbeats, wait this long for new ones (default
               ${DEFAULT_HEARTBEAT_INTERVAL_MS})
  -h, --help   show this help`;

/** How long to wait for the status topic's partitions, ms. */
const JOIN_TIMEOUT_MS = 30000;

/** Runs `evochora status`. */
export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      json: { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      wait: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(STATUS_USAGE);
    return 0;
  }
  if (values.config === undefined) throw new CliError("--config is required; see --help");
  const waitMs = intFlag("wait", values.wait, DEFAULT_HEARTBEAT_INTERVAL_MS);
  const { resolved } = await loadConfigFlag(values.config);
  const name = resolved.status;
  if (name === undefined) {
    throw new CliError(
      `${values.config} names no status topic: add a kafka-topic resource (e.g. ` +
        `"status-topic": { kind: "kafka-topic", topic: "evochora-status", retentionMs: 60000 }) and ` +
        `status: "status-topic" at the top level, then restart the services`,
    );
  }
  let topic: Topic;
  try {
    topic = (await buildResource(name, resolved.resources[name]!)).instance as Topic;
  } catch (e) {
    throw new CliError(`cannot open status topic '${name}': ${(e as Error).message}`, 1);
  }
  const reader = new ClusterStatusReader({ topic, role: "cli" });
  try {
    reader.start();
    await caughtUp(reader, name);
    await sleep(waitMs);
    if (!values.watch) return print(reader.view(), values.json);
    return await watch(reader, values.json);
  } finally {
    await reader.stop();
    await topic.close();
  }
}

/** Waits until the reader has read what the topic retains; throws naming the topic. */
async function caughtUp(reader: ClusterStatusReader, topic: string): Promise<void> {
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  while (!reader.caughtUp) {
    if (Date.now() > deadline) {
      throw new CliError(
        `status topic '${topic}': no partitions assigned within ${JOIN_TIMEOUT_MS / 1000} s; ` +
          `check that the brokers are reachable`,
        1,
      );
    }
    await sleep(100);
  }
}

/** Prints again every heartbeat interval until Ctrl-C; the last view's exit code. */
async function watch(reader: ClusterStatusReader, json: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    let code = print(reader.view(), json);
    while (!stop.signal.aborted) {
      await sleep(DEFAULT_HEARTBEAT_INTERVAL_MS, stop.signal);
      if (stop.signal.aborted) break;
      if (!json) console.log("");
      code = print(reader.view(), json);
    }
    return code;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** Prints one view; 0 when every service is running or stopped, else 1. */
function print(view: ClusterView, json: boolean): number {
  if (json) {
    console.log(JSON.stringify(view));
  } else if (view.services.length === 0) {
    console.log("No service has sent a heartbeat in the last 5 minutes");
  } else {
    console.log(renderStatusTable(view.services));
  }
  const healthy = view.services.every((s) => s.state === "running" || s.state === "stopped");
  return view.services.length > 0 && healthy ? 0 : 1;
}

/** The services as an aligned text table (exported for tests). */
export function renderStatusTable(services: readonly ClusterService[]): string {
  const head = ["NAME", "KIND", "HOST", "PID", "STATE", "LAG", "LAST SEEN"];
  const rows = services.map((s) => [
    s.name,
    s.kind,
    s.host,
    String(s.pid),
    stateCell(s),
    s.lag === null ? "-" : String(s.lag),
    `${(s.ageMs / 1000).toFixed(1)} s ago`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}

/** The state, with what it is about ("waiting for broker ...") and the error, if any. */
function stateCell(s: ClusterService): string {
  const head = s.detail === undefined
    ? s.state
    : s.detail.startsWith(s.state)
    ? s.detail
    : `${s.state} (${s.detail})`;
  return s.error === undefined ? head : `${head} (${s.error})`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
