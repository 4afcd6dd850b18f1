/**
 * One run of the pipeline on the hosts, start to verified end: consumers first, then the
 * engine; faults (if any) one after another while it runs, each measured; then the checks:
 * `inspect` on the bucket says finished, the independent reader finds every sampled tick once
 * and every index file, the API on the view host answers for the first, a middle and the last
 * tick, and the dead-letter store holds exactly the poison record (or nothing).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Deployment, PLACEMENT, runNames, type RunShape } from "./_deployment.ts";
import { type Fault, injectFault, keepEngineGoing } from "./_faults.ts";
import type { Infra } from "./_infra.ts";
import type { Netns } from "./_netns.ts";
import type { KafkaProbe } from "./_probe.ts";
import {
  checkStoredRun,
  listKeys,
  missingIndexFiles,
  s3Client,
  type StoredFindings,
} from "./_stored_check.ts";
import { seededRandom } from "../fixtures/seeded_random.ts";
import { LandedBatches } from "./_landed.ts";

const ROOT = new URL("../../", import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fault as it happened. */
export interface FaultResult {
  fault: Fault;
  what: string;
  /** s since the engine started. */
  atS: number;
  /** s from the fault until lag is back at its pre-fault level and a new batch landed. */
  recoveryS: number | undefined;
  /** What said it recovered: the lag back at its level, or the commit rate back. */
  recoveredBy: "lag" | "rate" | undefined;
  preLag: number;
  redelivered: number;
  duplicates: number;
  deadLetters: number;
}

/** What a run measured. */
export interface RunResult {
  label: string;
  ticks: number;
  /** s from the engine's start until the end record was stored. */
  seconds: number;
  ticksPerSecond: number;
  faults: FaultResult[];
  stored: StoredFindings;
  /** Records the persistence workers received more than once over the whole run. */
  redelivered: number;
}

/** Options of {@link runOnHosts}. */
export interface RunOptions {
  label: string;
  tag: string;
  run: RunShape;
  faults: readonly Fault[];
  seed: number;
  net: Netns;
  infra: Infra;
  probe: KafkaProbe;
  dir: string;
  /** Called with the deployment as soon as it exists (for cleanup on interrupt). */
  onDeployment: (d: Deployment) => void;
}

/** Polls `check` every 250 ms until it returns true; false after `ms`. */
async function until(ms: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(250);
  }
  return false;
}

/** Counters of the persistence workers and the group's committed records, for deltas. */
async function counters(dep: Deployment, probe: KafkaProbe) {
  return {
    received: dep.sum("persistence", "records"),
    lost: dep.lostInFlight(),
    duplicates: dep.sum("persistence", "duplicate_batches") +
      dep.sum("indexer", "duplicate_batches"),
    deadLetters: dep.sum("persistence", "dead_letters") + dep.sum("indexer", "dead_letters"),
    committed: await probe.committed(dep.names.persistenceGroup, dep.names.ticksTopic),
  };
}

/** The pre-fault level: the highest lag and the commit rate over the quiet time before it. */
async function quiet(o: RunOptions, dep: Deployment, gapMs: number) {
  const { persistenceGroup: group, ticksTopic: topic } = dep.names;
  let preLag = 0;
  const t = performance.now();
  const c0 = await o.probe.committed(group, topic);
  while (performance.now() < t + gapMs) {
    preLag = Math.max(preLag, (await o.probe.lag(group, topic)) ?? 0);
    await sleep(250);
  }
  const c1 = await o.probe.committed(group, topic);
  const preRate = c0 === undefined || c1 === undefined
    ? 0
    : (c1 - c0) / ((performance.now() - t) / 1000);
  return { preLag, preRate };
}

/**
 * Waits until the fault is absorbed: a batch landed after `restored`, and the lag is back at
 * its pre-fault level, or (while the engine outpaces the workers, the lag grows anyway) the
 * group commits again at 80% of its pre-fault rate over 3 s. How, or undefined after 90 s.
 */
async function recovery(
  o: RunOptions,
  dep: Deployment,
  landed: LandedBatches,
  restored: number,
  pre: { preLag: number; preRate: number },
): Promise<"lag" | "rate" | undefined> {
  const { persistenceGroup: group, ticksTopic: topic } = dep.names;
  const history: { at: number; committed: number }[] = [];
  let how: "lag" | "rate" | undefined;
  await until(90_000, async () => {
    const [l, c] = [await o.probe.lag(group, topic), await o.probe.committed(group, topic)];
    const now = performance.now();
    if (c !== undefined) history.push({ at: now, committed: c });
    if (l === undefined) return false;
    // Nothing left to land: the engine is done and every record committed.
    if (l === 0 && !dep.current("simulation-engine").running) how = "lag";
    if (how === undefined && !landed.landedSince(restored)) return false;
    if (l <= pre.preLag) how = "lag";
    const old = history.find((h) => h.at >= now - 3000);
    if (how === undefined && old !== undefined && c !== undefined && now - old.at >= 2500) {
      const rate = (c - old.committed) / ((now - old.at) / 1000);
      if (pre.preRate > 0 && rate >= 0.8 * pre.preRate) how = "rate";
    }
    return how !== undefined;
  });
  return how;
}

