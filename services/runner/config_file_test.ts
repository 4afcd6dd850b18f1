import assert from "node:assert/strict";
import { join } from "node:path";
import { jsonErrorOffset, loadConfigFile, MAX_JSON_CONFIG_BYTES } from "./config_file.ts";
import { resolveConfig } from "./config_resolve.ts";
import { ConfigError } from "../simulation_engine/runtime/mod.ts";

const SECRET = "hunter2-SECRET-7f3a";

/** A small valid config, as a TS module's default export would be. */
function memoryConfig(root: string) {
  return {
    resources: {
      q: { kind: "memory-queue", partitions: 2 },
      m: { kind: "memory-queue" },
      t: { kind: "memory-topic" },
      s: { kind: "filesystem", root },
    },
    services: {
      p: { kind: "persistence", input: "q", storage: "s", notify: "t" },
      e: { kind: "simulation-engine", output: "q", metadataOutput: "m", ticks: 10 },
    },
  };
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-config-file-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The message of loadConfigFile's rejection for `path`. */
async function loadError(path: string, standalone = false): Promise<string> {
  try {
    await loadConfigFile(path, { standalone });
  } catch (e) {
    assert.ok(e instanceof TypeError, `expected TypeError, got ${e}`);
    return e.message;
  }
  return assert.fail(`'${path}' loaded`);
}

Deno.test("a JSON config loads to the same config as the module exporting the same object", async () => {
  await withDir(async (dir) => {
    const config = memoryConfig(join(dir, "data"));
    const json = join(dir, "pipeline.config.json");
    await Deno.writeTextFile(json, JSON.stringify(config, null, 2));
    const ts = join(dir, "pipeline.config.ts");
    await Deno.writeTextFile(ts, `export default ${JSON.stringify(config)};\n`);
    const fromJson = await loadConfigFile(json);
    assert.deepEqual(fromJson, config);
    assert.deepEqual(resolveConfig(fromJson), resolveConfig(await loadConfigFile(ts)));
  });
});

Deno.test("a JSON config with a wrong field fails validation with the message a module's would", async () => {
  await withDir(async (dir) => {
    const config = memoryConfig(join(dir, "data"));
    (config.services.e as Record<string, unknown>).ticks = "200";
    const json = join(dir, "bad.config.json");
    await Deno.writeTextFile(json, JSON.stringify(config));
    const ts = join(dir, "bad.config.ts");
    await Deno.writeTextFile(ts, `export default ${JSON.stringify(config)};\n`);
    const errorOf = async (path: string) => {
      try {
        resolveConfig(await loadConfigFile(path));
      } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.message;
      }
      return assert.fail("accepted");
    };
    const message = await errorOf(json);
    assert.match(message, /'services\.e\.ticks': expected an integer, got "200"/);
    assert.equal(message, await errorOf(ts));
  });
});

Deno.test("a JSON syntax error names the file, line and column, and never its content", async () => {
  const cases: [string, number, number][] = [
    [`root:${SECRET}:20228:0:99999:7:::\n`, 1, 1],
    [`{\n  "resources": {},\n  "services": ${SECRET}\n}\n`, 3, 15],
    [`{\n  "resources": {},\n  "services": {},\n}\n`, 4, 1],
    [`{\n  "resources": {"${SECRET}": 1}\n  "services": {}\n}\n`, 3, 3],
    [`{"resources": {}, "services": {}} ${SECRET}`, 1, 35],
    [`{"resources": {"a": "${SECRET}`, 1, 41],
    [`{"resources": {"a": "${SECRET}"`, 1, 42],
    [`{"resources": tru}`, 1, 18],
    ["", 1, 1],
  ];
  await withDir(async (dir) => {
    for (const [i, [content, line, column]] of cases.entries()) {
      const path = join(dir, `case-${i}.json`);
      await Deno.writeTextFile(path, content);
      const message = await loadError(path);
      assert.equal(
        message,
        `Cannot load config '${path}': not valid JSON (syntax error at line ${line}, ` +
          `column ${column})`,
        JSON.stringify(content),
      );
      assert.ok(!message.includes(SECRET), message);
    }
  });
});

