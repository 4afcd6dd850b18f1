import assert from "node:assert/strict";
import { ApiService } from "../api/mod.ts";
import { ConfigError, type PipelineConfig, resolveConfig } from "./config.ts";
import { Pipeline } from "./pipeline.ts";

const TOKEN = "0123456789abcdef-config-token";

function apiConfig(root: string, api: Record<string, unknown>): PipelineConfig {
  return {
    resources: { "tick-storage": { kind: "filesystem", root } },
    services: {
      "http-api": { kind: "http-api", storage: "tick-storage", port: 0, ...api },
    } as PipelineConfig["services"],
  };
}

function configError(api: Record<string, unknown>): ConfigError {
  try {
    resolveConfig(apiConfig("/tmp/unused", api));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("accepted");
}

Deno.test("the http-api service takes a token and allowed hosts; bad ones are refused without echoing the token", () => {
  const ok = resolveConfig(apiConfig("/tmp/unused", { token: TOKEN, allowedHosts: ["a.lan"] }));
  const api = ok.services["http-api"]!;
  assert.equal(api.kind === "http-api" && api.token, TOKEN);
  assert.deepEqual(api.kind === "http-api" && api.allowedHosts, ["a.lan"]);
  const short = configError({ token: "secret-ish" });
  assert.match(short.message, /services\.http-api\.token/);
  assert.match(short.message, /at least 16 characters/);
  assert.doesNotMatch(short.message, /secret-ish/);
  assert.match(configError({ token: 42 }).message, /token.*not a string/);
  assert.match(configError({ allowedHosts: ["a.lan:80"] }).message, /allowedHosts/);
  assert.match(configError({ allowedHosts: "a.lan" }).message, /allowedHosts/);
});

Deno.test("an http-api service on 0.0.0.0 without a token does not start", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-http-api-open-" });
  try {
    const p = await Pipeline.create(resolveConfig(apiConfig(root, { host: "0.0.0.0" })));
    await assert.rejects(() => p.start(), /without an access token.*EVOCHORA_API_TOKEN/);
    await p.stop();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an http-api service takes its token from EVOCHORA_API_TOKEN when the config has none", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-http-api-env-" });
  Deno.env.set("EVOCHORA_API_TOKEN", TOKEN);
  try {
    const p = await Pipeline.create(resolveConfig(apiConfig(root, { webRoot: root })));
    await p.start();
    try {
      const api = p.services.find((s): s is ApiService => s instanceof ApiService)!;
      const without = await fetch(`${api.url}/api/runs`);
      assert.equal(without.status, 401);
      await without.body?.cancel();
      const withToken = await fetch(`${api.url}/api/runs`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(withToken.status, 200);
      await withToken.body?.cancel();
    } finally {
      await p.stop();
    }
  } finally {
    Deno.env.delete("EVOCHORA_API_TOKEN");
    await Deno.remove(root, { recursive: true });
  }
});
