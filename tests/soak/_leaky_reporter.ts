/**
 * A stand-in process for the soak harness' own tests: prints status reports like
 * `evochora service --report-every MS` and keeps `--leak-mb-per-s` MB per second reachable
 * (0: none), until SIGTERM.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startStatusReports } from "../../cli/status_report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { every: { type: "string", default: "500" }, "leak-mb-per-s": { type: "string" } },
});
const every = Number(values.every);
const rate = Number(values["leak-mb-per-s"] ?? "0");
const kept: Uint8Array[] = [];
const stopReports = startStatusReports({
  everyMs: every,
  status: () => ({
    services: [{ name: "leaky", kind: "test", state: "running", metrics: { kept: kept.length } }],
    resources: [],
  }),
});
const tick = 100;
const timer = setInterval(() => {
  // Churn that is freed again, as a real service has, plus the planted leak.
  new Uint8Array(4 << 20).fill(1);
  if (rate > 0) kept.push(new Uint8Array(Math.round(rate * 1e6 * tick / 1000)).fill(1));
}, tick);
Deno.addSignalListener("SIGTERM", () => {
  clearInterval(timer);
  stopReports();
  Deno.exit(0);
});
