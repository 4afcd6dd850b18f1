/**
 * The fault schedule: drawn from a seed (printed, so a failure can be replayed with
 * `--seed N` or EVOCHORA_SYSTEM_SEED=N), optionally narrowed to some kinds
 * (EVOCHORA_SYSTEM_FAULTS=broker-restart,poison), and how each fault is done to the hosts.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Deployment } from "./_deployment.ts";
import { PLACEMENT, WORKERS } from "./_deployment.ts";
import type { Infra } from "./_infra.ts";
import type { Netns } from "./_netns.ts";
import type { KafkaProbe } from "./_probe.ts";
import { seededRandom } from "../fixtures/seeded_random.ts";

/** The kinds of fault. */
export const FAULT_KINDS = [
  "worker-kill",
  "link-down",
  "broker-restart",
  "s3-restart",
  "sim-restart",
  "poison",
  "view-restart",
] as const;

export type FaultKind = typeof FAULT_KINDS[number];

/** How many worker kills a full schedule has. */
export const WORKER_KILLS = 5;

/** One planned fault. */
export interface Fault {
  kind: FaultKind;
  /** Quiet time before it, ms. */
  gapMs: number;
  /** How long the thing is down (kill: until restarted), ms. */
  downMs: number;
  /** The worker killed (worker-kill). */
  worker?: string;
}

/** The kinds named in `spec` ("a,b"), checked; all when undefined or empty. */
export function parseFaultKinds(spec: string | undefined): FaultKind[] {
  if (spec === undefined || spec.trim() === "") return [...FAULT_KINDS];
  const kinds = spec.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) {
      throw new RangeError(
        `EVOCHORA_SYSTEM_FAULTS: unknown fault '${k}'; the faults are ${FAULT_KINDS.join(", ")}`,
      );
    }
  }
  return kinds as FaultKind[];
}

/**
 * The schedule for `seed`: every kind once (worker kills {@link WORKER_KILLS} times) in a
 * random order, except that the engine host's kill comes first or second (the engine must
 * still be running).
 */
export function planFaults(seed: number, kinds: readonly FaultKind[]): Fault[] {
  const rnd = seededRandom(seed);
  const between = (lo: number, hi: number) => Math.round(lo + rnd() * (hi - lo));
  const list: FaultKind[] = kinds.flatMap((k) =>
    k === "worker-kill" ? Array<FaultKind>(WORKER_KILLS).fill(k) : [k]
  );
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const sim = list.indexOf("sim-restart");
  if (sim > 1) list.splice(between(0, 1), 0, ...list.splice(sim, 1));
  return list.map((kind): Fault => {
    const gapMs = between(2000, 6000);
    switch (kind) {
      case "worker-kill":
        return { kind, gapMs, downMs: between(500, 8000), worker: WORKERS[between(0, 3)]! };
      case "broker-restart":
        return { kind, gapMs, downMs: between(5000, 10000) };
      case "link-down":
      case "s3-restart":
        return { kind, gapMs, downMs: 10000 };
      case "sim-restart":
      case "view-restart":
        return { kind, gapMs, downMs: between(500, 3000) };
      case "poison":
        return { kind, gapMs, downMs: 0 };
    }
  });
}

/**
 * About how long the schedule takes, ms: quiet times, outages, and ~10 s each to recover (a
 * worker's partitions wait for the Kafka session timeout).
 */
export function scheduleMs(faults: readonly Fault[]): number {
  return faults.reduce((n, f) => n + f.gapMs + f.downMs + 10_000, 0);
}

/** What a fault acts on. */
export interface FaultContext {
  net: Netns;
  infra: Infra;
  dep: Deployment;
  probe: KafkaProbe;
  /** Called with the poison record's bytes. */
  poisoned: (bytes: Uint8Array) => void;
  rnd: () => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a TCP connection to host:port succeeds. */
async function portOpen(hostname: string, port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname, port })).close();
    return true;
  } catch {
    return false;
  }
}

async function waitPort(host: string, port: number, what: string): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (!(await portOpen(host, port))) {
    if (performance.now() > deadline) throw new Error(`${what} did not listen within 120 s`);
    await sleep(200);
  }
}

/** Restarts the engine on its run id; retried while the killed one's run still looks live. */
function restartEngine(dep: Deployment): void {
  dep.start("simulation-engine", ["--run-id", dep.names.runId, "--idle-after", "0"]);
}

/** Does the fault; returns when what it took away is back (restarted, reconnected). */
export async function injectFault(f: Fault, c: FaultContext): Promise<string> {
  switch (f.kind) {
    case "worker-kill": {
      await c.dep.kill([f.worker!]);
      await sleep(f.downMs);
      c.dep.start(f.worker!);
      return `SIGKILL ${f.worker} (${c.dep.hostOf(f.worker!)}), restarted after ${f.downMs} ms`;
    }
    case "link-down": {
      await c.net.setLink("work1", false);
      await sleep(f.downMs);
      await c.net.setLink("work1", true);
      return `work1 cut off for ${f.downMs} ms`;
    }
    case "broker-restart": {
      await c.infra.stopKafka();
      await sleep(f.downMs);
      await c.infra.startKafka({ check: false });
      await waitPort(c.infra.cfg.host, c.infra.cfg.kafka.port, "the restarted broker");
      return `broker stopped for ${f.downMs} ms, restarted on its data`;
    }
    case "s3-restart": {
      await c.infra.stopS3();
      await sleep(f.downMs);
      await c.infra.startS3({ check: false });
      await waitPort(c.infra.cfg.host, c.infra.cfg.s3.port, "the restarted S3 gateway");
      return `S3 stopped for ${f.downMs} ms, restarted on its data`;
    }
    case "sim-restart": {
      const engine = c.dep.current("simulation-engine");
      if (!engine.running) return "sim host killed after the engine had finished (no resume)";
      await c.dep.kill(PLACEMENT.sim!);
      await c.net.killAll("sim");
      await sleep(f.downMs);
      c.dep.start("metadata-persistence");
      restartEngine(c.dep);
      return `sim host killed (engine, metadata persistence), engine resumed on its run id`;
    }
    case "poison": {
      const bytes = crypto.getRandomValues(new Uint8Array(64 + Math.floor(c.rnd() * 64)));
      bytes[0] = 0xff; // never a valid protobuf tag start for a chunk
      const producer = c.probe.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        await producer.send({
          topic: c.dep.names.ticksTopic,
          acks: -1,
          messages: [{ value: Buffer.from(bytes) }],
        });
      } finally {
        await producer.disconnect().catch(() => {});
      }
      c.poisoned(bytes);
      return `poison record (${bytes.length} undecodable bytes) produced into the tick topic`;
    }
    case "view-restart": {
      await c.dep.kill(PLACEMENT.view!);
      await c.net.killAll("view");
      await sleep(f.downMs);
      for (const s of PLACEMENT.view!) c.dep.start(s);
      return `view host killed (indexers, API) and restarted`;
    }
  }
}

/** Restarts the engine if its resume was refused (the killed run looked live a moment longer). */
export async function keepEngineGoing(dep: Deployment): Promise<void> {
  const p = dep.current("simulation-engine");
  await p.exited;
  if (p.exit?.code !== 0 && /it is running/.test(p.stderrTail)) {
    await sleep(2000);
    restartEngine(dep);
    await keepEngineGoing(dep);
  }
}