Deno.test("the offset of a JSON syntax error is where JSON.parse stops, with or without a position in its message", () => {
  const texts = [
    '{"a": 1,\n "b": hunter2}',
    '{"a": tru}',
    '{"a": [1, 2, x]}',
    '{"a": 1 "b": 2}',
    '{"a": {"b": nul, "c": 1}}',
    "xyz",
    '{"a": 1}}',
  ];
  const expected = [15, 9, 13, 8, 15, 0, 8];
  for (const [i, text] of texts.entries()) {
    let error: unknown;
    try {
      JSON.parse(text);
    } catch (e) {
      error = e;
    }
    assert.equal(jsonErrorOffset(text, error), expected[i], text);
  }
});

Deno.test("a JSON file that is not a config object, not UTF-8, too large or missing says so", async () => {
  await withDir(async (dir) => {
    const file = async (name: string, content: string | Uint8Array) => {
      const path = join(dir, name);
      if (typeof content === "string") await Deno.writeTextFile(path, content);
      else await Deno.writeFile(path, content);
      return path;
    };
    assert.match(
      await loadError(await file("array.json", `["${SECRET}"]`)),
      /: it holds an array, not a config object; expected a JSON object such as \{ "resources"/,
    );
    assert.match(await loadError(await file("null.json", "null")), /it holds null, not a config/);
    assert.match(await loadError(await file("five.json", "5")), /it holds number, not a config/);
    const binary = await loadError(
      await file("binary.json", new Uint8Array([0x7b, 0xff, 0xfe, 0x22, 0x7d])),
    );
    assert.match(binary, /: not a JSON config: it is not UTF-8 text$/);
    const big = await loadError(
      await file("big.json", `{"resources": {}, "x": "${"a".repeat(MAX_JSON_CONFIG_BYTES)}"}`),
    );
    assert.match(big, /bytes is too large for a config \(at most 1048576 bytes\)$/);
    assert.equal(
      await loadError(join(dir, "missing.json")),
      `Cannot load config '${join(dir, "missing.json")}': no such file`,
    );
    await Deno.mkdir(join(dir, "folder.json"));
    assert.match(await loadError(join(dir, "folder.json")), /: not a regular file$/);
    for (const m of [await loadError(join(dir, "array.json"))]) {
      assert.ok(!m.includes(SECRET), m);
    }
  });
});

Deno.test("a file of neither kind names both kinds of config file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "config.yaml");
    await Deno.writeTextFile(path, `resources: ${SECRET}\n`);
    const message = await loadError(path);
    assert.match(message, /not a TypeScript\/JavaScript module or JSON file of a config/);
    assert.match(
      message,
      /expected a \.json file holding .*, or a \.ts, \.mts, \.js, \.mjs module/,
    );
    assert.ok(!message.includes(SECRET), message);
  });
});

Deno.test("a compiled binary refuses a config module, saying it takes JSON, and still reads JSON", async () => {
  await withDir(async (dir) => {
    const config = memoryConfig(join(dir, "data"));
    const ts = join(dir, "pipeline.config.ts");
    await Deno.writeTextFile(ts, `export default ${JSON.stringify(config)};\n`);
    const message = await loadError(ts, true);
    assert.match(
      message,
      new RegExp(`^Cannot load config '${ts}': compiled binaries take JSON configs: they cannot`),
    );
    assert.match(message, /pass a \.json file of the same config/);
    // Refused before it is read: a missing module gets the same answer.
    assert.match(await loadError(join(dir, "missing.ts"), true), /compiled binaries take JSON/);
    const json = join(dir, "pipeline.config.json");
    await Deno.writeTextFile(json, JSON.stringify(config));
    assert.deepEqual(await loadConfigFile(json, { standalone: true }), config);
  });
});

Deno.test("a JSON config is read anew each time, never imported (a module would be cached)", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "pipeline.config.json");
    const first = memoryConfig(join(dir, "one"));
    await Deno.writeTextFile(path, JSON.stringify(first));
    assert.deepEqual(await loadConfigFile(path), first);
    const second = memoryConfig(join(dir, "two"));
    await Deno.writeTextFile(path, JSON.stringify(second));
    assert.deepEqual(await loadConfigFile(path), second);
  });
});
