import assert from "node:assert/strict";
import {
  ConfigError,
  defaultConfig,
  defineConfig,
  loadConfigFile,
  resolveConfig,
} from "./config.ts";

function errorOf(input: unknown): ConfigError {
  try {
    resolveConfig(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail("config was accepted");
}

Deno.test("the default config resolves with 3 persistence workers started before the engine", () => {
  const c = resolveConfig(defaultConfig());
  assert.deepEqual(c.startupSequence, [
    "metadata-persistence",
    "persistence-1",
    "persistence-2",
    "persistence-3",
    "stats-indexer",
    "organisms-indexer",
    "catalog-indexer",
    "simulation-engine",
  ]);
  const api = resolveConfig(defaultConfig({ apiPort: 0, indexers: false }));
  assert.deepEqual(api.startupSequence.slice(-2), ["http-api", "simulation-engine"]);
  assert.deepEqual(c.resources["raw-tick-data"], {
    kind: "memory-queue",
    partitions: 6,
    maxBytes: 256 * 2 ** 20,
  });
  const p = c.services["persistence-1"]!;
  assert.equal(p.kind, "persistence");
  if (p.kind === "persistence") assert.equal(p.zstdLevel, 3);
});

Deno.test("an unknown resource kind names the field and the allowed kinds", () => {
  const cfg = defaultConfig();
  (cfg.resources["raw-tick-data"] as unknown as { kind: string }).kind = "rabbitmq";
  const e = errorOf(cfg);
  assert.equal(e.field, "resources.raw-tick-data.kind");
  assert.match(
    e.message,
    /unknown kind "rabbitmq"; allowed: memory-queue, memory-topic, filesystem/,
  );
});

Deno.test("a binding to a resource of the wrong kind is rejected", () => {
  const cfg = defaultConfig();
  const p = cfg.services["persistence-1"]!;
  if (p.kind === "persistence") p.input = "tick-storage";
  const e = errorOf(cfg);
  assert.equal(e.field, "services.persistence-1.input");
  assert.match(e.message, /'tick-storage' is a filesystem, expected a queue/);
});

Deno.test("a binding to a missing resource lists the defined ones", () => {
  const cfg = defaultConfig();
  const p = cfg.services["persistence-2"]!;
  if (p.kind === "persistence") p.notify = "nope";
  const e = errorOf(cfg);
  assert.equal(e.field, "services.persistence-2.notify");
  assert.match(e.message, /no resource named 'nope'; defined: raw-tick-data, metadata/);
});

Deno.test("bad numbers, unknown fields and startup sequences name the field", () => {
  const a = defaultConfig();
  (a.resources["raw-tick-data"] as { partitions?: number }).partitions = 0;
  assert.equal(errorOf(a).field, "resources.raw-tick-data.partitions");
  const b = defaultConfig();
  (b.services["simulation-engine"] as unknown as Record<string, unknown>).tick = 5;
  assert.equal(errorOf(b).field, "services.simulation-engine.tick");
  const c = defaultConfig();
  c.startupSequence = ["simulation-engine", "ghost"];
  assert.equal(errorOf(c).field, "startupSequence[1]");
  const d = defaultConfig();
  d.startupSequence = ["simulation-engine"];
  assert.match(errorOf(d).message, /does not start: metadata-persistence/);
  assert.equal(errorOf(42).field, "(root)");
});

Deno.test("a config file with defineConfig loads and resolves", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/pipeline.config.ts`;
  const configModule = new URL("./config.ts", import.meta.url).href;
  await Deno.writeTextFile(
    file,
    `import { defineConfig } from "${configModule}";
export default defineConfig({
  resources: {
    q: { kind: "memory-queue", partitions: 2 },
    m: { kind: "memory-queue" },
    t: { kind: "memory-topic" },
    s: { kind: "filesystem", root: "${dir}/data" },
  },
  services: {
    p: { kind: "persistence", input: "q", storage: "s", notify: "t" },
    e: { kind: "simulation-engine", output: "q", metadataOutput: "m", ticks: 10 },
  },
});
`,
  );
  const c = resolveConfig(await loadConfigFile(file));
  assert.deepEqual(c.startupSequence, ["p", "e"]);
  await assert.rejects(() => loadConfigFile(`${dir}/missing.ts`), /cannot read/);
  await Deno.remove(dir, { recursive: true });
  assert.equal(defineConfig(defaultConfig()).startupSequence?.length, 8);
});
