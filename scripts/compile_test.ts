import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfigFile, resolveConfig } from "../services/runner/config.ts";
import { derivePermissions, permissionFlags } from "../services/runner/permissions.ts";
import { listSourceFiles } from "./lint_deps.ts";
import { shellLine } from "../cli/service_launcher.ts";
import { V8_FLAGS_ARG } from "../cli/process_flags.ts";
import {
  DEFAULT_CONFIG,
  DENORT_BLOCKED,
  denortDownloadFailed,
  planCompile,
  SERVICE_KINDS,
} from "./compile.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./compile.ts", import.meta.url));

/** The environment of a deployment: its brokers and S3 endpoint. */
const DEPLOYMENT: Record<string, string> = {
  KAFKA_BOOTSTRAP_SERVERS: "10.0.0.5:9092",
  AWS_ENDPOINT: "http://10.0.0.6:9000",
  EVOCHORA_S3_BUCKET: "evochora",
};

/** `deno run scripts/compile.ts args` in `env` alone (plus PATH and HOME). */
/**
 * What the child needs of this environment besides the deployment's variables: where Deno keeps
 * its cache, and how it reaches the registry (a machine behind a TLS-inspecting proxy names its
 * CA here; without it a fresh cache could not fetch the script's packages).
 */
const PASSED = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "DENO_CERT",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

