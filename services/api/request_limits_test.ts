import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  MAX_PARAMETER_LENGTH,
  MAX_PARAMETERS,
  MAX_URL_LENGTH,
  requestLimits,
} from "./request_limits.ts";

const app = new Hono();
app.use("*", requestLimits);
app.get("*", (c) => c.text("ok"));

async function answer(path: string): Promise<{ status: number; body: string }> {
  const res = await app.request(path);
  return { status: res.status, body: await res.text() };
}

Deno.test("a URL beyond the limit answers 414 with a JSON error saying the limit", async () => {
  const long = await answer(`/api/runs?x=${"a".repeat(MAX_URL_LENGTH)}`);
  assert.equal(long.status, 414);
  const err = JSON.parse(long.body).error;
  assert.equal(err.code, "uri_too_long");
  assert.match(err.message, new RegExp(`at most ${MAX_URL_LENGTH}`));
  assert.equal((await answer(`/api/runs?x=${"a".repeat(1000)}`)).status, 200);
});

Deno.test("an oversized or surplus query parameter answers 400 naming it", async () => {
  const big = await answer(`/api/runs?metrics=${"b".repeat(MAX_PARAMETER_LENGTH + 1)}`);
  assert.equal(big.status, 400);
  const err = JSON.parse(big.body).error;
  assert.equal(err.code, "bad_parameter");
  assert.equal(err.parameter, "metrics");
  const many = Array.from({ length: MAX_PARAMETERS + 1 }, (_, i) => `p${i}=1`).join("&");
  const surplus = await answer(`/api/runs?${many}`);
  assert.equal(surplus.status, 400);
  assert.match(JSON.parse(surplus.body).error.message, /Too many query parameters/);
});
