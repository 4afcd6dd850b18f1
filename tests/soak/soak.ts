/**
 * The soak harness: runs services of a config as separate OS processes
 * (`evochora service <names> --config F --report-every MS`) for a set time, keeps every
 * process' memory reports (RSS, V8 heap, external buffers), puts the query API under a steady
 * request load when the scenario has one, stops everything with SIGTERM, and returns the
 * figures per process beside the Deno runtime's own baseline (an idle `deno eval`).
 *
 * Used by the CI soak (`soak_test.ts`, a few minutes) and by `deno task soak` (long runs,
 * figures for docs/benchmarks.md).
 *
 * @module
 */

import type { TicksResponse } from "../../services/api/api_types.ts";
import { sleep } from "../../services/common/consumer_loop.ts";
import type { PipelineConfig } from "../../services/runner/config.ts";
import { analyze, type MemoryFigures, type MemoryPoint } from "./analysis.ts";

const CLI = new URL("../../cli/main.ts", import.meta.url).pathname;

/** One process of a scenario: the config's services it runs. */
export interface SoakProcessSpec {
  name: string;
  services: string[];
  /**
   * Arguments of `deno` instead of `run -A cli/main.ts service <services> --config F
   * --report-every MS` (for the harness' own tests: any program that prints the same reports).
   */
  denoArgs?: string[];
}

/** What to run. */
export interface SoakScenario {
  name: string;
  config: PipelineConfig;
  /** In start order; each is started once the one before reported. */
  processes: SoakProcessSpec[];
  /** The http-api service whose port gets the request load, if any. */
  apiService?: string;
  /** Extra environment of the processes (e.g. the Kafka and S3 settings). */
  env?: Record<string, string>;
}

/** How long and how often. */
export interface SoakOptions {
  durationMs: number;
  warmupMs: number;
  sampleMs: number;
  /** Pause between two requests of one load lane, ms (default 25). */
  requestPauseMs?: number;
  /** Called with a progress line every sample period. */
  onProgress?: (line: string) => void;
}

/** A service's state and metrics as the process last reported them. */
export interface ReportedService {
  name: string;
  kind: string;
  state: string;
  error?: string;
  metrics: Record<string, number>;
}

/** The result for one process. */
export interface ProcessResult {
  name: string;
  services: string[];
  points: MemoryPoint[];
  figures: MemoryFigures;
  last: ReportedService[];
  exitCode: number | null;
  /** The end of its stderr, for diagnosis. */
  stderrTail: string;
}

/** Counts of the request load. */
export interface LoadCounts {
  sent: number;
  ok: number;
  /** Answers >= 400 other than 404 (a 404 for an organism that died is fine), by status. */
  failed: Record<string, number>;
  notFound: number;
  /** World regions answered (proof that the load reaches past the run list). */
  worlds: number;
}

/** Everything a soak run measured. */
export interface SoakResult {
  scenario: string;
  durationMs: number;
  warmupMs: number;
  /** RSS of an idle `deno eval` (the runtime alone). */
  baselineRss: number;
  processes: ProcessResult[];
  load: LoadCounts | undefined;
}

interface Running {
  spec: SoakProcessSpec;
  child: Deno.ChildProcess;
  points: MemoryPoint[];
  last: ReportedService[];
  startedAt: number;
  /** Set when the harness begins to stop it: later reports (during shutdown) are not kept. */
  stopping: boolean;
  firstReport: Promise<void>;
  stdoutDone: Promise<void>;
  stderr: { text: string };
  stderrDone: Promise<void>;
}

/** RSS of the Deno runtime alone: an idle `deno eval`, measured after a second. */
export async function denoBaselineRss(): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "await new Promise((r) => setTimeout(r, 1000)); console.log(Deno.memoryUsage().rss)",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (l: string) => void) {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  if (buf !== "") onLine(buf);
}

