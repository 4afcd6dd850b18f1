/**
 * config/kafka-s3.config.json is config/kafka-s3.config.ts as JSON (what compiled service
 * binaries take): the same object as the module's default export evaluated without
 * EVOCHORA_API_HOST, so the two resolve to the same config and cannot drift apart.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfigFile, resolveConfig } from "../services/runner/config.ts";

const JSON_CONFIG = fileURLToPath(new URL("./kafka-s3.config.json", import.meta.url));
const TS_CONFIG = new URL("./kafka-s3.config.ts", import.meta.url);

/** The module's default export evaluated now (a fresh instance, not the cached one). */
async function evaluateModule(): Promise<unknown> {
  const url = new URL(TS_CONFIG);
  url.searchParams.set("instance", crypto.randomUUID());
  return (await import(url.href)).default;
}

/** Runs `f` with the variables set as given (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>) {
  const saved = Object.keys(vars).map((k) => [k, Deno.env.get(k)] as const);
  const apply = (k: string, v: string | undefined) =>
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  for (const [k, v] of Object.entries(vars)) apply(k, v);
  try {
    return await f();
  } finally {
    for (const [k, v] of saved) apply(k, v);
  }
}

Deno.test("config/kafka-s3.config.json equals config/kafka-s3.config.ts without environment overrides", async () => {
  // The bucket comes from the environment in both (resolveConfig reads it); the API's host
  // only in the module.
  await withEnv({ EVOCHORA_API_HOST: undefined, EVOCHORA_S3_BUCKET: "a-bucket" }, async () => {
    const fromModule = await evaluateModule();
    const fromJson = await loadConfigFile(JSON_CONFIG);
    assert.deepEqual(fromJson, fromModule, "edit both files: the JSON is the module's export");
    assert.deepEqual(resolveConfig(fromJson), resolveConfig(fromModule));
  });
});
