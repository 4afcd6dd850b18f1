/**
 * The CI soak: every long-lived service kind runs for a while under its normal load, in one
 * process on the memory queue and the filesystem, and as separate processes on Kafka and S3;
 * each process' RSS at the end must stay within a fixed margin of its RSS after warm-up. The
 * margins catch an unmistakable leak (the Kafka consumer leak of issue 8 grew ~17 MB/s, over
 * 1 GB within this window); `deno task soak` runs the long version and prints the figures.
 *
 * EVOCHORA_SOAK_SECONDS (default 100) and EVOCHORA_SOAK_WARMUP_SECONDS (default 40) set the
 * length. Needs the Kafka broker and S3 server (`deno task services:up`); fails without them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { soakTable } from "../../scripts/soak.ts";
import { leakVerdict } from "./analysis.ts";
import { soakInProcess, soakKafkaS3 } from "./scenarios.ts";
import { runSoak, type SoakOptions, type SoakResult } from "./soak.ts";

const MiB = 2 ** 20;
const seconds = Number(Deno.env.get("EVOCHORA_SOAK_SECONDS") ?? "100");
const warmup = Number(Deno.env.get("EVOCHORA_SOAK_WARMUP_SECONDS") ?? "40");
const OPTIONS: SoakOptions = {
  durationMs: seconds * 1000,
  warmupMs: warmup * 1000,
  sampleMs: 2000,
};
const LEAKY = new URL("./_leaky_reporter.ts", import.meta.url).pathname;

/** The leak verdicts of a run, with each process' margin by its name. */
function leaks(r: SoakResult, marginOf: (process: string) => number): string[] {
  return r.processes.flatMap((p) => {
    const v = leakVerdict(p.figures, { marginBytes: marginOf(p.name) });
    return v === undefined ? [] : [`${p.name}: ${v}`];
  });
}

function leakyScenario(name: string, mbPerSecond: number) {
  return {
    name,
    config: { resources: {}, services: {} },
    processes: [{
      name,
      services: [],
      denoArgs: ["run", "-A", LEAKY, "--every", "500", "--leak-mb-per-s", String(mbPerSecond)],
    }],
  };
}

Deno.test("soak harness: flags a process that keeps 16 MB/s and passes one that keeps none", async () => {
  const options = { durationMs: 12_000, warmupMs: 3000, sampleMs: 500 };
  const leaky = await runSoak(leakyScenario("leaky", 16), options);
  const flat = await runSoak(leakyScenario("flat", 0), options);
  assert.equal(leaky.processes[0]!.exitCode, 0);
  assert.ok(leaky.processes[0]!.figures.samples >= 15, "reports every 500 ms");
  assert.match(leaks(leaky, () => 64 * MiB)[0] ?? "", /leaky: RSS rose from/);
  assert.deepEqual(leaks(flat, () => 64 * MiB), []);
  assert.ok(leaky.baselineRss > 10 * MiB && leaky.baselineRss < 200 * MiB);
});

Deno.test({
  name:
    "soak: the in-process pipeline (every service, memory queue + files) stays flat under API load",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await soakInProcess(OPTIONS);
    console.log(soakTable(r));
    // One process holding every service swings by a few hundred MiB as batches come and go.
    assert.deepEqual(leaks(r, () => 256 * MiB), []);
    assert.ok((r.load?.ok ?? 0) > 0, "the API answered under load");
    assert.ok((r.load?.worlds ?? 0) > 0, "the load reached the world of sampled ticks");
    assert.deepEqual(r.load?.failed, {});
  },
});

Deno.test({
  name:
    "soak: engine, persistence, metadata, indexers and API as processes on Kafka + S3 stay flat",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await soakKafkaS3(OPTIONS);
    console.log(soakTable(r));
    // The API included: it grew with the run it served until whole-run statistics came from a
    // per-run summary instead of every stats file per request (docs/benchmarks.md).
    assert.deepEqual(leaks(r, () => 128 * MiB), []);
    const persistence = r.processes.find((p) => p.name === "persistence")!;
    const stored = persistence.last.find((s) => s.name === "persistence-1")?.metrics.batches ?? 0;
    assert.ok(stored > 10, `the worker stored batches during the soak (${stored})`);
    assert.ok((r.load?.ok ?? 0) > 0, "the API answered under load");
    assert.ok((r.load?.worlds ?? 0) > 0, "the load reached the world of sampled ticks");
    assert.deepEqual(r.load?.failed, {});
  },
});
