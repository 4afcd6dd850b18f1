/**
 * The launcher of `evochora service`: plans one `deno run` child per named service (services
 * tied together by an in-memory queue or topic share one, since such a resource exists in one
 * process only; indexers of one storage and input share one, since they then decode each
 * batch once, on one indexing thread, with the same permissions), each with exactly the
 * permission flags services/runner/permissions.ts derives for it, never `-A`; then runs them:
 * signals are forwarded, a child that exits is reported and not restarted, and a child exits
 * at once when the launcher is gone.
 *
 * With one child its output is the launcher's own. With several, their stderr lines are
 * prefixed with `[services] `, and their machine-readable stdout is merged: one status report
 * line per period (memory summed over the children, every service, and each child's own
 * figures under `processes`) and one final `--json` object.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { ResolvedConfig } from "../services/runner/mod.ts";
import { childEnv, V8_FLAGS_ARG } from "./process_flags.ts";
import {
  derivePermissions,
  type EnvLookup,
  permissionFlags,
} from "../services/runner/permissions.ts";

/** The entry point of each service kind. */
export const ENTRY_FOLDERS: Record<string, string> = {
  "simulation-engine": "simulation_engine",
  "persistence": "persistence",
  "metadata-persistence": "metadata_persistence",
  "indexer": "indexer",
  "http-api": "api",
};

const ROOT = new URL("../", import.meta.url);

/** The repository's deno.json (its import map resolves `@evochora/config` in config files). */
const DENO_JSON = fileURLToPath(new URL("deno.json", ROOT));

/** One child process of the launcher. */
export interface ChildSpec {
  /** The services it runs, in start order. */
  services: string[];
  /** The whole command line: the deno executable first. */
  command: string[];
}

/** Options of {@link planChildren}. */
export interface PlanOptions {
  config: ResolvedConfig;
  /** The named services. */
  services: readonly string[];
  configPath: string;
  env: EnvLookup;
  /** Variables the config file read when it was evaluated (see derivePermissions). */
  configEnv?: readonly string[];
  /** Flags for the child running the simulation engine (--run-id, --ticks, ...). */
  engineArgs: readonly string[];
  /** Flags for every child (--json, --report-every MS). */
  commonArgs: readonly string[];
  /** The deno executable. Default Deno.execPath(). */
  deno?: string;
}

/** Plans the children: their services and exact command lines. */
export function planChildren(o: PlanOptions): ChildSpec[] {
  const configPath = resolve(o.configPath);
  return groupServices(o.config, o.services).map((services) => {
    const kinds = new Set(services.map((n) => o.config.services[n]!.kind));
    const folder = kinds.size === 1 ? ENTRY_FOLDERS[[...kinds][0]!]! : "runner";
    const entry = fileURLToPath(new URL(`services/${folder}/main.ts`, ROOT));
    const flags = permissionFlags(
      derivePermissions({
        config: o.config,
        services,
        configPath,
        env: o.env,
        configEnv: o.configEnv ?? [],
      }),
    );
    const engine = kinds.has("simulation-engine") ? o.engineArgs : [];
    return {
      services,
      command: [
        o.deno ?? Deno.execPath(),
        "run",
        "--no-prompt",
        V8_FLAGS_ARG,
        "--config",
        DENO_JSON,
        ...flags,
        entry,
        "--config",
        configPath,
        ...services,
        ...engine,
        ...o.commonArgs,
        "--exit-with-parent",
      ],
    };
  });
}

/**
 * What ties service `n` to others in one process: the in-memory queues and topics it names
 * (they exist in one process only) and, for an indexer, its storage and input (indexers that
 * share them decode each batch once on one thread, and need the same permissions).
 */
function sharedBy(config: ResolvedConfig, n: string): string[] {
  const s = config.services[n]!;
  const memory = Object.values(s).filter((v): v is string =>
    typeof v === "string" &&
    (config.resources[v]?.kind === "memory-queue" || config.resources[v]?.kind === "memory-topic")
  );
  return s.kind === "indexer" ? [...memory, `indexers of ${s.storage} from ${s.input}`] : memory;
}

/**
 * The named services in groups that share a process (see {@link sharedBy}): two services are
 * in one group when they name the same in-memory queue or topic, or are indexers of the same
 * storage and input. Groups keep the config's start order.
 */
export function groupServices(
  config: ResolvedConfig,
  names: readonly string[],
): string[][] {
  const ordered = config.startupSequence.filter((n) => names.includes(n));
  const groups: { services: string[]; memory: Set<string> }[] = [];
  for (const n of ordered) {
    const mine = new Set(sharedBy(config, n));
    const joined = groups.filter((g) => [...mine].some((r) => g.memory.has(r)));
    const merged = { services: [n], memory: mine };
    for (const g of joined) {
      merged.services.unshift(...g.services);
      for (const r of g.memory) merged.memory.add(r);
      groups.splice(groups.indexOf(g), 1);
    }
    groups.push(merged);
  }
  return groups
    .map((g) => ordered.filter((n) => g.services.includes(n)))
    .sort((a, b) => ordered.indexOf(a[0]!) - ordered.indexOf(b[0]!));
}