/** Runs the faults one after another; each measured. */
async function runFaults(
  o: RunOptions,
  dep: Deployment,
  x: { landed: LandedBatches; poison: Uint8Array[]; t0: number },
): Promise<FaultResult[]> {
  const { landed, t0 } = x;
  const out: FaultResult[] = [];
  const rnd = seededRandom(o.seed ^ 0x5eed);
  // Warm-up: the first fault's pre-fault level must be that of a running pipeline.
  if (o.faults.length > 0) await until(60_000, () => landed.count >= 4);
  for (const fault of o.faults) {
    const pre = await quiet(o, dep, fault.gapMs);
    const before = await counters(dep, o.probe);
    const hit = performance.now();
    console.error(`system: [${((hit - t0) / 1000).toFixed(1)} s] fault ${fault.kind} ...`);
    const what = await injectFault(fault, {
      net: o.net,
      infra: o.infra,
      dep,
      probe: o.probe,
      rnd,
      poisoned: (b) => x.poison.push(b),
    });
    const how = await recovery(o, dep, landed, performance.now(), pre);
    const recoveryS = how === undefined ? undefined : (performance.now() - hit) / 1000;
    let after = await counters(dep, o.probe);
    while (after.committed === undefined) { // the broker is still away
      await sleep(500);
      after = await counters(dep, o.probe);
    }
    const r: FaultResult = {
      fault,
      what,
      atS: (hit - t0) / 1000,
      recoveryS,
      recoveredBy: how,
      preLag: pre.preLag,
      // Received again: beyond what the group newly committed, plus what killed workers held.
      redelivered: Math.max(
        0,
        after.received - before.received - ((after.committed ?? 0) - (before.committed ?? 0)) +
          after.lost - before.lost,
      ),
      duplicates: after.duplicates - before.duplicates,
      deadLetters: after.deadLetters - before.deadLetters,
    };
    console.error(
      `system: ${what}; ${
        recoveryS === undefined
          ? "NOT recovered within 90 s"
          : `recovered (${how}) after ${recoveryS.toFixed(1)} s`
      }`,
    );
    out.push(r);
  }
  return out;
}

/** Runs `evochora inspect --config F --run R` from the root namespace; its exit and output. */
async function inspect(dep: Deployment, env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("cli/main.ts", ROOT).pathname,
      "inspect",
      "--config",
      dep.configPath,
      "--run",
      dep.names.runId,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** The API on the view host answers a tick of the run. */
async function apiAnswers(dep: Deployment, token: string, tick: number): Promise<void> {
  const url = `${dep.apiUrl}/api/runs/${dep.names.runId}/world/${tick}`;
  let last = "";
  const ok = await until(60_000, async () => {
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      last = `${res.status} ${body.slice(0, 200)}`;
      return res.status === 200 && (JSON.parse(body) as { tick: number }).tick === tick;
    } catch (e) {
      last = (e as Error).message;
      return false;
    }
  });
  assert.ok(ok, `GET ${url}: ${last}`);
}

/** When the run's end record appears in the bucket (polled every 500 ms). */
function watchEnd(o: RunOptions, dep: Deployment): { at: Promise<number>; stop: () => void } {
  const s3 = s3Client(o.infra.env);
  const bucket = o.infra.env.EVOCHORA_S3_BUCKET!;
  const prefix = `${dep.names.prefix}runs/${dep.names.runId}/end/`;
  let stopped = false;
  const at = (async () => {
    try {
      while (!stopped) {
        if ((await listKeys(s3, bucket, prefix).catch(() => [])).length > 0) {
          return performance.now();
        }
        await sleep(500);
      }
      return NaN;
    } finally {
      s3.destroy();
    }
  })();
  return { at, stop: () => (stopped = true) };
}