function start(spec: SoakProcessSpec, configPath: string, scenario: SoakScenario, o: SoakOptions) {
  const child = new Deno.Command(Deno.execPath(), {
    args: spec.denoArgs ?? [
      "run",
      "-A",
      CLI,
      "service",
      ...spec.services,
      "--config",
      configPath,
      "--report-every",
      String(o.sampleMs),
    ],
    env: { ...scenario.env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const startedAt = performance.now();
  let reported!: () => void;
  const r: Running = {
    spec,
    child,
    points: [],
    last: [],
    startedAt,
    stopping: false,
    firstReport: new Promise<void>((res) => (reported = res)),
    stdoutDone: Promise.resolve(),
    stderr: { text: "" },
    stderrDone: Promise.resolve(),
  };
  r.stdoutDone = readLines(child.stdout, (line) => {
    if (!line.startsWith("{")) return;
    const rep = JSON.parse(line) as {
      type?: string;
      memory?: { rss: number; heapUsed: number; external: number };
      services?: ReportedService[];
    };
    if (rep.type !== "status" || rep.memory === undefined) return;
    r.last = rep.services ?? r.last;
    // A process reports from its start; its services count once they are past setting up.
    if (r.last.every((s) => s.state !== "starting" && s.state !== "waiting")) reported();
    if (r.stopping) return;
    r.points.push({
      tMs: performance.now() - startedAt,
      ...rep.memory,
      cached: cacheBytes(r.last),
    });
  });
  r.stderrDone = readLines(child.stderr, (line) => {
    r.stderr.text = (r.stderr.text + line + "\n").slice(-4000);
  });
  return r;
}

/** Bytes the services' byte-bounded caches hold (their `cache_*_bytes` metrics). */
function cacheBytes(services: readonly ReportedService[]): number {
  let n = 0;
  for (const s of services) {
    for (const [k, v] of Object.entries(s.metrics)) {
      if (k.startsWith("cache_") && k.endsWith("_bytes")) n += v;
    }
  }
  return n;
}

async function waitFirstReport(r: Running, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = r.child.status.then((s) => {
    throw new Error(
      `soak process '${r.spec.name}' (${r.spec.services.join(", ")}) exited with code ` +
        `${s.code} before its first report:\n${r.stderr.text}`,
    );
  });
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `soak process '${r.spec.name}' did not report its services running within ${ms} ms` +
              ` (last: ${r.last.map((s) => `${s.name} ${s.state}`).join(", ") || "no report"})`,
          ),
        ),
      ms,
    );
  });
  try {
    await Promise.race([r.firstReport, exited, late]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
}

async function stopProcess(r: Running, graceMs: number): Promise<number | null> {
  try {
    r.child.kill("SIGTERM");
  } catch { /* already gone */ }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<null>((res) => {
    timer = setTimeout(() => {
      try {
        r.child.kill("SIGKILL");
      } catch { /* gone */ }
      res(null);
    }, graceMs);
  });
  const status = await Promise.race([r.child.status, killed]);
  clearTimeout(timer);
  await r.child.status;
  await Promise.all([r.stdoutDone, r.stderrDone]);
  return status === null ? null : status.code;
}

/**
 * Steady request load on the API at `base` until `signal`: the web client's calls (runs,
 * ticks, the world and organisms at random sampled ticks, stats, pipeline, metrics) in two
 * lanes, each pausing `pauseMs` between requests.
 */
export async function apiLoad(
  base: string,
  pauseMs: number,
  signal: AbortSignal,
): Promise<LoadCounts> {
  const counts: LoadCounts = { sent: 0, ok: 0, failed: {}, notFound: 0, worlds: 0 };
  const get = async (path: string): Promise<unknown> => {
    counts.sent++;
    let res: Response;
    try {
      res = await fetch(base + path, { signal });
    } catch (e) {
      if (signal.aborted) return undefined;
      counts.failed.network = (counts.failed.network ?? 0) + 1;
      throw e;
    }
    const body = await res.arrayBuffer().catch(() => new ArrayBuffer(0));
    if (res.status === 404) counts.notFound++;
    else if (res.status >= 400) counts.failed[res.status] = (counts.failed[res.status] ?? 0) + 1;
    else counts.ok++;
    if (!res.ok || !(res.headers.get("content-type") ?? "").includes("json")) return undefined;
    return JSON.parse(new TextDecoder().decode(body));
  };
  const lane = async (seed: number) => {
    let rng = seed;
    const pick = <T>(xs: readonly T[]): T | undefined => {
      rng = (rng * 1103515245 + 12345) >>> 0;
      return xs.length === 0 ? undefined : xs[rng % xs.length];
    };
    const pickTick = (spans: TicksResponse["spans"]): number | undefined => {
      const span = pick(spans);
      if (span === undefined) return undefined;
      rng = (rng * 1103515245 + 12345) >>> 0;
      return span.first + (rng % span.count) * span.step;
    };
    while (!signal.aborted) {
      try {
        const runs = (await get("/api/runs")) as { runs?: { runId: string }[] } | undefined;
        const run = pick(runs?.runs ?? [])?.runId;
        if (run !== undefined) {
          const r = encodeURIComponent(run);
          const ticks = (await get(`/api/runs/${r}/ticks`)) as TicksResponse | undefined;
          const tick = pickTick(ticks?.spans ?? []);
          if (tick !== undefined) {
            if (await get(`/api/runs/${r}/world/${tick}`) !== undefined) counts.worlds++;
            const orgs = (await get(`/api/runs/${r}/organisms/${tick}`)) as
              | { organisms?: { id: number }[] }
              | undefined;
            const org = pick(orgs?.organisms ?? []);
            if (org !== undefined) await get(`/api/runs/${r}/organisms/${tick}/${org.id}`);
          }
          await get(`/api/runs/${r}/stats`);
        }
        await get("/api/pipeline");
        await get("/metrics");
      } catch {
        // Counted; the load goes on (the server may be restarting or busy).
      }
      await sleep(pauseMs, signal);
    }
  };
  await Promise.all([lane(1), lane(2)]);
  return counts;
}

/** Writes the config as a TS module in `dir`; returns its path. */
async function writeConfig(dir: string, config: PipelineConfig): Promise<string> {
  const path = `${dir}/soak.config.ts`;
  await Deno.writeTextFile(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}

function mb(n: number): string {
  return `${(n / 2 ** 20).toFixed(0)}M`;
}

/** Runs a scenario; see the module doc. The processes are stopped even when it throws. */
export async function runSoak(scenario: SoakScenario, o: SoakOptions): Promise<SoakResult> {
  const dir = await Deno.makeTempDir({ prefix: "evochora-soak-" });
  const configPath = await writeConfig(dir, scenario.config);
  const baselineRss = await denoBaselineRss();
  const running: Running[] = [];
  const stopLoad = new AbortController();
  let load: Promise<LoadCounts> | undefined;
  let loadCounts: LoadCounts | undefined;
  const codes = new Map<Running, number | null>();
  let progress: ReturnType<typeof setInterval> | undefined;
  try {
    for (const spec of scenario.processes) {
      const r = start(spec, configPath, scenario, o);
      running.push(r);
      await waitFirstReport(r, 60_000);
    }
    if (scenario.apiService !== undefined) {
      const port = running.flatMap((r) => r.last).find((s) => s.name === scenario.apiService)
        ?.metrics.port;
      if (port === undefined) {
        throw new Error(`soak: the API service '${scenario.apiService}' reported no port`);
      }
      load = apiLoad(`http://127.0.0.1:${port}`, o.requestPauseMs ?? 25, stopLoad.signal);
    }
    const t0 = performance.now();
    progress = setInterval(() => {
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      const rss = running.map((r) => `${r.spec.name} ${mb(r.points.at(-1)?.rss ?? 0)}`);
      o.onProgress?.(`${scenario.name} ${s}s: ${rss.join(", ")}`);
    }, o.sampleMs);
    await new Promise((r) => setTimeout(r, o.durationMs));
    for (const r of running) {
      const gone = await Promise.race([r.child.status.then(() => true), Promise.resolve(false)]);
      if (gone) {
        throw new Error(`soak process '${r.spec.name}' exited during the run:\n${r.stderr.text}`);
      }
    }
  } finally {
    clearInterval(progress);
    stopLoad.abort();
    loadCounts = await load?.catch(() => undefined);
    for (const r of running) r.stopping = true;
    // The producers first (the engine is started last), so the consumers see the end.
    for (const r of [...running].reverse()) codes.set(r, await stopProcess(r, 20_000));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return {
    scenario: scenario.name,
    durationMs: o.durationMs,
    warmupMs: o.warmupMs,
    baselineRss,
    processes: running.map((r) => ({
      name: r.spec.name,
      services: r.spec.services,
      points: r.points,
      figures: analyze(r.points, o.warmupMs),
      last: r.last,
      exitCode: codes.get(r) ?? null,
      stderrTail: r.stderr.text,
    })),
    load: loadCounts,
  };
}
