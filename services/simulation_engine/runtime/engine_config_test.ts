import assert from "node:assert/strict";
import { ConfigError, type EngineConfigInput, resolveEngineConfig } from "./engine_config.ts";

/** A config as an untyped file could give it. */
function untyped(programs: unknown): EngineConfigInput {
  return { programs } as unknown as EngineConfigInput;
}

Deno.test("resolveEngineConfig() names a program that is not an object instead of failing on it", () => {
  for (const bad of [null, 7, "RET", [1]]) {
    assert.throws(
      () => resolveEngineConfig(untyped([bad])),
      (e) =>
        e instanceof ConfigError &&
        /^Invalid config 'programs\[0\]': expected an object/.test(e.message),
      JSON.stringify(bad),
    );
  }
});

Deno.test("resolveEngineConfig() refuses programs that are not a list", () => {
  assert.throws(
    () => resolveEngineConfig(untyped({ source: "RET" })),
    (e) =>
      e instanceof ConfigError && /^Invalid config 'programs': expected a list/.test(e.message),
  );
});

Deno.test("resolveEngineConfig() still names a program's missing source", () => {
  assert.throws(
    () => resolveEngineConfig(untyped([{ count: 1, energy: 100 }])),
    (e) =>
      e instanceof ConfigError &&
      /^Invalid config 'programs\[0\]\.source': expected assembler/.test(e.message),
  );
});
