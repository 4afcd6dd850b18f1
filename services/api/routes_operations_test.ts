import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { ClusterStatus } from "../common/cluster_status.ts";
import { type Heartbeat, HEARTBEAT_VERSION, type HeartbeatService } from "../common/heartbeat.ts";
import type { PipelineResponse } from "./api_types.ts";
import { createApp } from "./app.ts";

const root = await Deno.makeTempDir({ prefix: "evochora-ops-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const storage = new FilesystemStorage({ root });
const name = root.split("/").at(-1)!;

/** Whether `text` names `root` or any other absolute directory of this machine. */
function assertNoAbsolutePath(text: string, what: string): void {
  assert.ok(!text.includes(root), `${what} names the data directory ${root}`);
  assert.doesNotMatch(text, /(^|[\s'"=])\/(tmp|home|root|var|srv|work|Users)\//, what);
}

Deno.test("/api/pipeline in serve mode shows the storage without its absolute directory", async () => {
  assert.ok(storage.description.includes(root), "the storage itself names it");
  const res = await createApp({ storage }).request("/api/pipeline");
  const text = await res.text();
  assertNoAbsolutePath(text, "/api/pipeline");
  const body = JSON.parse(text) as PipelineResponse;
  assert.match(
    body.resources[0]!.description,
    new RegExp(`^filesystem (\\.\\.\\.|\\.)/.*${name}$`),
  );
});

Deno.test("/api/pipeline and /metrics beside a pipeline show no absolute path in descriptions, errors or problems", async () => {
  const app = createApp({
    storage,
    pipeline: () => ({
      services: [{
        name: "stats-indexer",
        kind: "indexer",
        state: "running",
        error: `Cannot read '${root}/runs/r/raw/b.pb.zst': permission denied`,
        problems: [`batch at ${root}/runs/r is missing`],
        metrics: { batches: 2 },
      }],
      resources: [{ name: "tick-storage", kind: "filesystem", description: storage.description }],
    }),
  });
  const pipeline = await (await app.request("/api/pipeline")).text();
  assertNoAbsolutePath(pipeline, "/api/pipeline");
  const body = JSON.parse(pipeline) as PipelineResponse;
  assert.match(body.services[0]!.error!, /Cannot read '\.\.\.\/b\.pb\.zst': permission denied/);
  const metrics = await (await app.request("/metrics")).text();
  assertNoAbsolutePath(metrics, "/metrics");
  assert.match(metrics, /evochora_batches\{service="stats-indexer",kind="indexer"\} 2/);
});

Deno.test("/api/pipeline and /metrics show every service of the deployment from the cluster status", async () => {
  const clock = { now: 1_000_000 };
  const cluster = new ClusterStatus({ now: () => clock.now });
  const beat = (host: string, pid: number, sentAt: number, s: HeartbeatService): Heartbeat => ({
    v: HEARTBEAT_VERSION,
    host,
    pid,
    startedAt: 5,
    seq: 1,
    sentAt,
    intervalMs: 2000,
    services: [s],
  });
  cluster.record(beat("h1", 11, clock.now - 12_000, {
    name: "persistence-1",
    kind: "persistence",
    state: "running",
    metrics: { batches: 3 },
    lag: null,
  }));
  cluster.record(beat("h2", 22, clock.now - 1_000, {
    name: "stats-indexer",
    kind: "indexer",
    state: "failed",
    error: `Cannot read '${root}/runs/r/raw/b.pb.zst'`,
    metrics: { lag: 7 },
    lag: 7,
  }));
  const app = createApp({ storage, cluster: () => cluster.view() });
  const text = await (await app.request("/api/pipeline")).text();
  assertNoAbsolutePath(text, "/api/pipeline");
  const body = JSON.parse(text) as PipelineResponse;
  assert.equal(body.cluster!.lostAfterMs, 10_000);
  assert.deepEqual(
    body.cluster!.services.map((s) => [s.name, s.host, s.pid, s.state, s.lag, s.ageMs]),
    [["persistence-1", "h1", 11, "lost", null, 12_000], [
      "stats-indexer",
      "h2",
      22,
      "failed",
      7,
      1000,
    ]],
  );
  assert.equal(body.cluster!.services[0]!.reportedState, "running");
  const metrics = await (await app.request("/metrics")).text();
  const labels = 'service="persistence-1",kind="persistence",host="h1",pid="11"';
  assert.ok(metrics.includes(`evochora_cluster_service_state{${labels},state="lost"} 1`), metrics);
  assert.ok(metrics.includes(`evochora_cluster_service_last_seen_seconds{${labels}} 12`));
  assert.match(metrics, /evochora_cluster_service_lag\{service="stats-indexer",.*\} 7/);
  const serve = JSON.parse(await (await createApp({ storage }).request("/api/pipeline")).text());
  assert.equal("cluster" in serve, false, "no cluster without a status topic");
});