async function compileScript(args: string[], env: Record<string, string>) {
  const passed = Object.fromEntries(
    PASSED.flatMap((n) => {
      const v = Deno.env.get(n);
      return v === undefined ? [] : [[n, v]];
    }),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    env: { ...passed, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function shippedConfig() {
  const bucket = Deno.env.get("EVOCHORA_S3_BUCKET");
  Deno.env.set("EVOCHORA_S3_BUCKET", DEPLOYMENT.EVOCHORA_S3_BUCKET!);
  try {
    return resolveConfig(await loadConfigFile(DEFAULT_CONFIG));
  } finally {
    if (bucket === undefined) Deno.env.delete("EVOCHORA_S3_BUCKET");
    else Deno.env.set("EVOCHORA_S3_BUCKET", bucket);
  }
}

Deno.test("compile plans one binary per kind with exactly the flags derivePermissions gives its services", async () => {
  const config = await shippedConfig();
  const env = (n: string) => DEPLOYMENT[n];
  const steps = planCompile({
    config,
    configAt: "/etc/evochora/config.json",
    out: "/tmp/bin",
    env,
    deno: "deno",
  });
  assert.deepEqual(steps.map((s) => s.kind), [...SERVICE_KINDS]);
  for (const s of steps) {
    const services = Object.keys(config.services).filter((n) =>
      config.services[n]!.kind === s.kind
    );
    assert.deepEqual([...s.services].sort(), services.sort());
    const flags = permissionFlags(
      derivePermissions({ config, services, configPath: "/etc/evochora/config.json", env }),
    );
    assert.deepEqual(s.permissionFlags, flags);
    assert.deepEqual(s.command.slice(0, 5), [
      "deno",
      "compile",
      "--config",
      join(ROOT, "deno.json"),
      V8_FLAGS_ARG,
    ]);
    assert.deepEqual(s.command.slice(5, 5 + flags.length), flags, s.kind);
    for (const a of s.command) {
      assert.ok(!/^(-A|--allow-all|--allow-run|--allow-ffi)\b/.test(a), `${s.kind}: ${a}`);
      if (a.startsWith("--allow")) assert.match(a, /^--allow-(read|write|net|env|sys)=./);
    }
    assert.ok(
      flags.some((f) => f.startsWith("--allow-read=") && f.includes("/etc/evochora/config.json")),
    );
    assert.ok(
      flags.some((f) =>
        f === "--allow-net=10.0.0.5:9092,10.0.0.6:9000" ||
        f.startsWith("--allow-net=10.0.0.5:9092,10.0.0.6:9000,")
      ),
      `${s.kind}: ${flags.join(" ")}`,
    );
    assert.deepEqual(s.command.slice(-3), ["--output", `/tmp/bin/evochora-${s.kind}`, s.entry]);
    assert.equal(
      s.entry,
      join(ROOT, "services", s.kind === "http-api" ? "api" : s.kind.replace("-", "_"), "main.ts"),
    );
    const includes = s.command.flatMap((a, i) => s.command[i - 1] === "--include" ? [a] : []);
    assert.deepEqual(includes, s.includes);
    assert.ok(includes.includes(join(ROOT, "services/simulation_engine/programs/ancestor.evo")));
    assert.equal(includes.includes(join(ROOT, "web/dist")), s.kind === "http-api", s.kind);
    assert.equal(
      includes.includes(join(ROOT, "resources/storage/_zstd_worker.ts")),
      s.kind === "persistence" || s.kind === "simulation-engine",
      s.kind,
    );
    assert.equal(
      includes.includes(join(ROOT, "services/runner/_index_thread.ts")),
      s.kind === "indexer",
      s.kind,
    );
    for (const engineThread of WORKERS_OF_ENGINE) {
      assert.equal(includes.includes(join(ROOT, engineThread)), s.kind === "simulation-engine");
    }
  }
  const api = steps.find((s) => s.kind === "http-api")!;
  assert.ok(
    !api.permissionFlags.some((f) => f.startsWith("--allow-write")),
    "the API may not write",
  );
  assert.ok(
    api.permissionFlags.some((f) => f.startsWith("--allow-net=") && f.endsWith(",127.0.0.1:8080")),
  );
});

/** The engine's worker modules besides the zstd worker: Kafka producer, chunk encoder. */
const WORKERS_OF_ENGINE = [
  "resources/kafka/_producer_thread_worker.ts",
  "services/simulation_engine/_chunk_encoder_worker.ts",
];

/** Every module the code starts a worker thread on (`new URL("./_x.ts", import.meta.url)`). */
async function workerModules(): Promise<string[]> {
  const found = new Set<string>();
  for (const file of await listSourceFiles(ROOT)) {
    if (!/^(resources|services)\/.*\.ts$/.test(file) || file.endsWith("_test.ts")) continue;
    const path = join(ROOT, file);
    const source = await Deno.readTextFile(path);
    const urls = source.matchAll(/new URL\(\s*"(\.\/_[a-z_]+\.ts)",\s*import\.meta\.url\)/g);
    for (const m of urls) found.add(join(dirname(path), m[1]!));
  }
  return [...found].sort();
}

Deno.test("every worker thread's module is embedded in the binary of a kind that starts it", async () => {
  const config = await shippedConfig();
  const steps = planCompile({
    config,
    configAt: "/etc/evochora/config.json",
    out: "/tmp/bin",
    env: (n: string) => DEPLOYMENT[n],
    deno: "deno",
  });
  const embedded = new Set(steps.flatMap((s) => s.includes));
  const workers = await workerModules();
  assert.ok(workers.length >= 4, workers.join(", "));
  for (const w of workers) assert.ok(embedded.has(w), `${w} is in no binary`);
});

Deno.test("compile refuses an unknown kind and a kind the config has none of", async () => {
  const config = await shippedConfig();
  const base = { config, configAt: "/c.json", out: "/o", env: (n: string) => DEPLOYMENT[n] };
  assert.throws(
    () => planCompile({ ...base, kinds: ["web"] }),
    /Unknown service kind 'web'; the kinds: simulation-engine/,
  );
  const noApi = structuredClone(config);
  delete noApi.services["http-api"];
  noApi.startupSequence = noApi.startupSequence.filter((n) => n !== "http-api");
  assert.throws(
    () => planCompile({ ...base, config: noApi, kinds: ["http-api"] }),
    /The config has no http-api service/,
  );
  assert.deepEqual(
    planCompile({ ...base, config: noApi }).map((s) => s.kind).includes("http-api"),
    false,
  );
});

Deno.test("compile --dry-run prints each kind's command and builds nothing", async () => {
  const out = await Deno.makeTempDir({ prefix: "evochora-compile-" });
  try {
    const bin = join(out, "bin");
    const r = await compileScript(
      ["--dry-run", "--out", bin, "persistence", "http-api"],
      DEPLOYMENT,
    );
    assert.equal(r.code, 0, r.stderr);
    const expected = planCompile({
      config: await shippedConfig(),
      configAt: DEFAULT_CONFIG,
      out: bin,
      kinds: ["persistence", "http-api"],
      env: (n) => DEPLOYMENT[n],
    }).map((s) => shellLine(s.command));
    assert.deepEqual(r.stdout.trimEnd().split("\n"), expected);
    assert.equal(await Deno.stat(bin).then(() => true, () => false), false, "nothing written");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile with a bad kind or no brokers says so in one line (exit 2)", async () => {
  const bad = await compileScript(["--dry-run", "indexers"], DEPLOYMENT);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^compile: .*kafka-s3\.config\.json: Unknown service kind 'indexers'; the kinds: /,
  );
  assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
  const { KAFKA_BOOTSTRAP_SERVERS: _, ...noBrokers } = DEPLOYMENT;
  const none = await compileScript(["--dry-run"], noBrokers);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^compile: .*: no Kafka brokers: set KAFKA_BOOTSTRAP_SERVERS/);
});

/** A filesystem config module (no brokers needed), as a user writes one. */
function filesystemModule(root: string): string {
  const config = {
    resources: {
      q: { kind: "memory-queue" },
      m: { kind: "memory-queue" },
      t: { kind: "memory-topic" },
      s: { kind: "filesystem", root },
    },
    services: {
      "metadata-persistence": { kind: "metadata-persistence", input: "m", storage: "s" },
      "persistence-1": { kind: "persistence", input: "q", storage: "s", notify: "t" },
    },
  };
  const module = new URL("../services/runner/config.ts", import.meta.url).href;
  return `import { defineConfig } from "${module}";\n` +
    `export default defineConfig(${JSON.stringify(config)});\n`;
}

Deno.test("compile of a config module writes it as JSON for the binaries, then builds or names the blocked runtime download", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-compile-" });
  try {
    const module = join(dir, "fs.config.ts");
    await Deno.writeTextFile(module, filesystemModule(join(dir, "data")));
    const bin = join(dir, "bin");
    const dry = await compileScript(["--dry-run", "--config", module, "--out", bin], {});
    assert.equal(dry.code, 0, dry.stderr);
    const json = join(bin, "fs.config.json");
    assert.match(dry.stderr, new RegExp(`would write ${json} `));
    for (const line of dry.stdout.trimEnd().split("\n")) {
      const read = line.match(/--allow-read=(\S+)/)?.[1]?.split(",") ?? [];
      assert.ok(read.includes(json), `${json} readable in: ${line}`);
      assert.match(line, new RegExp(`--allow-write=${join(dir, "data")} `));
    }

    const r = await compileScript(["--config", module, "--out", bin, "metadata-persistence"], {});
    assert.deepEqual(
      await loadConfigFile(json),
      (await import(new URL(`file://${module}`).href)).default,
      "the JSON is the module's config",
    );
    const binary = join(bin, "evochora-metadata-persistence");
    if (r.code === 1) {
      // Here deno compile cannot fetch its runtime: one line saying so, no binary.
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), `compile: ${DENORT_BLOCKED}`);
      assert.equal(await Deno.stat(binary).then(() => true, () => false), false);
      return;
    }
    // Where it can, the binary refuses the module and names JSON.
    assert.equal(r.code, 0, r.stderr);
    const run = await new Deno.Command(binary, {
      args: ["--config", module, "metadata-persistence"],
      stderr: "piped",
    }).output();
    assert.equal(run.code, 2);
    assert.match(new TextDecoder().decode(run.stderr), /compiled binaries take JSON configs/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed runtime download is told from other compile failures by deno's stderr", () => {
  // deno 2.9.6's stderr where dl.deno.land cannot be reached.
  const blocked = [
    "\x1b[0m\x1b[32mCheck\x1b[0m services/persistence/main.ts",
    "\x1b[0m\x1b[32mCompile\x1b[0m services/persistence/main.ts to out/evochora-persistence",
    "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
    "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'out/evochora-persistence.tmp-329bea1c509ddbf7'",
    "",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known",
  ].join("\n");
  assert.equal(denortDownloadFailed(blocked), true);
  const typeError =
    "\x1b[0m\x1b[32mCheck\x1b[0m services/api/main.ts\nTS2322 [ERROR]: Type 'string' is not assignable to type 'number'.";
  assert.equal(denortDownloadFailed(typeError), false);
});
