/**
 * Cluster-wide status on Kafka + S3 with every service in its own process: the engine, the
 * metadata persistence, two persistence workers, an indexer and the API each run as
 * `evochora service <name>` (the launcher runs it in a child process of its own); every process beats on the config's status topic, and the API's
 * /api/pipeline lists all of them with their own host and pid, as does `evochora status
 * --json`. A persistence worker's process SIGKILLed shows as `lost` within 10 s, the others stay
 * running. The servers come from `deno task services:up` (CI starts them); without them this
 * test fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { PipelineResponse } from "../../services/api/api_types.ts";
import type { ClusterView } from "../../services/common/cluster_status.ts";
import type { PipelineConfig } from "../../services/runner/mod.ts";
import kafkaS3 from "../../config/kafka-s3.config.ts";
import { cliCommand } from "../fixtures/cli_process.ts";
import { loadServicesEnv, removePrefix } from "./pipeline_services.ts";

/** The processes: one service each. */
const PROCESSES = [
  "metadata-persistence",
  "persistence-1",
  "persistence-2",
  "stats-indexer",
  "http-api",
  "simulation-engine",
];
const VICTIM = "persistence-2";

/** A port nobody listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The shipped config's resources with topics and a key prefix of its own, a status topic, and
 * the services of {@link PROCESSES} (whatever the shipped config runs besides).
 */
function isolated(tag: string, port: number, webRoot: string): PipelineConfig {
  const c = structuredClone(kafkaS3);
  for (const r of Object.values(c.resources)) {
    if (r.kind === "kafka-queue" || r.kind === "kafka-topic") r.topic = `${r.topic}-${tag}`;
    if (r.kind === "s3") r.prefix = `test/${tag}/`;
  }
  c.resources["status-topic"] = {
    kind: "kafka-topic",
    topic: `evochora-status-${tag}`,
    partitions: 1,
    retentionMs: 60_000,
  };
  c.status = "status-topic";
  const batches = "batch-topic";
  c.services = {
    "metadata-persistence": {
      kind: "metadata-persistence",
      input: "metadata",
      storage: "tick-storage",
    },
    "persistence-1": {
      kind: "persistence",
      input: "raw-tick-data",
      storage: "tick-storage",
      notify: batches,
    },
    "stats-indexer": { kind: "indexer", index: "stats", input: batches, storage: "tick-storage" },
    "http-api": { kind: "http-api", storage: "tick-storage", port, webRoot },
    "simulation-engine": {
      kind: "simulation-engine",
      output: "raw-tick-data",
      metadataOutput: "metadata",
      ticks: 0,
      chunksPerBatch: 2,
      engine: { shape: [64, 64], seed: 3, intervals: { sampling: 10, snapshot: 100 } },
      // Running while the test looks, even once the small world's population has died out.
      endWhenExtinct: false,
    },
  };
  c.services["persistence-2"] = structuredClone(c.services["persistence-1"]!);
  c.startupSequence = PROCESSES;
  return c;
}

/** Polls until `check()` returns a value; throws naming `what` on timeout. */
async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The services' stderr, for a failure's message. */
async function logs(dir: string): Promise<string> {
  const out: string[] = [];
  for (const name of PROCESSES) {
    const text = await Deno.readTextFile(join(dir, `${name}.log`)).catch(() => "");
    out.push(`--- ${name}:\n${text.slice(-2000)}`);
  }
  return out.join("\n");
}

