import assert from "node:assert/strict";
import { Hono } from "hono";
import { revalidate } from "./revalidate.ts";

/** A route whose body counts how often it is read, and whether it was cancelled. */
function streamingApp() {
  const seen = { pulls: 0, cancelled: 0 };
  const app = new Hono();
  app.get("/file/:status", revalidate, (c) => {
    const status = Number(c.req.param("status")) as 200 | 404;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        seen.pulls++;
        controller.enqueue(new TextEncoder().encode("data"));
        controller.close();
      },
      cancel() {
        seen.cancelled++;
      },
    }, { highWaterMark: 0 });
    return c.body(body, status, {
      "etag": '"v1"',
      "cache-control": "no-cache",
      "content-type": "application/octet-stream",
      "content-disposition": 'attachment; filename="f"',
      "x-extra": "kept",
    });
  });
  app.get("/no-etag", revalidate, (c) => c.text("plain"));
  return { app, seen };
}

Deno.test("revalidate: a 200 whose ETag matches becomes a 304 with its caching headers only", async () => {
  const { app, seen } = streamingApp();
  for (const tag of ['"v1"', 'W/"v1"', '"v0", "v1"', "*"]) {
    const res = await app.request("/file/200", { headers: { "if-none-match": tag } });
    assert.equal(res.status, 304, tag);
    assert.equal(await res.text(), "");
    assert.equal(res.headers.get("etag"), '"v1"');
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("x-extra"), "kept");
    assert.equal(res.headers.get("content-type"), null);
    assert.equal(res.headers.get("content-disposition"), null);
  }
  assert.deepEqual(seen, { pulls: 0, cancelled: 4 }, "the body is cancelled unread");
});

Deno.test("revalidate: other answers pass unchanged", async () => {
  const { app, seen } = streamingApp();
  const fresh = await app.request("/file/200");
  assert.equal(fresh.status, 200);
  assert.equal(await fresh.text(), "data");
  const stale = await app.request("/file/200", { headers: { "if-none-match": '"v0"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.headers.get("content-disposition"), 'attachment; filename="f"');
  assert.equal(await stale.text(), "data");
  // Only a 200 is revalidated.
  const missing = await app.request("/file/404", { headers: { "if-none-match": '"v1"' } });
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const plain = await app.request("/no-etag", { headers: { "if-none-match": "*" } });
  assert.equal(plain.status, 200);
  assert.equal(await plain.text(), "plain");
  assert.equal(seen.cancelled, 1);
});
