import assert from "node:assert/strict";
import { makeTwoRuns } from "../../tests/fixtures/stored_run.ts";
import { buildApi } from "./app.ts";
import { servesPath } from "./method_not_allowed.ts";

const fx = await makeTwoRuns();
const { app } = buildApi({ storage: fx.storage, liveIntervalMs: 50 });
const tick = 1000;
const id = fx.samples.get(fx.indexed)!.get(tick)!.organisms[0]!.id;

/** One request per GET route, with parameters that answer 200. */
const PATHS = [
  "/",
  "/api/openapi.json",
  "/api/runs",
  `/api/runs/${fx.indexed}`,
  `/api/runs/${fx.indexed}/ticks`,
  `/api/runs/${fx.indexed}/world/${tick}`,
  `/api/runs/${fx.indexed}/world/${tick}?region=0,0,16,16`,
  `/api/runs/${fx.indexed}/organisms/${tick}`,
  `/api/runs/${fx.indexed}/organisms/${tick}/${id}`,
  `/api/runs/${fx.indexed}/lineage`,
  `/api/runs/${fx.indexed}/stats?metrics=alive`,
  `/api/runs/${fx.indexed}/export/stats.parquet`,
  "/api/pipeline",
];

Deno.test("HEAD answers every GET route with the GET's status, headers and content-length", async () => {
  for (const path of PATHS) {
    // HEAD first, then GET: the HEAD must not depend on a warm cache.
    const head = await app.request(path, { method: "HEAD" });
    const get = await app.request(path);
    const body = new Uint8Array(await get.arrayBuffer());
    assert.equal(head.status, 200, path);
    assert.equal(get.status, 200, path);
    assert.ok(body.byteLength > 0, path);
    assert.equal(head.headers.get("content-length"), String(body.byteLength), path);
    assert.equal(head.body, null, `${path}: no body`);
    for (const name of ["content-type", "etag", "cache-control", "x-content-type-options"]) {
      assert.equal(head.headers.get(name), get.headers.get(name), `${path}: ${name}`);
    }
  }
});

Deno.test("HEAD of /metrics states a length, and errors have theirs too", async () => {
  const metrics = await app.request("/metrics", { method: "HEAD" });
  assert.equal(metrics.status, 200);
  assert.ok(Number(metrics.headers.get("content-length")) > 100);
  const missing = await app.request("/api/runs/nope", { method: "HEAD" });
  const missingGet = await app.request("/api/runs/nope");
  assert.equal(missing.status, 404);
  assert.equal(
    missing.headers.get("content-length"),
    String((await missingGet.arrayBuffer()).byteLength),
  );
});

Deno.test("HEAD of the live stream answers its headers at once, without a length", async () => {
  const res = await app.request(`/api/runs/${fx.indexed}/live`, { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(res.headers.get("content-length"), null);
});

Deno.test("the HEAD test covers every GET route of the app", () => {
  for (const route of app.routes.filter((r) => r.method === "GET")) {
    const served = servesPath([route]);
    assert.ok(
      PATHS.some((p) => served(p.split("?")[0]!)) || route.path.endsWith("/live") ||
        route.path === "/metrics",
      `no HEAD case for ${route.path}`,
    );
  }
});
