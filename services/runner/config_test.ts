import assert from "node:assert/strict";
import {
  ConfigError,
  defaultConfig,
  defineConfig,
  loadConfigFile,
  resolveConfig,
} from "./config.ts";
import { encodeOnWorkerByDefault } from "./config_resolve.ts";

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
  if (p.kind === "persistence") assert.equal(p.checkOnWorker, true);
  const e = c.services["simulation-engine"]!;
  if (e.kind === "simulation-engine") {
    assert.deepEqual([e.zstdLevel, e.compressOnWorker, e.endWhenExtinct], [3, true, true]);
  }
});

Deno.test("encodeOnWorker defaults to on where the machine has 4 or more cores, and is kept as set", () => {
  assert.deepEqual([1, 2, 3, 4, 16].map((n) => encodeOnWorkerByDefault(n)), [
    false,
    false,
    false,
    true,
    true,
  ]);
  const engine = (c: ReturnType<typeof resolveConfig>) => {
    const e = c.services["simulation-engine"]!;
    assert.equal(e.kind, "simulation-engine");
    return e.kind === "simulation-engine" ? e.encodeOnWorker : undefined;
  };
  assert.equal(engine(resolveConfig(defaultConfig())), encodeOnWorkerByDefault());
  for (const set of [true, false]) {
    const cfg = defaultConfig();
    (cfg.services["simulation-engine"] as { encodeOnWorker?: boolean }).encodeOnWorker = set;
    assert.equal(engine(resolveConfig(cfg)), set);
  }
  const bad = defaultConfig();
  (bad.services["simulation-engine"] as unknown as { encodeOnWorker: string }).encodeOnWorker =
    "yes";
  assert.throws(
    () => resolveConfig(bad),
    /services\.simulation-engine\.encodeOnWorker.*expected true or false/,
  );
});

Deno.test("endWhenExtinct that is not a boolean names the field", () => {
  const cfg = defaultConfig();
  (cfg.services["simulation-engine"] as unknown as { endWhenExtinct: string }).endWhenExtinct =
    "no";
  const e = errorOf(cfg);
  assert.equal(e.field, "services.simulation-engine.endWhenExtinct");
  assert.match(e.message, /expected true or false/);
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
  await assert.rejects(
    () => loadConfigFile(`${dir}/missing.ts`),
    new RegExp(`^TypeError: Cannot load config '${dir}/missing.ts': no such file$`),
  );
  await Deno.remove(dir, { recursive: true });
  assert.equal(defineConfig(defaultConfig()).startupSequence?.length, 8);
});

Deno.test("a config that is missing resources or services says which is missing", () => {
  const none = errorOf({});
  assert.equal(none.field, "resources");
  assert.match(none.message, /'resources': missing; expected the queues, topics and storage/);
  const noServices = errorOf({ resources: {} });
  assert.equal(noServices.field, "services");
  assert.match(noServices.message, /'services': missing; expected the services by name/);
  assert.match(errorOf({ resources: [], services: {} }).message, /'resources': not an object/);
});

Deno.test("ticks given as a string are rejected naming the field", () => {
  const cfg = defaultConfig({ ticks: 5 });
  (cfg.services["simulation-engine"] as unknown as Record<string, unknown>).ticks = "200";
  const e = errorOf(cfg);
  assert.equal(e.field, "services.simulation-engine.ticks");
  assert.match(e.message, /expected an integer, got "200"/);
});

Deno.test("a number beyond 2^53 is refused as inexact, not echoed rounded", () => {
  const cfg = defaultConfig();
  (cfg.services["simulation-engine"] as { ticks?: number }).ticks = 9999999999999999;
  const e = errorOf(cfg);
  assert.equal(e.field, "services.simulation-engine.ticks");
  assert.match(e.message, /too large to be exact/);
  assert.doesNotMatch(e.message, /10000000000000000/);
});

Deno.test("the default config leaves the engine's ticks to the command unless given", () => {
  const engine = (c: ReturnType<typeof defaultConfig>) => c.services["simulation-engine"]!;
  assert.equal("ticks" in engine(defaultConfig()), false);
  const given = engine(defaultConfig({ ticks: 200 }));
  assert.equal(given.kind === "simulation-engine" ? given.ticks : undefined, 200);
  const resolved = resolveConfig(defaultConfig()).services["simulation-engine"]!;
  assert.equal(resolved.kind === "simulation-engine" ? resolved.ticks : undefined, 0);
});

/** Writes `text` to a file named `name` in `dir` and returns its path. */
async function fileWith(dir: string, name: string, text: string | Uint8Array): Promise<string> {
  const path = `${dir}/${name}`;
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** The message of loadConfigFile's rejection for `path`. */
async function loadError(path: string): Promise<string> {
  try {
    await loadConfigFile(path);
  } catch (e) {
    assert.ok(e instanceof TypeError, `expected TypeError, got ${e}`);
    return e.message;
  }
  return assert.fail(`'${path}' loaded`);
}

const SECRET = "hunter2-SECRET-7f3a";

Deno.test("loading a file that is not a config module never shows its content", async () => {
  const cases: [string, string | Uint8Array, RegExp][] = [
    ["shadow", `root:${SECRET}:20228:0:99999:7:::\n`, /not a TypeScript\/JavaScript module/],
    ["syntax.config.ts", `root:${SECRET}:20228\n`, /syntax error at line 1, column \d+/],
    [
      "later.config.ts",
      `export default {};\nlet x = ${SECRET} ${SECRET};\n`,
      /syntax error at line 2/,
    ],
    ["ident.config.ts", `${SECRET.replaceAll("-", "_")}\n`, /threw ReferenceError at line 1/],
    ["throws.config.ts", `throw new Error("${SECRET}");\n`, /threw Error at line 1, column 7/],
    ["import.config.ts", `import "./${SECRET}.ts";\n`, /an import at line 1, column 8 cannot/],
    ["binary.config.ts", new Uint8Array([0, 1, 2, 0xff, 0x41]), /syntax error at line 1/],
  ];
  const dir = await Deno.makeTempDir({ prefix: "evochora-config-" });
  for (const [name, content, reason] of cases) {
    const path = await fileWith(dir, name, content);
    const message = await loadError(path);
    assert.ok(message.startsWith(`Cannot load config '${path}': `), message);
    assert.match(message, reason);
    assert.ok(!message.includes(SECRET), message);
    assert.ok(!message.includes(SECRET.replaceAll("-", "_")), message);
    assert.ok(!message.includes("\n"), message);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a config module without a default export object says what to export", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-config-" });
  const none = await loadError(await fileWith(dir, "none.config.ts", "export const x = 1;\n"));
  assert.match(none, /it has no default export; end it with export default defineConfig/);
  const five = await loadError(await fileWith(dir, "five.config.ts", "export default 5;\n"));
  assert.match(five, /its default export is number, not a config object/);
  await Deno.mkdir(`${dir}/folder.ts`);
  assert.match(await loadError(`${dir}/folder.ts`), /not a regular file/);
  await Deno.remove(dir, { recursive: true });
});
