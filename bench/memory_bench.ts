/**
 * Steady-state memory of every process kind, beside the Deno runtime's own baseline (an idle
 * `deno eval`): the soak scenarios (tests/soak/scenarios.ts) run for a short while each, and
 * each process' median RSS after warm-up is reported with its ratio to the baseline (a slope
 * over one minute says nothing; `deno task soak` measures that over 30 minutes). The Kafka + S3 part needs
 * `deno task services:up`.
 *
 * @module
 */

import { soakInProcess, soakKafkaS3 } from "../tests/soak/scenarios.ts";
import type { SoakResult } from "../tests/soak/soak.ts";
import type { Figure, Suite } from "./_harness.ts";

const MiB = 2 ** 20;
const OPTIONS = { durationMs: 90_000, warmupMs: 30_000, sampleMs: 2000 };

function figures(r: SoakResult, label: string): Figure[] {
  const out: Figure[] = [];
  for (const p of r.processes) {
    out.push({
      name: `${label}: ${p.name} (${p.services.join(", ")}) steady RSS`,
      value: p.figures.steadyRss / MiB,
      unit: "MiB",
      ratio: p.figures.steadyRss / r.baselineRss,
      ratioOf: "of the Deno baseline",
    });
  }
  return out;
}

/** See the module doc. */
export const memorySteadyState: Suite = {
  name: "memory: steady RSS per process kind (90 s each, 30 s warm-up, API under load)",
  async run() {
    const inProcess = await soakInProcess(OPTIONS);
    const distributed = await soakKafkaS3(OPTIONS, "bench-soak");
    return [
      {
        name: "Deno runtime baseline: idle `deno eval`",
        value: inProcess.baselineRss / MiB,
        unit: "MiB",
      },
      ...figures(inProcess, "in-process"),
      ...figures(distributed, "Kafka + S3"),
    ];
  },
};
