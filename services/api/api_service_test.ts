import assert from "node:assert/strict";
import { fromBinary, WorldRegionSchema } from "../../proto/mod.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { RunsResponse, WorldResponse } from "./api_types.ts";
import { ApiService } from "./api_service.ts";
import { makeRun } from "../../tests/fixtures/stored_run.ts";

Deno.test("ApiService serves the app on a real socket on 127.0.0.1 and stops with a stream open", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-api-service-" });
  try {
    const runId = await makeRun(root, { ticks: 600 });
    const storage = await FilesystemStorage.open({ root });
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
