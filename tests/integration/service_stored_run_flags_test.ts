/**
 * `evochora service` with a simulation-engine on a run the storage holds already refuses
 * `--seed` and `--shape`, as `evochora run --resume` does: a continued run keeps its own engine
 * config, so the flags would be ignored silently. One line naming the flag and the run, exit 2.
 * Real service processes on a filesystem config (memory queues: the engine and its consumers
 * share one process).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliCommand } from "../fixtures/cli_process.ts";

const CONFIG_MODULE = new URL("../../services/runner/config.ts", import.meta.url).href;
const SERVICES = ["simulation-engine", "metadata-persistence", "persistence-1"];

function config(root: string) {
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
      "simulation-engine": {
        kind: "simulation-engine",
        output: "raw-tick-data",
        metadataOutput: "metadata",
        checkpointStorage: "tick-storage",
        ticks: 60,
        chunksPerBatch: 2,
        engine: { shape: [64, 64], seed: 3 },
      },
    },
  };
}

async function service(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await cliCommand(["service", ...SERVICES, ...args], { stdout: "null" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/**
 * Runs the engine and its consumers on run stored-1 until the run's end record is stored, then
 * stops them (consumers run until a signal).
 */
async function storeRun(file: string, endDir: string): Promise<void> {
  const child = cliCommand(["service", ...SERVICES, "--config", file, "--run-id", "stored-1"], {
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      const ended = await Array.fromAsync(Deno.readDir(endDir)).catch(() => []);
      if (ended.length > 0) break;
      if (Date.now() > deadline) throw new Error("run stored-1 has no end record after 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, "the first run stops cleanly");
  }
}

Deno.test({
  name: "service refuses --seed and --shape for an engine on a stored run, naming flag and run",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "evochora-stored-flags-" });
    try {
      const file = join(dir, "fs.config.ts");
      await Deno.writeTextFile(
        file,
        `import { defineConfig } from "${CONFIG_MODULE}";\n` +
          `export default defineConfig(${JSON.stringify(config(join(dir, "data")))});\n`,
      );
      await storeRun(file, join(dir, "data", "runs", "stored-1", "end"));
      for (const [flag, value] of [["seed", "9"], ["shape", "80x80"]]) {
        const again = await service("--config", file, "--run-id", "stored-1", `--${flag}`, value!);
        assert.equal(again.code, 2, again.stderr);
        const lines = again.stderr.split("\n").filter((l) => l.startsWith("evochora service:"));
        assert.deepEqual(lines, [
          `evochora service: --${flag} cannot be used on run stored-1: the storage holds it ` +
          `already, and a continued run keeps its own engine config; leave out --${flag}, or ` +
          `name a new run with --run-id`,
        ]);
        assert.doesNotMatch(again.stderr, /^\s+at /m, "no stack trace");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