/** Runs the pipeline once (see the module doc). */
export async function runOnHosts(o: RunOptions): Promise<RunResult> {
  const names = runNames(o.tag);
  const token = crypto.randomUUID().replaceAll("-", "");
  const dep = await Deployment.create({
    net: o.net,
    names,
    run: o.run,
    serversEnv: o.infra.env,
    dir: o.dir,
    apiToken: token,
  });
  o.onDeployment(dep);
  const consumers = Object.values(PLACEMENT).flat().filter((s) => s !== "simulation-engine");
  await dep.waitStarted(consumers.map((s) => dep.start(s)));
  const t0 = performance.now();
  dep.start("simulation-engine", ["--run-id", names.runId]);
  const end = watchEnd(o, dep);
  const landed = new LandedBatches(o.infra.env, names.prefix, names.runId);
  const poison: Uint8Array[] = [];
  const faults = await runFaults(o, dep, { landed, poison, t0 }).finally(() => landed.stop());
  await keepEngineGoing(dep);
  const engine = dep.current("simulation-engine");
  assert.equal(engine.exit?.code, 0, `the engine failed\n${engine.describe()}`);
  // A timer of its own, cleared: a pending 300 s timer kept the test's process alive for
  // minutes after it had passed.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    end.at,
    new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 300_000))),
  ]);
  clearTimeout(timer);
  end.stop();
  assert.ok(ended !== undefined, "the run's end record was not stored within 300 s");
  for (const p of dep.processes) {
    if (!p.running && dep.current(p.service) === p && p.service !== "simulation-engine") {
      throw new Error(`${p.label} exited\n${p.describe()}`);
    }
  }
  // Everything stored: the end record (its writer may give up waiting for batches still in
  // the backlog after a minute, so it can come first) and every record committed.
  const drained = await until(
    300_000,
    async () => (await o.probe.lag(names.persistenceGroup, names.ticksTopic)) === 0,
  );
  assert.ok(
    drained,
    "the persistence group did not commit every record (partition: committed/high owner):\n" +
      await o.probe.describe(names.persistenceGroup, names.ticksTopic),
  );
  const seconds = (Math.max(ended, performance.now()) - t0) / 1000;
  console.error(`system: ${o.label}: ${o.run.ticks} ticks stored in ${seconds.toFixed(1)} s`);
  const stored = await verify(o, dep, { token, poison });
  console.error(
    `system: ${o.label}: verified ${
      ((performance.now() - t0) / 1000 - seconds).toFixed(1)
    } s after everything was stored`,
  );
  await dep.stopAll();
  return {
    label: o.label,
    ticks: o.run.ticks,
    seconds,
    ticksPerSecond: o.run.ticks / seconds,
    faults,
    stored,
    // Every record once (one per batch, and the poison), the rest again.
    redelivered: Math.max(0, dep.sum("persistence", "records") - stored.batches - poison.length),
  };
}

/**
 * The checks once everything is stored: every index file written, then `inspect`, the
 * independent reader, the API and the dead letters.
 */
async function verify(
  o: RunOptions,
  dep: Deployment,
  x: { token: string; poison: readonly Uint8Array[] },
): Promise<StoredFindings> {
  const { names } = dep;
  const run = {
    env: o.infra.env,
    prefix: names.prefix,
    runId: names.runId,
    ticks: o.run.ticks,
    sampling: o.run.sampling,
  };
  let missing: string[] = [];
  await until(180_000, async () => (missing = await missingIndexFiles(run)).length === 0);
  assert.deepEqual(missing, [], "index files missing 180 s after the end");
  const verdict = await inspect(dep, { ...o.infra.env, PATH: Deno.env.get("PATH") ?? "" });
  assert.equal(verdict.code, 0, `inspect --config on the bucket:\n${verdict.text}`);
  const stored = await checkStoredRun(run);
  assert.deepEqual(stored.problems, [], "the independent reader found problems");
  assert.equal(stored.samples, o.run.ticks / o.run.sampling + 1);
  assert.deepEqual(stored.missingIndexes, [], "index files missing");
  const last = o.run.ticks;
  const middle = Math.round(last / 2 / o.run.sampling) * o.run.sampling;
  for (const t of [0, middle, last]) await apiAnswers(dep, x.token, t);
  checkDeadLetters(stored, x.poison);
  return stored;
}

/** Exactly the poison records are dead letters, with their bytes and a reason. */
function checkDeadLetters(stored: StoredFindings, poison: readonly Uint8Array[]): void {
  assert.equal(
    stored.deadLetters.length,
    poison.length,
    `dead letters: ${stored.deadLetters.map((d) => `${d.key}: ${d.letter.reason}`).join("; ")}`,
  );
  for (const bytes of poison) {
    const d = stored.deadLetters.find((x) =>
      x.letter.payload.length === bytes.length && x.letter.payload.every((b, i) => b === bytes[i])
    );
    assert.ok(d !== undefined, "the poison record is not among the dead letters");
    assert.match(d.letter.reason, /undecodable/);
  }
}