/** A command line as one shell line (arguments quoted where needed). */
export function shellLine(command: readonly string[]): string {
  return command.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Merge the children's final JSON status into one object (several children). */
  json: boolean;
  /** Merge the children's status reports into one line per period, ms (0: none). */
  reportEveryMs: number;
}

interface Running {
  spec: ChildSpec;
  label: string;
  child: Deno.ChildProcess;
  /** Exit code, 128 + signal number for a signal. */
  code: Promise<number>;
  lastReport?: StatusLine;
  final?: FinalStatus;
  output: Promise<void>;
}

interface StatusLine {
  type: "status";
  pid: number;
  memory: Record<string, number>;
  services: unknown[];
}

interface FinalStatus {
  runId: string | null;
  services: unknown[];
  resources: unknown[];
}

/**
 * Starts the children and waits until every one has exited; the exit code: the first
 * non-zero one of the children in plan order, else 0. SIGINT and SIGTERM are forwarded.
 */
export async function launch(specs: readonly ChildSpec[], o: LaunchOptions): Promise<number> {
  const alone = specs.length === 1;
  const running = specs.map((spec) => start(spec, alone));
  const forward = (signal: Deno.Signal) => () => {
    for (const r of running) {
      try {
        r.child.kill(signal);
      } catch {
        // exited meanwhile
      }
    }
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  const timer = !alone && o.reportEveryMs > 0
    ? setInterval(() => writeReport(running), o.reportEveryMs)
    : undefined;
  try {
    const codes = await Promise.all(running.map(async (r) => {
      const code = await r.code;
      if (!alone) console.error(`[${r.label}] exited with code ${code} (not restarted)`);
      return code;
    }));
    await Promise.all(running.map((r) => r.output));
    if (!alone && o.reportEveryMs > 0) writeReport(running);
    if (!alone && o.json) writeFinal(running);
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    clearInterval(timer);
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
  }
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

function start(spec: ChildSpec, alone: boolean): Running {
  const [deno, ...args] = spec.command;
  const child = new Deno.Command(deno!, {
    args,
    env: childEnv(),
    // The child's stdin stays open while the launcher lives (see --exit-with-parent).
    stdin: "piped",
    stdout: alone ? "inherit" : "piped",
    stderr: alone ? "inherit" : "piped",
  }).spawn();
  const label = spec.services.join(",");
  const r: Running = {
    spec,
    label,
    child,
    code: child.status.then((s) =>
      s.signal === null ? s.code : 128 + (SIGNAL_NUMBERS[s.signal] ?? 0)
    ),
    output: Promise.resolve(),
  };
  if (!alone) {
    r.output = Promise.all([
      readLines(child.stderr, (line) => console.error(`[${label}] ${line}`)),
      readLines(child.stdout, (line) => onStdout(r, line)),
    ]).then(() => {});
  }
  return r;
}

/** A child's stdout line: its status reports and final status are kept, the rest printed. */
function onStdout(r: Running, line: string): void {
  if (line.startsWith("{")) {
    try {
      const v = JSON.parse(line) as Partial<StatusLine & FinalStatus>;
      if (v.type === "status") {
        r.lastReport = v as StatusLine;
        return;
      }
      if (Array.isArray(v.services) && Array.isArray(v.resources)) {
        r.final = v as FinalStatus;
        return;
      }
    } catch {
      // not one of ours: printed below
    }
  }
  console.log(`[${r.label}] ${line}`);
}

/** One merged status report, once every child has reported. */
function writeReport(running: readonly Running[]): void {
  const reports = running.map((r) => r.lastReport);
  if (reports.some((x) => x === undefined)) return;
  const memory: Record<string, number> = {};
  for (const rep of reports) {
    for (const [k, v] of Object.entries(rep!.memory)) memory[k] = (memory[k] ?? 0) + v;
  }
  console.log(JSON.stringify({
    type: "status",
    atMs: Date.now(),
    pid: Deno.pid,
    memory,
    services: reports.flatMap((x) => x!.services),
    processes: running.map((r) => ({
      services: r.spec.services,
      pid: r.lastReport!.pid,
      memory: r.lastReport!.memory,
    })),
  }));
}

/** The merged final status of `--json`. */
function writeFinal(running: readonly Running[]): void {
  const finals = running.flatMap((r) => r.final === undefined ? [] : [r.final]);
  console.log(JSON.stringify({
    runId: finals.find((f) => f.runId !== null)?.runId ?? null,
    services: finals.flatMap((f) => f.services),
    resources: finals.flatMap((f) => f.resources),
  }));
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
  buf += decoder.decode();
  if (buf !== "") onLine(buf);
}