/** `evochora status --config F --json`: exit code and the view. */
async function statusCli(env: Record<string, string>, file: string) {
  const out = await cliCommand(["status", "--config", file, "--json"], { env }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(stdout.trim() !== "", new TextDecoder().decode(out.stderr));
  return { code: out.code, view: JSON.parse(stdout) as ClusterView };
}

Deno.test({
  name:
    "Kafka + S3: the API lists every service process of the deployment, and a SIGKILLed worker as lost within 10 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const env = await loadServicesEnv();
    const tag = `status-${Date.now().toString(36)}`;
    const dir = await Deno.makeTempDir({ prefix: "evochora-cluster-status-" });
    const webRoot = join(dir, "web");
    await Deno.mkdir(webRoot);
    await Deno.writeTextFile(join(webRoot, "index.html"), "<!doctype html><title>t</title>");
    const port = freePort();
    const file = join(dir, `${tag}.config.ts`);
    await Deno.writeTextFile(
      file,
      `export default ${JSON.stringify(isolated(tag, port, webRoot))};\n`,
    );
    const children = new Map<string, Deno.ChildProcess>();
    try {
      for (const name of PROCESSES) {
        const child = cliCommand(["service", name, "--config", file], {
          env,
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const log = await Deno.open(join(dir, `${name}.log`), { write: true, create: true });
        void child.stderr.pipeTo(log.writable).catch(() => {});
        children.set(name, child);
      }
      const api = `http://127.0.0.1:${port}`;
      const pipeline = async () =>
        (await (await fetch(`${api}/api/pipeline`)).json()) as PipelineResponse;
      const all = await waitFor("every service running in /api/pipeline", 40000, async () => {
        const p = await pipeline();
        const running = (p.cluster?.services ?? []).filter((s) => s.state === "running");
        return running.length === PROCESSES.length ? p : undefined;
      });
      const shown = all.cluster!.services;
      assert.deepEqual(shown.map((s) => s.name).sort(), [...PROCESSES].sort());
      // Each service beats from its own process (the launcher's child), on this host.
      assert.equal(new Set(shown.map((s) => s.pid)).size, PROCESSES.length, "one pid each");
      for (const s of shown) {
        assert.notEqual(s.pid, Deno.pid);
        assert.equal(s.host, Deno.hostname());
        assert.ok(s.ageMs < 5000, `${s.name} seen ${s.ageMs} ms ago`);
      }
      assert.deepEqual(all.services.map((s) => s.name), ["http-api"], "the API's own process");

      const before = await statusCli(env, file);
      assert.equal(before.code, 0);
      assert.deepEqual(
        before.view.services.map((s) => [s.name, s.pid, s.state]).sort(),
        shown.map((s) => [s.name, s.pid, "running"]).sort(),
      );

      // The worker's own process, as its heartbeat names it: a crash, no last beat.
      const victim = shown.find((s) => s.name === VICTIM)!.pid;
      Deno.kill(victim, "SIGKILL");
      const killedAt = Date.now();
      const lost = await waitFor(`${VICTIM} lost`, 20000, async () => {
        const p = await pipeline();
        return p.cluster!.services.find((s) => s.name === VICTIM && s.state === "lost")
          ? p
          : undefined;
      });
      const after = Date.now() - killedAt;
      console.log(`${VICTIM} shown lost ${after} ms after its SIGKILL`);
      assert.ok(after <= 10_500, `lost after ${after} ms`);
      for (const s of lost.cluster!.services) {
        if (s.name !== VICTIM) assert.equal(s.state, "running", `${s.name} still running`);
      }
      const metrics = await (await fetch(`${api}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`evochora_cluster_service_state\\{service="${VICTIM}",[^}]*state="lost"\\} 1`),
      );

      const later = await statusCli(env, file);
      assert.equal(later.code, 1, "a lost service makes the exit code 1");
      assert.deepEqual(
        later.view.services.filter((s) => s.state === "lost").map((s) => s.name),
        [VICTIM],
      );
      assert.equal(later.view.services.length, PROCESSES.length);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await logs(dir)}`, { cause: e });
    } finally {
      for (const c of children.values()) {
        try {
          c.kill("SIGTERM");
        } catch {
          // Ended already (its log says why).
        }
      }
      for (const c of children.values()) await c.status;
      await removePrefix(`test/${tag}/`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
