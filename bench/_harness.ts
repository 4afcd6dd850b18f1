/**
 * A small benchmark harness: named cases, each returning figures; printed as a Markdown table
 * so the output can go straight into docs/benchmarks.md.
 *
 * @module
 */

import process from "node:process";

/** This process's CPU time so far (user + system, every thread), seconds. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * The text of `/proc/<pid>/<name>` of another process, or null once it is gone. Deno reads
 * another process' /proc entry only with --allow-all; `cat` needs --allow-run, which the bench
 * task has.
 */
export async function procFile(pid: number, name: string): Promise<string | null> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${name}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : null;
}

/** The bytes of `parts` end to end: a batch's chunks before framing. */
export function joinBytes(parts: readonly { bytes: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.bytes, at);
    at += p.bytes.length;
  }
  return out;
}

/** One reported figure. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Shown as "x.xx× <of>" when present: the ratio to another figure of the same run. */
  ratioOf?: string;
  ratio?: number;
}

/** A benchmark suite: a name and a function producing figures. */
export interface Suite {
  name: string;
  run(): Promise<Figure[]> | Figure[];
}

/** Runs `fn` until at least `minMs` passed (and at least once); returns ms per call (median of rounds). */
export function timeIt(fn: () => void, options: { minMs?: number; rounds?: number } = {}): number {
  const rounds = options.rounds ?? 3;
  const minMs = options.minMs ?? 200;
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      fn();
      n++;
      elapsed = performance.now() - start;
    } while (elapsed < minMs);
    per.push(elapsed / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)]!;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return v.toExponential(3);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Runs the suites whose names contain `filter` and prints one Markdown table per suite. */
export async function runSuites(suites: Suite[], filter = ""): Promise<void> {
  const cpu = Deno.build.arch;
  console.log(`# Benchmarks\n`);
  console.log(
    `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${cpu}, ${navigator.hardwareConcurrency} cores, ` +
      `${
        new Date().toISOString().slice(0, 10)
      }. Ratios compare figures measured in the same run.\n`,
  );
  for (const suite of suites) {
    if (!suite.name.includes(filter)) continue;
    const figures = await suite.run();
    console.log(`## ${suite.name}\n`);
    console.log("| figure | value | unit | ratio |");
    console.log("|---|---:|---|---|");
    for (const f of figures) {
      const ratio = f.ratio === undefined ? "" : `${f.ratio.toFixed(2)}× ${f.ratioOf ?? ""}`;
      console.log(`| ${f.name} | ${fmt(f.value)} | ${f.unit} | ${ratio} |`);
    }
    console.log("");
  }
  console.log(`Peak resident memory: ${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
}
