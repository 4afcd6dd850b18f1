import assert from "node:assert/strict";
import { fromBinary, WorldRegionSchema } from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { RunsResponse, WorldResponse } from "./api_types.ts";
import { ApiService } from "./api_service.ts";
import { makeRun } from "../../tests/fixtures/stored_run.ts";
import { runEndKey } from "../common/storage_layout.ts";

Deno.test("ApiService serves the app on a real socket on 127.0.0.1 and stops with a stream open", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-service-" });
  try {
    const runId = await makeRun(root, { ticks: 600 });
    const storage = await FilesystemStorage.open({ root });
    // Without its end record the run reads as running (it stored something just now), so its
    // live stream stays open until the client leaves or the service stops.
    assert.equal(await storage.delete(runEndKey(runId, 600)), true);
    let polls = 0;
    const api = new ApiService({
      name: "api",
      storage,
      port: 0,
      liveIntervalMs: 100,
      live: () => {
        polls++;
        return null;
      },
    });
    assert.equal(api.url, "");
    assert.equal(api.status().state, "created");
    await api.start();
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(api.status().state, "running");

    const runs = await (await fetch(`${api.url}/api/runs`)).json() as RunsResponse;
    assert.deepEqual(runs.runs.map((r) => r.runId), [runId]);

    // JSON may be compressed by Deno.serve (which weakens the ETag); 304 still works.
    const worldUrl = `${api.url}/api/runs/${runId}/world/300?region=0,0,128,64`;
    const res = await fetch(worldUrl);
    assert.equal(res.status, 200);
    const world = await res.json() as WorldResponse;
    assert.deepEqual(world.size, [128, 64]);
    const etag = res.headers.get("etag")!;
    const again = await fetch(worldUrl, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    await again.body?.cancel();

    const pb = await fetch(worldUrl, { headers: { accept: "application/x-protobuf" } });
    const region = fromBinary(WorldRegionSchema, new Uint8Array(await pb.arrayBuffer()));
    assert.deepEqual(region.cells?.flatIndex, world.cells.flatIndex);
    assert.deepEqual(region.cells?.molecule, world.cells.molecule);

    const bad = await fetch(`${api.url}/api/runs/..%2f..%2f/world/0`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.parameter, "run");

    // A client that disconnects ends its stream on the server: polling stops.
    const gone = await fetch(`${api.url}/api/runs/latest/live`);
    const goneReader = gone.body!.getReader();
    await goneReader.read();
    await new Promise((r) => setTimeout(r, 120));
    assert.ok(polls >= 2, "the stream polls while connected");
    await goneReader.cancel();
    await new Promise((r) => setTimeout(r, 150));
    const after = polls;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(polls, after, "no polling after the client went away");

    // A live stream: the first event arrives; stop() ends the stream instead of waiting on it.
    const live = await fetch(`${api.url}/api/runs/latest/live`);
    const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
    assert.match(text, /^event: progress\ndata: \{.*"maxStoredTick":600/);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    assert.match(
      metrics,
      /evochora_api_requests_total\{route="\/api\/runs",method="GET",status="200"\} 1/,
    );

    assert.ok(api.status().metrics.requests! >= 6);
    const stopped = api.stop();
    // The stream ends once the service stops.
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    await stopped;
    await api.done;
    assert.equal(api.status().state, "stopped");
    await api.stop(); // idempotent
    await assert.rejects(() => fetch(`${api.url}/api/runs`));
    await storage.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ApiService reports a port that is taken", async () => {
  const storage = await FilesystemStorage.open({
    root: await Deno.makeTempDir({ prefix: "evochora-api-port-" }),
  });
  const a = new ApiService({ name: "a", storage, port: 0 });
  await a.start();
  const port = Number(new URL(a.url).port);
  const b = new ApiService({ name: "b", storage, port });
  await assert.rejects(() => b.start(), /Cannot listen on 127\.0\.0\.1:\d+/);
  assert.equal(b.status().state, "failed");
  await a.stop();
  await Deno.remove(storage.root, { recursive: true });
});

/** One raw HTTP/1.1 request over a socket (fetch will not send a Host of our choosing). */
async function rawRequest(port: number, lines: string[]): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode([...lines, "Connection: close", "", ""].join("\r\n")),
    );
    let text = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("ApiService refuses to listen beyond loopback without an access token", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-open-" });
  const storage = await FilesystemStorage.open({ root });
  const api = new ApiService({ name: "api", storage, host: "0.0.0.0", port: 0 });
  await assert.rejects(
    () => api.start(),
    /Cannot listen on 0\.0\.0\.0 without an access token.*EVOCHORA_API_TOKEN/,
  );
  assert.equal(api.status().state, "failed");
  assert.equal(api.url, "", "nothing was bound");
  await Deno.remove(root, { recursive: true });
});

Deno.test("ApiService on loopback checks Host and token on a real socket; HEAD has the GET's length; TRACE is 405", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-access-" });
  const storage = await FilesystemStorage.open({ root });
  const token = "0123456789abcdef-token";
  const api = new ApiService({ name: "api", storage, port: 0, token });
  await api.start();
  try {
    const port = Number(new URL(api.url).port);
    const auth = `Authorization: Bearer ${token}`;
    const rebound = await rawRequest(port, ["GET /api/runs HTTP/1.1", "Host: evil.example", auth]);
    assert.match(rebound, /^HTTP\/1\.1 421 /);
    const own = await rawRequest(port, ["GET /api/runs HTTP/1.1", `Host: localhost:${port}`, auth]);
    assert.match(own, /^HTTP\/1\.1 200 /);
    const none = await rawRequest(port, ["GET /api/runs HTTP/1.1", `Host: 127.0.0.1:${port}`]);
    assert.match(none, /^HTTP\/1\.1 401 /);
    assert.match(none, /www-authenticate: Bearer realm="evochora"/i);

    const get = await fetch(`${api.url}/api/runs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const length = (await get.arrayBuffer()).byteLength;
    const head = await fetch(`${api.url}/api/runs`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(length));

    const trace = await rawRequest(port, ["TRACE /api/runs HTTP/1.1", `Host: [::1]:${port}`, auth]);
    assert.match(trace, /^HTTP\/1\.1 405 /);
    assert.match(trace, /allow: GET, HEAD/i);
  } finally {
    await api.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ApiService prepares the web client before it listens, and serves a text page when that fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-web-" });
  const storage = await FilesystemStorage.open({ root });
  const logged: string[] = [];
  const api = new ApiService({
    name: "api",
    storage,
    port: 0,
    webRoot: `${root}/web`,
    prepareWeb: () => Promise.reject(new Error("building the web client failed: no bundler")),
    log: (m) => logged.push(m),
  });
  await api.start();
  try {
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /web client is not available.*no bundler/);
    const page = await fetch(`${api.url}/`);
    assert.match(await page.text(), /The web client is not built/);
  } finally {
    await api.stop();
  }
  let built = false;
  const ok = new ApiService({
    name: "api",
    storage,
    port: 0,
    webRoot: `${root}/web`,
    prepareWeb: async () => {
      await Deno.mkdir(`${root}/web`);
      await Deno.writeTextFile(`${root}/web/index.html`, "<!doctype html><title>viewer</title>");
      built = true;
    },
  });
  await ok.start();
  try {
    assert.ok(built);
    assert.match(await (await fetch(`${ok.url}/`)).text(), /viewer/);
  } finally {
    await ok.stop();
    await Deno.remove(root, { recursive: true });
  }
});
