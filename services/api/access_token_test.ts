import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { accessToken, TOKEN_COOKIE, tokenProblem } from "./access_token.ts";
import type { ApiError } from "./api_types.ts";
import { createApp } from "./app.ts";

const TOKEN = "0123456789abcdef-token";
const root = await Deno.makeTempDir({ prefix: "evochora-access-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const storage = new FilesystemStorage({ root });
const app = createApp({ storage, token: TOKEN });
const open = createApp({ storage });

Deno.test("with a token, a request without it answers 401 with a JSON error and WWW-Authenticate", async () => {
  for (
    const path of ["/api/runs", "/metrics", "/api/pipeline", "/api/openapi.json", "/", "/x.js"]
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 401, path);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="evochora"');
    const body = await res.json() as ApiError;
    assert.equal(body.error.code, "unauthorized");
    assert.match(body.error.message, /Authorization: Bearer/);
  }
});

Deno.test("with a token, a request carrying it as Bearer answers 200", async () => {
  const res = await app.request("/api/runs", { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).runs, []);
  const lower = await app.request("/metrics", { headers: { authorization: `bearer ${TOKEN}` } });
  assert.equal(lower.status, 200, "the scheme name is case-insensitive");
  await lower.body?.cancel();
});

Deno.test("a wrong, truncated or differently sent token answers 401", async () => {
  for (
    const authorization of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${btoa(`user:${TOKEN}`)}`,
      TOKEN,
      "Bearer ",
    ]
  ) {
    const res = await app.request("/api/runs", { headers: { authorization } });
    assert.equal(res.status, 401, authorization);
    await res.body?.cancel();
  }
  // The query form opens the web client only; the API itself needs the header.
  const query = await app.request(`/api/runs?token=${TOKEN}`);
  assert.equal(query.status, 401);
  await query.body?.cancel();
});

Deno.test("opening /?token= redirects to the page without it and sets an HttpOnly cookie that then authorizes", async () => {
  const res = await app.request(`/?token=${TOKEN}&run=x`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/?run=x");
  const cookie = res.headers.get("set-cookie") ?? "";
  assert.match(cookie, new RegExp(`^${TOKEN_COOKIE}=`));
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const pair = cookie.split(";")[0]!;
  for (const path of ["/", "/api/runs", "/api/runs/latest/live"]) {
    const again = await app.request(path, { headers: { cookie: pair } });
    assert.notEqual(again.status, 401, path);
    await again.body?.cancel();
  }
  const wrong = await app.request("/?token=not-the-token-at-all");
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const badCookie = await app.request("/api/runs", { headers: { cookie: `${TOKEN_COOKIE}=nope` } });
  assert.equal(badCookie.status, 401);
  await badCookie.body?.cancel();
});

Deno.test("without a token, no credentials are asked for", async () => {
  const res = await open.request("/api/runs");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("tokens shorter than 16 characters or with spaces are refused", () => {
  assert.match(tokenProblem("short")!, /at least 16 characters/);
  assert.match(tokenProblem("has a space in it, long enough")!, /visible ASCII/);
  assert.equal(tokenProblem(TOKEN), null);
  assert.throws(() => accessToken("short"), /at least 16/);
});
