import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
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
