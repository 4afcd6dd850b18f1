/**
 * schemathesis (PyPI) against the query API's OpenAPI document: `evochora serve` over the
 * stored fixture runs (tests/fixtures/stored_run.ts: one indexed run, one raw) on a free
 * loopback port with an access token, and `schemathesis run` with its default checks (all of
 * them: server errors, status codes, content types, headers and bodies against the document,
 * valid data accepted, invalid data rejected, auth enforced, 405 with Allow for other
 * methods). Any failure fails the test, with schemathesis's report.
 *
 * schemathesis comes from scripts/provision_schemathesis.sh (a pinned version in a virtualenv
 * under ~/.cache/evochora; .ci/run and `deno task test` run it); `EVOCHORA_SCHEMATHESIS` may
 * name another binary. Without it this test fails, it never skips. `EVOCHORA_SCHEMATHESIS_SEED`
 * varies the generated requests (default: a fixed seed, so that CI is reproducible).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openApiDocument } from "../../services/api/mod.ts";
import { makeTwoRuns, type TwoRuns } from "../fixtures/stored_run.ts";
import { type ServeProcess, startServe } from "./_serve_process.ts";

const TOKEN = "schemathesis-test-token-0123456789";
const DEFAULT_SEED = "20261130";

/** The schemathesis binary, or an error saying how to install it. */
async function schemathesisBinary(): Promise<string> {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "", ".cache");
  const bin = Deno.env.get("EVOCHORA_SCHEMATHESIS") ??
    join(cache, "evochora", "venv", "bin", "schemathesis");
  try {
    await Deno.stat(bin);
  } catch {
    throw new Error(
      `schemathesis is missing (${bin}): run 'bash scripts/provision_schemathesis.sh' ` +
        `(needs python3 and PyPI), or set EVOCHORA_SCHEMATHESIS`,
    );
  }
  return bin;
}

async function startServerWithToken(dataDir: string): Promise<ServeProcess> {
  return await startServe(dataDir, ["--no-index", "--token", TOKEN]);
}

/**
 * The schemathesis config: identifiers that exist (runs, sampled ticks, organisms), so that
 * most requests reach the data instead of a 404, and what the document cannot state.
 */
function schemathesisConfig(fx: TwoRuns): string {
  const ticks = new Set<number>();
  const ids = new Set<number>();
  for (const samples of fx.samples.values()) {
    const sorted = [...samples.keys()].sort((a, b) => a - b);
    for (const t of [sorted[0]!, sorted[sorted.length >> 1]!, sorted.at(-1)!]) {
      ticks.add(t);
      for (const o of samples.get(t)!.organisms.slice(0, 3)) ids.add(o.id);
    }
  }
  const list = (values: Iterable<string | number>) => JSON.stringify([...values]);
  return `
[dictionaries.runs]
values = ${list([fx.indexed, fx.raw, "latest"])}
[dictionaries.ticks]
values = ${list(ticks)}
[dictionaries.ids]
values = ${list(ids)}

[parameters]
"path.run" = { dictionary = "runs", probability = 0.9 }
"path.tick" = { dictionary = "ticks", probability = 0.7 }
"path.id" = { dictionary = "ids", probability = 0.6 }
"query.root" = { dictionary = "ids", probability = 0.5 }

# The live stream never ends: one event is enough to check it.
[[operations]]
include-path = "/api/runs/{run}/live"
max-stream-events = 1

# Two limits depend on the data, not only on the request, so the document states them in
# words: a region must lie inside the run's world, and 'to' must not precede 'from'. Both
# answer 400 naming the parameter, which is right, but would count as a valid request refused.
[[operations]]
include-path-regex = "^/api/runs/\\\\{run\\\\}/(world/\\\\{tick\\\\}|stats)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
`;
}

Deno.test("schemathesis finds no failure in the query API against its OpenAPI document", async () => {
  const bin = await schemathesisBinary();
  const fx = await makeTwoRuns();
  const work = await Deno.makeTempDir({ prefix: "evochora-schemathesis-" });
  const server = await startServerWithToken(fx.root);
  try {
    const config = join(work, "schemathesis.toml");
    await Deno.writeTextFile(config, schemathesisConfig(fx));
    const seed = Deno.env.get("EVOCHORA_SCHEMATHESIS_SEED") ?? DEFAULT_SEED;
    const out = await new Deno.Command(bin, {
      args: [
        "--config-file",
        config,
        "--no-color",
        "run",
        `${server.url}/api/openapi.json`,
        "--header",
        `Authorization: Bearer ${TOKEN}`,
        "--seed",
        seed,
        "--generation-database",
        "none",
      ],
      cwd: work,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    // The summary (operations, phases, cases generated) goes to the test log either way.
    const summary = text.slice(Math.max(0, text.lastIndexOf("SUMMARY") - 40));
    console.log(`schemathesis (seed ${seed}):\n${summary.trim()}`);
    assert.equal(out.code, 0, `schemathesis reported failures:\n${text}`);
    // Every operation but the document itself, which schemathesis leaves out.
    const operations = Object.keys(openApiDocument().paths).length - 1;
    assert.match(
      text,
      new RegExp(`Tested: ${operations}\\b`),
      "every operation of the document was tested",
    );

    // The server is still serving.
    const res = await fetch(`${server.url}/api/runs`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
});
