/**
 * A run survives the death of its engine on Kafka + S3 with every service in its own process:
 * run A goes to T ticks uninterrupted; run B (same seed and run id, its own topics and key
 * prefix) has its engine process SIGKILLed mid-run while the persistence workers go on, reads
 * `incomplete`, refuses a second engine while the first may be alive, and is continued by
 * starting the engine service again on the same run id: B's raw batches and checkpoints then
 * have A's keys and bytes, and B reads `finished`. The servers come from
 * `deno task services:up` (CI starts them); without them this test fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listAllKeys } from "../../resources/storage/list_all_keys.ts";
import { S3Storage } from "../../resources/storage/s3_storage.ts";
import type { PipelineConfig } from "../../services/runner/mod.ts";
import { cliCommand } from "../fixtures/cli_process.ts";
import { isolatedKafkaS3, loadServicesEnv, removePrefix } from "./pipeline_services.ts";

const RUN = "kafka-resume";
const TICKS = 80000;
const CONSUMERS = ["metadata-persistence", "persistence-1", "persistence-2", "persistence-3"];

/** The shipped config, isolated, with a test-sized run. */
function isolated(tag: string): PipelineConfig {
  return isolatedKafkaS3(tag, {
    ticks: TICKS,
    chunksPerBatch: 2,
    engine: { shape: [128, 128], seed: 11, intervals: { sampling: 5, snapshot: 50 } },
  });
}

/** Writes `config` as a config module in `dir`; its path. */
async function configFile(dir: string, tag: string): Promise<string> {
  const path = join(dir, `${tag}.config.ts`);
  await Deno.writeTextFile(path, `export default ${JSON.stringify(isolated(tag))};\n`);
  return path;
}

/** Every object of the run under `sub` in the tag's prefix: key below the run -> bytes. */
async function objects(storage: S3Storage, sub: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const prefix = `runs/${RUN}/${sub}/`;
  for (const key of await listAllKeys(storage, prefix)) {
    out.set(key.slice(prefix.length), await storage.read(key));
  }
  return out;
}

/** `evochora <args>` to the end: exit code and stderr. */
async function cli(env: Record<string, string>, ...args: string[]) {
  const out = await cliCommand(args, { env, stdout: "null" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function assertSameObjects(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, what: string) {
  assert.ok(a.size > 0, `${what}: run A stored some`);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${what}: the same keys`);
  for (const [k, bytes] of a) assert.deepEqual(b.get(k), bytes, `${what}: '${k}' byte-identical`);
}

/** The last 4000 characters a stream carries, once it ends. */
async function collectTail(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const bytes of stream) {
    text = (text + decoder.decode(bytes, { stream: true })).slice(-4000);
  }
  return text + decoder.decode();
}

/** Polls until `done()` or the deadline; throws naming `what` on timeout. */
async function waitFor(what: string, ms: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name:
    "Kafka + S3: an engine process killed and started again on its run id stores the uninterrupted run's bytes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const env = await loadServicesEnv();
    const stamp = Date.now().toString(36);
    const dir = await Deno.makeTempDir({ prefix: "evochora-kafka-resume-" });
    const [tagA, tagB] = [`resume-a-${stamp}`, `resume-b-${stamp}`];
    const bucket = Deno.env.get("EVOCHORA_S3_BUCKET")!;
    const a = await S3Storage.open({ bucket, prefix: `test/${tagA}/` });
    const b = await S3Storage.open({ bucket, prefix: `test/${tagB}/` });
    let consumers: Deno.ChildProcess | undefined;
    let engine: Deno.ChildProcess | undefined;
    try {
      const [fileA, fileB] = [await configFile(dir, tagA), await configFile(dir, tagB)];
      const whole = await cli(env, "run", "--config", fileA, "--run-id", RUN);
      assert.equal(whole.code, 0, whole.stderr);

      consumers = cliCommand(["service", ...CONSUMERS, "--config", fileB], {
        env,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const consumerLog = collectTail(consumers.stderr);
      let consumersExit: number | undefined;
      consumers.status.then((st) => (consumersExit = st.code));
      engine = cliCommand([
        "service",
        "simulation-engine",
        "--config",
        fileB,
        "--run-id",
        RUN,
      ], {
        env,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      await waitFor("B's first batches and checkpoints", 120000, async () => {
        if (consumersExit !== undefined) {
          throw new Error(
            `the consumer services exited with code ${consumersExit}:\n${await consumerLog}`,
          );
        }
        return (await objects(b, "raw")).size >= 4 && (await objects(b, "checkpoints")).size >= 4;
      });
      // Frozen where it is: a running run to refuse and to kill before its end, however fast the
      // engine has become (it once finished a 40000-tick run before the second engine started).
      engine.kill("SIGSTOP");

      const second = await cli(
        env,
        "service",
        "simulation-engine",
        "--config",
        fileB,
        "--run-id",
        RUN,
      );
      assert.equal(second.code, 1, second.stderr);
      assert.match(second.stderr, /Cannot resume run 'kafka-resume': it is running/);

      engine.kill("SIGKILL");
      assert.equal((await engine.status).signal, "SIGKILL");
      await engine.stderr.cancel();
      const atKill = (await objects(b, "raw")).size;
      const all = (await objects(a, "raw")).size;
      assert.ok(atKill < all, "B's engine was killed before its end");
      console.log(`B's engine killed with ${atKill} of ${all} batches stored`);
      await new Promise((r) => setTimeout(r, 1500));
      const killed = await cli(env, "inspect", "--config", fileB, "--idle-after", "0");
      assert.equal(killed.code, 3, `inspect says incomplete: ${killed.stderr}`);

      const again = await cli(
        env,
        "service",
        "simulation-engine",
        "--config",
        fileB,
        "--run-id",
        RUN,
        "--idle-after",
        "0",
      );
      assert.equal(again.code, 0, again.stderr);
      const resumed = /Resuming run kafka-resume from the checkpoint at tick (\d+)/.exec(
        again.stderr,
      );
      assert.ok(resumed !== null, again.stderr);
      console.log(`resumed from the checkpoint at tick ${resumed[1]} of ${TICKS}`);
      await waitFor("B's end record", 120000, async () => (await objects(b, "end")).size > 0);

      assertSameObjects(await objects(a, "raw"), await objects(b, "raw"), "raw batches");
      assertSameObjects(
        await objects(a, "checkpoints"),
        await objects(b, "checkpoints"),
        "checkpoints",
      );
      assert.deepEqual([...(await objects(b, "end")).keys()], [
        ...(await objects(a, "end")).keys(),
      ]);
      const done = await cli(env, "inspect", "--config", fileB);
      assert.equal(done.code, 0, `inspect says finished: ${done.stderr}`);
    } finally {
      for (const child of [engine, consumers]) {
        try {
          child?.kill(child === engine ? "SIGKILL" : "SIGTERM");
        } catch {
          // Exited already.
        }
        await child?.status;
      }
      await a.close();
      await b.close();
      await removePrefix(`test/${tagA}/`);
      await removePrefix(`test/${tagB}/`);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
