/**
 * The system test's report: one row per fault (when it hit, recovery time, records
 * redelivered, duplicate writes absorbed, dead letters), then each run's end-to-end ticks/s.
 *
 * @module
 */

import type { RunResult } from "./_run.ts";

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
}

/** Prints the table to stdout. */
export function printTable(seed: number, runs: readonly RunResult[]): void {
  const header = [
    "fault",
    "at s",
    "recovery s",
    "pre-lag",
    "redelivered ≈",
    "dup writes",
    "dead letters",
  ];
  const rows = runs.flatMap((r) =>
    r.faults.map((f) => [
      f.fault.kind + (f.fault.worker ? ` ${f.fault.worker}` : ""),
      f.atS.toFixed(1),
      f.recoveryS === undefined ? "none" : `${f.recoveryS.toFixed(1)} (${f.recoveredBy})`,
      String(f.preLag),
      String(f.redelivered),
      String(f.duplicates),
      String(f.deadLetters),
    ])
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [
    `faults (seed ${seed}); recovery: from the fault until a new batch has landed and the ` +
    "persistence group's lag is back at its pre-fault level (lag), or, while the engine " +
    "outpaces the workers, its commits are back at 80% of their pre-fault rate (rate); " +
    "redelivered: records the workers received again (by their reports, once a second); " +
    "dup writes: writes found done already (workers and indexers)",
    row(header, widths),
    row(widths.map((w) => "-".repeat(w)), widths),
    ...rows.map((r) => row(r, widths)),
    "",
    ...runs.map((r) =>
      `${r.label.padEnd(13)} ${r.ticks} ticks in ${r.seconds.toFixed(1)} s: ` +
      `${r.ticksPerSecond.toFixed(0)} ticks/s end to end (${r.stored.batches} batches, ` +
      `${r.stored.chunks} chunks, ${r.stored.samples} samples, ${r.redelivered} records ` +
      `redelivered, ${r.stored.deadLetters.length} dead letters)`
    ),
  ];
  console.log(lines.join("\n"));
}
