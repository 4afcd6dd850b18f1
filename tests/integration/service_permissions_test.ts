/**
 * `evochora service` as real processes: each service runs as its own `deno run` child with
 * the permissions derived from the config, never -A. The children's command lines are read
 * from /proc while they run; a probe started with a filesystem persistence worker's exact
 * flags cannot read or write outside the storage root or connect to a host the config does
 * not name, and one with the API's flags cannot write to storage; a real worker whose
 * environment names a broker its flags do not allow stops at once with a clear error. Needs
 * no Kafka or S3 server (the Kafka config fails before it connects, which is the point).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand } from "../fixtures/cli_process.ts";
import { resolveConfig } from "../../services/runner/config.ts";
import { type ChildSpec, planChildren } from "../../cli/service_launcher.ts";

const CONFIG_MODULE = new URL("../../services/runner/config.ts", import.meta.url).href;
const PROBE = new URL("./_test_permission_probe.ts", import.meta.url).pathname;

function filesystemConfig(root: string, ticks: number) {
  return {
    resources: {
      "raw-tick-data": { kind: "memory-queue", partitions: 2 },
      "metadata": { kind: "memory-queue", partitions: 1 },
      "batch-topic": { kind: "memory-topic", partitions: 1 },
      "tick-storage": { kind: "filesystem", root },
    },
    services: {
      "metadata-persistence": {
        kind: "metadata-persistence",
        input: "metadata",
        storage: "tick-storage",
      },
      "persistence-1": {
        kind: "persistence",
        input: "raw-tick-data",
        storage: "tick-storage",
        notify: "batch-topic",
      },
      "stats-indexer": {
        kind: "indexer",
        index: "stats",
        input: "batch-topic",
        storage: "tick-storage",
      },
      "http-api": { kind: "http-api", storage: "tick-storage", port: 0 },
      "simulation-engine": {
        kind: "simulation-engine",
        output: "raw-tick-data",
        metadataOutput: "metadata",
        checkpointStorage: "tick-storage",
        // Its chunk encoder's thread loads under the engine's flags too, on any machine.
        encodeOnWorker: true,
        ticks,
        engine: { shape: [64, 64], seed: 3 },
      },
    },
  };
}

async function writeConfig(dir: string, name: string, config: unknown): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(
    path,
    `import { defineConfig } from "${CONFIG_MODULE}";\n` +
      `export default defineConfig(${JSON.stringify(config)});\n`,
  );
  return path;
}

/** The command lines of the processes whose parent is `pid`. */
async function childCommandLines(pid: number): Promise<string[][]> {
  const out: string[][] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const cmdline = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      out.push(cmdline.split("\0").filter((a) => a !== ""));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the probe with a child's permission flags; the outcome of each attempt. */
async function probe(spec: ChildSpec, attempts: unknown[]): Promise<string[]> {
  const [deno, ...args] = spec.command;
  const entry = args.findIndex((a) => a.endsWith("main.ts"));
  const out = await new Deno.Command(deno!, {
    args: [...args.slice(0, entry), PROBE, JSON.stringify(attempts)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as string[];
}

Deno.test({
  name:
    "service: one least-privilege process per service (memory-tied ones together), none with -A; SIGTERM stops them all",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "evochora-perm-" });
    try {
      const root = join(dir, "data");
      const file = await writeConfig(dir, "fs.config.ts", filesystemConfig(root, 300));
      const launcher = cliCommand([
        "service",
        "metadata-persistence",
        "persistence-1",
        "stats-indexer",
        "http-api",
        "simulation-engine",
        "--config",
        file,
      ], { stdout: "piped", stderr: "piped" }).spawn();
      const stderr = new Response(launcher.stderr).text();
      const stdout = new Response(launcher.stdout).text();
      const lines = await until("two service processes", 60000, async () => {
        const l = await childCommandLines(launcher.pid);
        return l.length === 2 ? l : undefined;
      });
      for (const line of lines) {
        assert.ok(!line.includes("-A") && !line.includes("--allow-all"), line.join(" "));
        for (const flag of line.filter((a) => a.startsWith("--allow"))) {
          assert.match(flag, /^--allow-(read|write|net|env|sys)=/, flag);
        }
        assert.ok(!line.some((a) => /^--allow-(run|ffi)/.test(a)), line.join(" "));
      }
      const entries = lines.map((l) => l.find((a) => a.endsWith("main.ts"))!.split("/").slice(-2));
      assert.deepEqual(entries.map((e) => e.join("/")).sort(), ["api/main.ts", "runner/main.ts"]);
      const api = lines.find((l) => l.some((a) => a.endsWith("api/main.ts")))!;
      assert.ok(!api.some((a) => a.startsWith("--allow-write")), "the API may not write");

      // The run ends (its end record is stored), then SIGTERM stops every process.
      await until("the run's end record", 120000, async () => {
        const runs = await Array.fromAsync(Deno.readDir(join(root, "runs"))).catch(() => []);
        for (const run of runs) {
          const end = await Array.fromAsync(Deno.readDir(join(root, "runs", run.name, "end")))
            .catch(() => []);
          if (end.length > 0) return true;
        }
        return undefined;
      });
      launcher.kill("SIGTERM");
      const status = await launcher.status;
      const err = await stderr;
      await stdout;
      assert.equal(status.code, 0, err);
      assert.match(err, /\[http-api\] Started http-api/);
      assert.match(err, /\[http-api\] exited with code 0 \(not restarted\)/);
      assert.deepEqual(await childCommandLines(launcher.pid), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a filesystem persistence worker's flags allow its root only and no host outside its config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-perm-" });
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const root = join(dir, "data");
    await Deno.mkdir(root);
    const outside = join(dir, "outside.txt");
    await Deno.writeTextFile(outside, "secret");
    const file = await writeConfig(dir, "fs.config.ts", filesystemConfig(root, 0));
    const config = resolveConfig((await import(file)).default);
    const specs = planChildren({
      config: structuredClone(config),
      services: ["persistence-1"],
      configPath: file,
      env: () => undefined,
      engineArgs: [],
      commonArgs: [],
    });
    const [spec] = specs;
    assert.equal(specs.length, 1);
    const result = await probe(spec!, [
      { write: join(root, "inside.txt") },
      { read: join(root, "inside.txt") },
      { read: outside },
      { write: join(dir, "written.txt") },
      { connect: { hostname: "127.0.0.1", port: (server.addr as Deno.NetAddr).port } },
    ]);
    assert.deepEqual(result.slice(0, 2), ["ok", "ok"]);
    assert.match(result[2]!, /^NotCapable: Requires read access to ".*outside\.txt"/);
    assert.match(result[3]!, /^NotCapable: Requires write access to ".*written\.txt"/);
    assert.match(result[4]!, /^NotCapable: Requires net access to "127\.0\.0\.1:\d+"/);
    assert.equal(await Deno.stat(join(dir, "written.txt")).catch(() => null), null);
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the API's flags let it read storage but not write it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-perm-" });
  try {
    const root = join(dir, "data");
    await Deno.mkdir(root);
    await Deno.writeTextFile(join(root, "stored.txt"), "batch");
    const file = await writeConfig(dir, "fs.config.ts", filesystemConfig(root, 0));
    const [spec] = planChildren({
      config: resolveConfig((await import(file)).default),
      services: ["http-api"],
      configPath: file,
      env: () => undefined,
      engineArgs: [],
      commonArgs: [],
    });
    const result = await probe(spec!, [
      { read: join(root, "stored.txt") },
      { write: join(root, "stored.txt") },
      { write: join(root, "new.txt") },
    ]);
    assert.equal(result[0], "ok");
    assert.match(result[1]!, /^NotCapable: Requires write access/);
    assert.match(result[2]!, /^NotCapable: Requires write access/);
    assert.equal(await Deno.readTextFile(join(root, "stored.txt")), "batch");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker whose environment names a broker its flags do not allow stops at once with a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-perm-" });
  try {
    const config = filesystemConfig(join(dir, "data"), 0) as {
      resources: Record<string, unknown>;
    };
    config.resources["raw-tick-data"] = { kind: "kafka-queue", topic: "perm-ticks" };
    config.resources["batch-topic"] = { kind: "kafka-topic", topic: "perm-batches" };
    const file = await writeConfig(dir, "kafka.config.ts", config);
    const [spec] = planChildren({
      config: resolveConfig((await import(file)).default),
      services: ["persistence-1"],
      configPath: file,
      env: (n) => (n === "KAFKA_BOOTSTRAP_SERVERS" ? "127.0.0.1:19092" : undefined),
      engineArgs: [],
      commonArgs: [],
    });
    const [deno, ...args] = spec!.command;
    assert.ok(args.includes("--allow-net=127.0.0.1:19092"), args.join(" "));
    const t0 = performance.now();
    const out = await new Deno.Command(deno!, {
      args,
      env: { KAFKA_BOOTSTRAP_SERVERS: "127.0.0.1:19099", NO_COLOR: "1" },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn().output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, err);
    assert.match(
      err,
      /persistence-1 needs permissions this process lacks: net '127\.0\.0\.1:19099'/,
    );
    assert.ok(performance.now() - t0 < 20000, "no retrying");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
