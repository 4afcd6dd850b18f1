import assert from "node:assert/strict";
import { Hono } from "hono";
import { IMMUTABLE, ImmutableAnswers, type ImmutableEnv } from "./immutable_answers.ts";

/** An app with one tick route behind the middleware, counting handler runs and builds. */
function tickApp(answers = new ImmutableAnswers({ maxBytes: 1 << 20 })) {
  const counts = { handler: 0, build: 0 };
  const app = new Hono<ImmutableEnv>();
  const variant = (c: { req: { header(name: string): string | undefined } }) =>
    c.req.header("accept") === "text/plain" ? "text" : "json";
  app.get("/:run/thing/:tick", answers.middleware(variant), async (c) => {
    counts.handler++;
    const format = variant(c);
    // The entity does not depend on the run's name: `latest` and the id name the same one.
    const tag = {
      identity: `${c.req.param("tick")} ${format}`,
      etag: `"${c.req.param("tick")}-${format}"`,
    };
    return await c.get("answer")(
      tag,
      format === "text" ? "text/plain" : "application/json",
      () => {
        counts.build++;
        return Promise.resolve(new TextEncoder().encode(`tick ${c.req.param("tick")} ${format}`));
      },
    );
  });
  return { app, counts, answers };
}

Deno.test("immutable answers: built once, then served by URL without running the handler", async () => {
  const { app, counts, answers } = tickApp();
  const a = await app.request("/r1/thing/5");
  assert.equal(a.status, 200);
  assert.equal(await a.text(), "tick 5 json");
  assert.equal(a.headers.get("etag"), '"5-json"');
  assert.equal(a.headers.get("cache-control"), IMMUTABLE);
  assert.equal(a.headers.get("vary"), "Accept");
  assert.equal(a.headers.get("content-type"), "application/json");
  const b = await app.request("/r1/thing/5");
  assert.equal(await b.text(), "tick 5 json");
  assert.equal(b.headers.get("etag"), '"5-json"');
  assert.deepEqual(counts, { handler: 1, build: 1 });
  // Another representation of the same URL is another entity.
  const text = await app.request("/r1/thing/5", { headers: { accept: "text/plain" } });
  assert.equal(await text.text(), "tick 5 text");
  assert.deepEqual(counts, { handler: 2, build: 2 });
  const [bodies, urls] = answers.stats();
  assert.equal(bodies!.name, "responses");
  assert.equal(bodies!.hits, 1);
  assert.equal(urls!.name, "url_index");
  assert.equal(urls!.entries, 2);
});

Deno.test("immutable answers: 304 on a matching If-None-Match, before and without building", async () => {
  const { app, counts } = tickApp();
  // Not seen before (e.g. after a restart): the handler names the entity, nothing is built.
  const cold = await app.request("/r1/thing/7", { headers: { "if-none-match": 'W/"7-json"' } });
  assert.equal(cold.status, 304);
  assert.equal(await cold.text(), "");
  assert.equal(cold.headers.get("etag"), '"7-json"');
  assert.equal(cold.headers.get("cache-control"), IMMUTABLE);
  assert.equal(cold.headers.get("content-type"), null);
  assert.deepEqual(counts, { handler: 1, build: 0 });
  await (await app.request("/r1/thing/7")).arrayBuffer();
  assert.deepEqual(counts, { handler: 2, build: 1 });
  // Seen before: answered by URL.
  const warm = await app.request("/r1/thing/7", { headers: { "if-none-match": '"7-json"' } });
  assert.equal(warm.status, 304);
  assert.equal(warm.headers.get("vary"), "Accept");
  assert.deepEqual(counts, { handler: 2, build: 1 });
  const other = await app.request("/r1/thing/7", { headers: { "if-none-match": '"8-json"' } });
  assert.equal(other.status, 200);
  await other.body?.cancel();
});

Deno.test("immutable answers: `latest` is revalidated and never answered by URL", async () => {
  const { app, counts } = tickApp();
  for (let i = 0; i < 2; i++) {
    const res = await app.request("/latest/thing/3");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(await res.text(), "tick 3 json");
  }
  // The handler runs every time (the run may change); the body comes from the cache.
  assert.deepEqual(counts, { handler: 2, build: 1 });
});

Deno.test("immutable answers: a body larger than the cache is built every time", async () => {
  const { app, counts } = tickApp(new ImmutableAnswers({ maxBytes: 4 }));
  for (let i = 0; i < 2; i++) {
    assert.equal(await (await app.request("/r/thing/1")).text(), "tick 1 json");
  }
  assert.deepEqual(counts, { handler: 2, build: 2 });
});

Deno.test("two entities with the same ETag never share a cached body: the identity decides", async () => {
  const answers = new ImmutableAnswers({ maxBytes: 1 << 20 });
  const app = new Hono<ImmutableEnv>();
  // A forged collision: every tick claims one ETag.
  app.get("/:run/thing/:tick", answers.middleware(() => "json"), async (c) => {
    const tick = c.req.param("tick");
    return await c.get("answer")(
      { identity: `thing ${tick}`, etag: '"same"' },
      "text/plain",
      () => Promise.resolve(new TextEncoder().encode(`tick ${tick}`)),
    );
  });
  assert.equal(await (await app.request("/r/thing/1")).text(), "tick 1");
  assert.equal(await (await app.request("/r/thing/2")).text(), "tick 2");
  assert.equal(await (await app.request("/r/thing/1")).text(), "tick 1");
});
