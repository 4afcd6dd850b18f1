/**
 * `deno task soak [--minutes N] [--warmup-minutes W] [--only in-process|kafka-s3] [--samples F]
 * [--empty-world]`: the long
 * soak. Runs each scenario (tests/soak/scenarios.ts) for N minutes (default 30), samples every
 * process' memory every 5 s, and prints per process the RSS after warm-up, at the end, the
 * steady level, the slope and the heap, beside the Deno runtime's baseline, as Markdown for
 * docs/benchmarks.md. Exits 1 when a process shows a leak (RSS at the end more than 50 MiB
 * above RSS after warm-up). The Kafka + S3 scenario needs `deno task services:up`. `--samples F`
 * writes every process' samples (time, RSS, heap, external) as JSON to F. `--empty-world` runs
 * the engine on a world without organisms: a flood of tiny batches that builds a backlog in
 * every consumer (see ScenarioOptions).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { leakVerdict } from "../tests/soak/analysis.ts";
import { soakInProcess, soakKafkaS3 } from "../tests/soak/scenarios.ts";
import type { SoakResult } from "../tests/soak/soak.ts";

const MARGIN = 50 * 2 ** 20;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)}`;

/** The result as a Markdown table (one row per process). */
export function soakTable(r: SoakResult): string {
  const lines = [
    `**${r.scenario}**, ${(r.durationMs / 60_000).toFixed(1)} min, warm-up ${
      (r.warmupMs / 60_000).toFixed(1)
    } min; Deno runtime baseline (idle \`deno eval\`): ${mib(r.baselineRss)} MiB`,
    "",
    "| process | services | RSS after warm-up | RSS at end | caches at end | steady RSS (median) | peak | slope | steady heap | x baseline | verdict |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --- |",
  ];
  for (const p of r.processes) {
    const f = p.figures;
    const v = leakVerdict(f, { marginBytes: MARGIN });
    lines.push(
      `| ${p.name} | ${p.services.join(", ")} | ${mib(f.warmRss)} MiB | ${mib(f.endRss)} MiB | ${
        mib(f.endCached)
      } MiB | ${mib(f.steadyRss)} MiB | ${mib(f.peakRss)} MiB | ${
        (f.rssSlopePerMin / 2 ** 20).toFixed(1)
      } MiB/min | ${mib(f.steadyHeap)} MiB | ${(f.steadyRss / r.baselineRss).toFixed(1)}x | ${
        v === undefined ? "flat" : "LEAK"
      } |`,
    );
  }
  if (r.load !== undefined) {
    const failed = Object.entries(r.load.failed).map(([k, v]) => `${v} x ${k}`).join(", ");
    lines.push(
      "",
      `API load: ${r.load.sent} requests, ${r.load.ok} ok (${r.load.worlds} world regions), ` +
        `${r.load.notFound} not found, failed: ${failed || "none"}`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      minutes: { type: "string", default: "30" },
      "warmup-minutes": { type: "string", default: "1" },
      only: { type: "string" },
      samples: { type: "string" },
      "empty-world": { type: "boolean", default: false },
    },
  });
  const minutes = Number(values.minutes);
  const warmup = Number(values["warmup-minutes"]);
  if (!(minutes > 0) || !(warmup >= 0) || warmup >= minutes) {
    console.error("soak: --minutes must be > 0 and above --warmup-minutes");
    Deno.exit(2);
  }
  const only = values.only;
  if (only !== undefined && only !== "in-process" && only !== "kafka-s3") {
    console.error("soak: --only takes in-process or kafka-s3");
    Deno.exit(2);
  }
  const options = {
    durationMs: minutes * 60_000,
    warmupMs: warmup * 60_000,
    sampleMs: 5000,
    onProgress: (l: string) => console.error(l),
  };
  let leaks = 0;
  const samples: Record<string, Record<string, unknown>> = {};
  const report = (r: SoakResult) => {
    samples[r.scenario] = Object.fromEntries(r.processes.map((p) => [p.name, p.points]));
    if (values.samples !== undefined) {
      Deno.writeTextFileSync(values.samples, JSON.stringify(samples));
    }
    console.log(soakTable(r) + "\n");
    for (const p of r.processes) {
      const v = leakVerdict(p.figures, { marginBytes: MARGIN });
      if (v !== undefined) {
        leaks++;
        console.error(`soak: ${r.scenario} / ${p.name}: ${v}`);
      }
    }
  };
  const world = { emptyWorld: values["empty-world"] };
  if (only !== "kafka-s3") report(await soakInProcess(options, world));
  if (only !== "in-process") report(await soakKafkaS3(options, "soak", world));
  Deno.exit(leaks > 0 ? 1 : 0);
}
