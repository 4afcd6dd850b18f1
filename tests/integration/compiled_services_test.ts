/**
 * The code path of the compiled service binaries (`deno task compile`), under `deno run`:
 * `deno compile` cannot fetch its runtime on these machines, so each service runs as
 * `deno run <exactly the flags its binary gets> services/<kind>/main.ts --config <JSON>` (the
 * compile command with `run` for `compile` and without its --include/--output), reading a
 * JSON config, never importing one. On the real Kafka broker and S3 server: the metadata
 * persistence, a persistence worker and the API, then a short engine; the batches land in S3,
 * and the API lists the run and serves the web client. The servers come from `deno task
 * services:up` (CI starts them); without them this test fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { verifyRun } from "../../cli/run_verify.ts";
import { denoEnv } from "../../resources/kafka/client.ts";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import type { RunsResponse } from "../../services/api/api_types.ts";
import { resolveConfig } from "../../services/runner/mod.ts";
import { ensureWebBuilt, WEB_DIST } from "../../web/ensure_built.ts";
import { type CompileStep, planCompile } from "../../scripts/compile.ts";
import { isolatedKafkaS3, loadServicesEnv, removePrefix } from "./pipeline_services.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TICKS = 400;
const SAMPLING = 10;

/** A port nobody listens on now. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The compile command as `deno run`: the same flags, without what only compiling takes. */
function runCommand(step: CompileStep, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < step.command.length; i++) {
    const a = step.command[i]!;
    if (a === "--include" || a === "--output") {
      i++;
      continue;
    }
    out.push(i === 1 ? "run" : a);
  }
  return [...out, ...args];
}

/** One service process and its stderr so far. */
interface Proc {
  name: string;
  child: Deno.ChildProcess;
  stderr: () => string;
}

function start(command: string[], name: string, env: Record<string, string>): Proc {
  const [deno, ...args] = command;
  const child = new Deno.Command(deno!, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  void child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  ).catch(() => {});
  return { name, child, stderr: () => text };
}

async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name:
    "compiled-binary code path: services with their binaries' flags and a JSON config store a run on Kafka + S3, and the API lists it and serves the web client",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const env = await loadServicesEnv();
    await ensureWebBuilt();
    const tag = `compiled-${Date.now().toString(36)}`;
    const port = freePort();
    const config = isolatedKafkaS3(tag, {
      ticks: TICKS,
      chunksPerBatch: 2,
      engine: { shape: [64, 64], seed: 11, intervals: { sampling: SAMPLING, snapshot: 100 } },
    });
    config.services["http-api"] = { kind: "http-api", storage: "tick-storage", port };
    config.startupSequence = [...config.startupSequence!, "http-api"];
    const dir = await Deno.makeTempDir({ prefix: "evochora-compiled-" });
    const json = join(dir, "deployment.json");
    await Deno.writeTextFile(json, JSON.stringify(config, null, 2));
    const steps = planCompile({
      config: resolveConfig(config),
      configAt: json,
      out: join(dir, "bin"),
      kinds: ["metadata-persistence", "persistence", "http-api", "simulation-engine"],
      env: denoEnv,
    });
    const step = (kind: string) => steps.find((s) => s.kind === kind)!;
    const procs: Proc[] = [];
    const storage = await S3Storage.open({
      bucket: Deno.env.get("EVOCHORA_S3_BUCKET")!,
      prefix: `test/${tag}/`,
    });
    try {
      for (
        const [kind, name] of [
          ["metadata-persistence", "metadata-persistence"],
          ["persistence", "persistence-1"],
          ["http-api", "http-api"],
        ] as const
      ) {
        procs.push(start(runCommand(step(kind), ["--config", json, name]), name, env));
      }
      for (const p of procs) {
        await waitFor(
          `${p.name} started`,
          30000,
          () => Promise.resolve(p.stderr().includes(`Started ${p.name} from ${json}`) || undefined),
        );
      }
      const engine = start(
        runCommand(step("simulation-engine"), ["--config", json, "simulation-engine"]),
        "simulation-engine",
        env,
      );
      procs.push(engine);
      assert.equal((await engine.child.status).code, 0, "the engine's run ends");
      const runId = /^Run (\S+)$/m.exec(engine.stderr())?.[1];
      assert.ok(runId !== undefined, engine.stderr());

      const report = await waitFor("the run stored and ended in S3", 30000, async () => {
        const r = await verifyRun(storage, runId);
        return r.state === "finished" ? r : undefined;
      });
      assert.deepEqual(report.errors, []);
      assert.ok(report.batches > 0, "batches in S3");
      assert.equal(report.samples, TICKS / SAMPLING + 1);
      assert.equal(report.metadata, true);

      const api = `http://127.0.0.1:${port}`;
      const runs = await (await fetch(`${api}/api/runs`)).json() as RunsResponse;
      assert.deepEqual(runs.runs.map((r) => r.runId), [runId]);
      const index = await fetch(`${api}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
      assert.equal(await index.text(), await Deno.readTextFile(join(WEB_DIST, "index.html")));

      for (const p of procs.slice(0, 3)) p.child.kill("SIGTERM");
      for (const p of procs.slice(0, 3)) {
        assert.equal((await p.child.status).code, 0, `${p.name} stops cleanly:\n${p.stderr()}`);
      }
    } catch (e) {
      const logs = procs.map((p) => `--- ${p.name}:\n${p.stderr().slice(-2000)}`).join("\n");
      throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
    } finally {
      for (const p of procs) {
        try {
          p.child.kill("SIGKILL");
        } catch {
          // exited
        }
        await p.child.status;
      }
      await removePrefix(`test/${tag}/`);
      await storage.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
