/**
 * Machine-readable status reports: one JSON line on stdout every N ms with the process' memory
 * (resident set, V8 heap, external buffers) and every service's state and metrics. Soak tests
 * and operators' scrapers read them (`evochora service ... --report-every 1000`).
 *
 * @module
 */

import type { PipelineStatus } from "../services/runner/mod.ts";

/** The memory of this process, bytes. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** One report line. */
export interface StatusReport {
  type: "status";
  /** Wall clock, ms since the epoch. */
  atMs: number;
  pid: number;
  memory: MemorySample;
  services: PipelineStatus["services"];
}

/** Options of {@link startStatusReports}. */
export interface StatusReportOptions {
  everyMs: number;
  status: () => PipelineStatus;
  /** Where the lines go (default: stdout, synchronously, so a line is never torn). */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStdout(line: string): void {
  const bytes = encoder.encode(line);
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

function memorySample(): MemorySample {
  const m = Deno.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

function statusReport(status: PipelineStatus): StatusReport {
  return {
    type: "status",
    atMs: Date.now(),
    pid: Deno.pid,
    memory: memorySample(),
    services: status.services,
  };
}

/**
 * Writes a report at once and then every `everyMs` until the returned function is called
 * (which writes a last one).
 */
export function startStatusReports(options: StatusReportOptions): () => void {
  if (!Number.isInteger(options.everyMs) || options.everyMs < 1) {
    throw new RangeError(`everyMs must be an integer >= 1, got ${options.everyMs}`);
  }
  const write = options.write ?? writeStdout;
  const report = () => write(`${JSON.stringify(statusReport(options.status()))}\n`);
  report();
  const timer = setInterval(report, options.everyMs);
  return () => {
    clearInterval(timer);
    report();
  };
}
