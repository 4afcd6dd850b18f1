/**
 * Every kind of bad input, through the real CLI as a subprocess: exit code 2, exactly one line
 * on stderr naming the flag or file and what to do, never a stack trace, never a piece of a
 * file that is not what the flag expects.
 */

import assert from "node:assert/strict";
import { evochora } from "./_test_helpers.ts";
import { cliCommand } from "../tests/fixtures/cli_process.ts";

const CONFIG_MODULE = new URL("../services/runner/config.ts", import.meta.url).href;
const SECRET = "hunter2-SECRET-7f3a";

/** Asserts exit code 2 and one stderr line, without a stack, that contains every `names`. */
function assertOneLine(
  r: { code: number; stdout: string; stderr: string },
  ...names: string[]
): string {
  assert.equal(r.code, 2, `exit code ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  const line = lines[0]!;
  assert.doesNotMatch(line, /Uncaught|\bat (file|async|Object|new )|:\d+:\d+\)/, line);
  for (const name of names) assert.ok(line.includes(name), `'${name}' not in: ${line}`);
  return line;
}

/** A temporary directory for one test's files, removed when the test's `await using` ends. */
interface Scratch extends AsyncDisposable {
  dir: string;
  /** Writes `text` to `name` in the directory; returns the path. */
  file(name: string, text: string): Promise<string>;
}

async function scratch(): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-bad-input-" });
  return {
    dir,
    async file(name, text) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A config module: the default config with `edit` applied to its engine service. */
function configSource(dataDir: string, edit: string, options = ""): string {
  return `import { defaultConfig } from "${CONFIG_MODULE}";
const config = defaultConfig({ dataDir: "${dataDir}", indexers: false${options} });
const engine = config.services["simulation-engine"] as unknown as Record<string, unknown>;
${edit}
export default config;
`;
}

// --- sim: worlds the engine cannot set up (issue 10, case 8) ---

Deno.test("sim --shape 4x4: a world too small for the ancestor is one line naming --shape", async () => {
  assertOneLine(await evochora("sim", "--shape", "4x4", "--ticks", "10"), "--shape 4x4");
});

Deno.test("sim --shape 256 and 16x16x16: a world of another dimension names --shape", async () => {
  for (const shape of ["256", "16x16x16"]) {
    assertOneLine(await evochora("sim", "--shape", shape, "--ticks", "10"), `--shape ${shape}`);
  }
});

Deno.test("sim --shape with a size beyond 2^53 says it is too large", async () => {
  const line = assertOneLine(
    await evochora("sim", "--shape", "99999999999999999999x64"),
    "--shape",
    "'99999999999999999999'",
    "too large",
  );
  assert.ok(!line.includes("100000000000000000000"), line);
});

Deno.test("sim --count and --energy beyond the engine's limits name the flag", async () => {
  assertOneLine(await evochora("sim", "--count", "100001"), "--count 100001", "100000");
  assertOneLine(await evochora("sim", "--energy", "99999999"), "--energy 99999999");
  assertOneLine(await evochora("sim", "--sampling", "9999999999999"), "--sampling");
});

Deno.test("a flag value starting with a dash is one line, not parseArgs' three", async () => {
  assertOneLine(await evochora("sim", "--ticks", "-1"), "--ticks", "evochora sim --help");
});

// --- --ticks and other numbers beyond 2^53 (issue 10, case 10) ---

Deno.test("--ticks beyond 2^53-1 is refused as too large, echoed exactly as typed", async () => {
  for (const command of ["sim", "run"]) {
    for (const ticks of ["99999999999999999999", "9999999999999999", "9007199254740992"]) {
      const line = assertOneLine(
        await evochora(command, "--ticks", ticks),
        "--ticks",
        "too large",
        `'${ticks}'`,
        "9007199254740991",
      );
      assert.doesNotMatch(line, /at least|10000000000000000\b|e\+/, line);
    }
  }
});

Deno.test("a config's ticks beyond 2^53-1 are refused naming the field, never rounded", async () => {
  await using s = await scratch();
  const file = await s.file(
    "big.config.ts",
    configSource(`${s.dir}/data`, "engine.ticks = 9999999999999999;"),
  );
  const line = assertOneLine(
    await evochora("run", "--config", file),
    file,
    "services.simulation-engine.ticks",
    "too large",
  );
  assert.ok(!line.includes("10000000000000000"), line);
});

// --- file contents are never echoed (issue 10, case 10) ---

Deno.test("sim --program of a file that is not a program names it and shows none of it", async () => {
  await using s = await scratch();
  const file = await s.file("notes.txt", `${SECRET}: do not print\nroot:x:0:0\n`);
  const line = assertOneLine(await evochora("sim", "--program", file), `--program ${file}:1:`);
  assert.ok(!line.includes(SECRET), line);
  assert.ok(!line.includes("root:x"), line);
});

Deno.test("sim --program /etc/passwd prints no line of the file", async () => {
  const passwd = await Deno.readTextFile("/etc/passwd").catch(() => undefined);
  if (passwd === undefined) return; // no such file on this system: nothing to leak
  const line = assertOneLine(await evochora("sim", "--program", "/etc/passwd"), "/etc/passwd");
  for (const row of passwd.split("\n").filter((l) => l.length > 0)) {
    assert.ok(!line.includes(row), `a line of /etc/passwd in: ${line}`);
    assert.ok(!line.includes(row.split(":")[0]! + ":x"), line);
  }
});

Deno.test("sim --program of a directory or device is refused before reading it", async () => {
  await using s = await scratch();
  assertOneLine(await evochora("sim", "--program", s.dir), s.dir, "not a regular file");
  assertOneLine(await evochora("sim", "--program", "/dev/zero"), "/dev/zero", "not a regular file");
});

Deno.test("run --config /etc/shadow or any non-module file names it and shows none of it", async () => {
  await using s = await scratch();
  const shadow = await s.file("shadow", `root:${SECRET}:20228:0:99999:7:::\n`);
  for (const command of ["run", "service"]) {
    const args = command === "run" ? ["run"] : ["service", "persistence-1"];
    const line = assertOneLine(
      await evochora(...args, "--config", shadow),
      `Cannot load config '${shadow}'`,
      "not a TypeScript/JavaScript module",
    );
    assert.ok(!line.includes(SECRET), line);
  }
  const real = await evochora("run", "--config", "/etc/shadow");
  assertOneLine(real, "/etc/shadow");
  assert.doesNotMatch(real.stderr, /root:/);
});

Deno.test("run --config of a .ts file with a syntax error gives the line, not the text", async () => {
  await using s = await scratch();
  const file = await s.file("broken.config.ts", `export default {};\nroot:${SECRET}:20228\n`);
  const line = assertOneLine(
    await evochora("run", "--config", file),
    `Cannot load config '${file}'`,
    "syntax error at line 2",
    `deno check ${file}`,
  );
  assert.ok(!line.includes(SECRET), line);
  const ident = await s.file("ident.config.ts", `${SECRET.replaceAll("-", "_")};\n`);
  const thrown = assertOneLine(await evochora("run", "--config", ident), "ReferenceError");
  assert.ok(!thrown.includes(SECRET.replaceAll("-", "_")), thrown);
});

Deno.test("run --config of a missing file says so", async () => {
  assertOneLine(
    await evochora("run", "--config", "/nonexistent/pipeline.config.ts"),
    "'/nonexistent/pipeline.config.ts': no such file",
  );
});

// --- config files without what a config needs (issue 10, case 8) ---

Deno.test("run --config of a file exporting {} names the file and the missing field", async () => {
  await using s = await scratch();
  const empty = await s.file("empty.config.ts", "export default {};\n");
  const defined = await s.file(
    "defined.config.ts",
    `import { defineConfig } from "${CONFIG_MODULE}";\nexport default defineConfig({} as never);\n`,
  );
  for (const file of [empty, defined]) {
    assertOneLine(await evochora("run", "--config", file), file, "'resources': missing");
  }
  const noServices = await s.file("no-services.config.ts", "export default { resources: {} };\n");
  assertOneLine(await evochora("run", "--config", noServices), noServices, "'services': missing");
  const noEngine = await s.file(
    "no-engine.config.ts",
    "export default { resources: {}, services: {} };\n",
  );
  assertOneLine(
    await evochora("run", "--config", noEngine),
    noEngine,
    "no simulation-engine service",
  );
});

Deno.test("run --config with ticks given as a string names the field", async () => {
  await using s = await scratch();
  const file = await s.file(
    "ticks.config.ts",
    configSource(`${s.dir}/data`, `engine.ticks = "200";`),
  );
  for (const extra of [[], ["--ticks", "5"]]) {
    assertOneLine(
      await evochora("run", "--config", file, ...extra),
      file,
      "'services.simulation-engine.ticks': expected an integer, got \"200\"",
    );
  }
});

Deno.test("run and service --config with a world too small for the ancestor name the file and field", async () => {
  await using s = await scratch();
  const file = await s.file(
    "small.config.ts",
    configSource(`${s.dir}/data`, "engine.engine = { shape: [4, 4] };"),
  );
  assertOneLine(
    await evochora("run", "--config", file, "--ticks", "10"),
    file,
    "services.simulation-engine.engine",
  );
  // The service's own process reports it; the launcher needs --allow-run to start one.
  const service = await cliCommand(["service", "simulation-engine", "--config", file]).output();
  assertOneLine(
    {
      code: service.code,
      stdout: new TextDecoder().decode(service.stdout),
      stderr: new TextDecoder().decode(service.stderr),
    },
    file,
    "services.simulation-engine.engine.shape",
  );
});

// --- run: flags (issue 10, cases 7 and 8) ---

Deno.test("run --shape 4x4: a world too small for the ancestor is one line naming --shape", async () => {
  await using s = await scratch();
  assertOneLine(
    await evochora("run", "--shape", "4x4", "--ticks", "10", "--data-dir", `${s.dir}/data`),
    "--shape 4x4",
  );
});

Deno.test("run --persistence above the tick queue's partitions names the limit and where it is set", async () => {
  for (const workers of ["7", "100", "100000"]) {
    assertOneLine(
      await evochora("run", "--persistence", workers, "--ticks", "5"),
      `--persistence ${workers}`,
      "'raw-tick-data' has 6 partitions",
      "choose 1..6",
      "resources.raw-tick-data.partitions",
    );
  }
  assertOneLine(
    await evochora("run", "--persistence", "99999999999999999999"),
    "--persistence",
    "too large",
  );
  assertOneLine(await evochora("run", "--persistence", "0"), "--persistence", "at least 1");
});

Deno.test("run --persistence above a config file's partitions names the file's setting", async () => {
  await using s = await scratch();
  const file = await s.file(
    "two.config.ts",
    configSource(
      `${s.dir}/data`,
      `(config.resources["raw-tick-data"] as { partitions?: number }).partitions = 2;`,
    ),
  );
  assertOneLine(
    await evochora("run", "--config", file, "--persistence", "3", "--ticks", "5"),
    "--persistence 3",
    "has 2 partitions",
    `raise resources.raw-tick-data.partitions in '${file}'`,
  );
});

Deno.test("dev --port above 65535 is refused as too large", async () => {
  assertOneLine(await evochora("dev", "--port", "70000"), "--port", "too large", "65535");
});
