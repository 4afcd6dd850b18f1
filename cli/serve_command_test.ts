import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveConfig } from "../services/runner/mod.ts";
import { cliCommand } from "../tests/fixtures/cli_process.ts";
import { startServeArgs } from "../tests/fixtures/serve_process.ts";
import { configSource } from "./serve_command.ts";

const TOKEN = "0123456789abcdef-serve-token";

function command(args: string[], env: Record<string, string> = {}): Deno.Command {
  return cliCommand(["serve", ...args], { env: { EVOCHORA_API_TOKEN: "", ...env } });
}

async function serveFails(args: string[], env: Record<string, string> = {}) {
  const out = await command(args, env).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const dataDir = await Deno.makeTempDir({ prefix: "evochora-serve-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

Deno.test("serve --host 0.0.0.0 without a token refuses to start: one line, exit 2, how to give one", async () => {
  const { code, stderr } = await serveFails(["--data-dir", dataDir, "--host", "0.0.0.0"]);
  assert.equal(code, 2);
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^evochora serve: --host 0\.0\.0\.0 .*needs an access token/);
  assert.match(lines[0]!, /--token/);
  assert.match(lines[0]!, /EVOCHORA_API_TOKEN/);
});

Deno.test("serve refuses a short token from the flag or the environment, naming where it came from", async () => {
  const flag = await serveFails(["--data-dir", dataDir, "--token", "short"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^evochora serve: --token: the access token must have at least 16/);
  assert.doesNotMatch(flag.stderr, /short/, "the token is not echoed");
  const env = await serveFails(["--data-dir", dataDir, "--host", "0.0.0.0"], {
    EVOCHORA_API_TOKEN: "tiny",
  });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /^evochora serve: EVOCHORA_API_TOKEN: the access token must have/);
});

Deno.test("serve --allow-host with a port is refused", async () => {
  const { code, stderr } = await serveFails(["--data-dir", dataDir, "--allow-host", "a.lan:80"]);
  assert.equal(code, 2);
  assert.match(stderr, /--allow-host expects a host name without port, got 'a\.lan:80'/);
});

Deno.test("serve --token answers 401 without the token and 200 with it, and never prints it", async () => {
  const child = command(["--data-dir", dataDir, "--port", "0", "--no-index", "--token", TOKEN])
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  try {
    while (!/Access token required.*\n/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`serve ended early:\n${out}`);
      out += value;
    }
    const url = /Evochora: (http:\/\/\S+?)\/ /.exec(out)![1]!;
    assert.doesNotMatch(out, new RegExp(TOKEN), "the token is not printed");
    assert.match(out, /\?token=<token>/);
    const without = await fetch(`${url}/api/runs`);
    assert.equal(without.status, 401);
    await without.body?.cancel();
    const withToken = await fetch(`${url}/api/runs`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(withToken.status, 200);
    await withToken.body?.cancel();
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.stderr.cancel();
    const status = await child.status;
    assert.equal(status.code, 0, "SIGTERM stops serve cleanly");
  }
});

Deno.test("serve refuses --data-dir together with --config, naming both", async () => {
  const { code, stderr } = await serveFails(["--data-dir", dataDir, "--config", "x.config.ts"]);
  assert.equal(code, 2);
  assert.match(stderr, /^evochora serve: --data-dir and --config both name the data to serve/);
});

/** Writes a config serving `dataDir` whose http-api has `token` and port 0; its path. */
async function apiConfigFile(token: string): Promise<string> {
  const path = join(dataDir, "serve.config.ts");
  await Deno.writeTextFile(
    path,
    `export default ${
      JSON.stringify({
        resources: {
          "raw": { kind: "memory-queue" },
          "batches": { kind: "memory-topic" },
          "store": { kind: "filesystem", root: dataDir },
        },
        services: {
          "persistence-1": {
            kind: "persistence",
            input: "raw",
            storage: "store",
            notify: "batches",
          },
          "http-api": { kind: "http-api", storage: "store", port: 0, token },
        },
      })
    };\n`,
  );
  return path;
}

/** GET /api/runs with `token` (none: no header): the status. */
async function runsStatus(url: string, token?: string): Promise<number> {
  const headers: Record<string, string> = token === undefined
    ? {}
    : { authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/api/runs`, { headers });
  await res.body?.cancel();
  return res.status;
}

Deno.test("serve --config takes the port and token of the config's http-api; --token overrides", async () => {
  const file = await apiConfigFile(TOKEN);
  const fromConfig = await startServeArgs(["--config", file, "--no-index"]);
  try {
    assert.equal(await runsStatus(fromConfig.url), 401, "the config's token is required");
    assert.equal(await runsStatus(fromConfig.url, TOKEN), 200);
  } finally {
    await fromConfig.stop();
  }
  const other = "fedcba9876543210-flag-token";
  const fromFlag = await startServeArgs(["--config", file, "--no-index", "--token", other]);
  try {
    assert.equal(await runsStatus(fromFlag.url, TOKEN), 401, "the flag's token replaces F's");
    assert.equal(await runsStatus(fromFlag.url, other), 200);
  } finally {
    await fromFlag.stop();
  }
});

Deno.test("configSource serves the http-api's storage, else the persistence's, and names a config without one", () => {
  const resolved = resolveConfig({
    resources: {
      "raw": { kind: "memory-queue" },
      "batches": { kind: "memory-topic" },
      "ticks": { kind: "filesystem", root: "/a" },
      "views": { kind: "filesystem", root: "/b" },
    },
    services: {
      "persistence-1": { kind: "persistence", input: "raw", storage: "ticks", notify: "batches" },
      "http-api": { kind: "http-api", storage: "views", port: 9, host: "127.0.0.2" },
    },
  });
  const both = configSource(resolved, "f.ts");
  assert.deepEqual(both.storage, { kind: "filesystem", root: "/b" });
  assert.equal(both.api?.port, 9);
  assert.equal(both.api?.host, "127.0.0.2");
  delete resolved.services["http-api"];
  const writers = configSource(resolved, "f.ts");
  assert.deepEqual(writers.storage, { kind: "filesystem", root: "/a" });
  assert.equal(writers.api, undefined);
  assert.throws(
    () => configSource({ resources: {}, services: {}, startupSequence: [] }, "f.ts"),
    /^CliError: f\.ts: the config has no storage resource/,
  );
});
