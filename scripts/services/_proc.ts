// Process helpers for the service scripts: running tools, starting detached servers with PID
// files, stopping them, and reading log tails. Messages go to stderr; stdout is kept for the
// NAME=value lines that `services:up` prints.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A failure with a message meant for a person; `up.ts` prints it without a stack trace. */
export class ServiceError extends Error {
  override name = "ServiceError";
}

export function say(message: string): void {
  Deno.stderr.writeSync(encoder.encode(`services: ${message}\n`));
}

export function seconds(startMs: number): string {
  return `${((performance.now() - startMs) / 1000).toFixed(1)} s`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How to get each tool the scripts need on a Debian machine. */
const TOOL_HINTS: Record<string, string> = {
  java: "install Java 17 or newer: apt-get install openjdk-17-jre-headless",
  mvn: "install Maven: apt-get install maven",
  go: "put Go 1.21 or newer on PATH (it fetches the Go 1.26 toolchain that SeaweedFS asks for " +
    "from the Go module proxy by itself); Debian 12's golang-go package is Go 1.19, too old",
  bash: "apt-get install bash",
  setsid: "apt-get install util-linux",
  ps: "apt-get install procps",
};

/** Finds an executable on PATH, or fails naming the tool and how to install it. */
export function requireTool(name: string): string {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new ServiceError(
    `'${name}' was not found on PATH; ${TOOL_HINTS[name] ?? `install ${name}`}`,
  );
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing its output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs a command with its output appended to a log file; fails with the log's tail when it exits
 * non-zero.
 */
export async function runLogged(
  what: string,
  cmd: string,
  args: string[],
  logFile: string,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<void> {
  const r = await run(cmd, args, opts);
  await Deno.writeTextFile(
    logFile,
    `$ ${cmd} ${args.join(" ")}\n${r.stdout}${r.stderr}\n(exit ${r.code})\n`,
    { append: true },
  );
  if (r.code !== 0) {
    throw new ServiceError(
      `${what} failed (exit ${r.code}); last lines of ${logFile}:\n${await tail(logFile, 30)}`,
    );
  }
}

/** The last `lines` lines of a file, or a note that it cannot be read. */
export async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await Deno.readTextFile(file);
    return text.split("\n").slice(-lines - 1).join("\n").trimEnd();
  } catch (e) {
    return `(cannot read ${file}: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Options of the servers' start functions (`startKafka`, `startSeaweedfs`). */
export interface StartOptions {
  /**
   * A command the server is started through, e.g. `["ip", "netns", "exec", "infra"]` to run it
   * in a network namespace; it must exec the server (the PID is the server's). Default none.
   */
  launcher?: readonly string[];
}

/**
 * Starts a server that outlives this script: its own session (setsid), no terminal, stdin from
 * /dev/null, stdout and stderr appended to `logFile`. Returns its PID, which is also its process
 * group id, and writes it to `pidFile`.
 */
export async function spawnDetached(opts: {
  cmd: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: Record<string, string>;
}): Promise<number> {
  requireTool("setsid");
  // In a non-interactive bash a background job stays in bash's process group, so setsid does
  // not fork and `$!` is the server's own PID once setsid and nohup have exec'ed it.
  const script = 'log="$1"; shift; setsid nohup "$@" >>"$log" 2>&1 </dev/null & echo $!';
  const r = await run("bash", ["-c", script, "bash", opts.logFile, opts.cmd, ...opts.args], {
    cwd: opts.cwd,
    ...(opts.env !== undefined ? { env: opts.env } : {}),
  });
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(pid) || pid <= 1) {
    throw new ServiceError(`could not start ${opts.cmd}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  await Deno.writeTextFile(opts.pidFile, `${pid}\n`);
  return pid;
}

/**
 * True when `pid` is a live (not zombie) process whose command line contains `marker`. Asks `ps`:
 * Deno lets a script read /proc/<pid>/ only with --allow-all.
 */
export async function isAlive(pid: number, marker: string): Promise<boolean> {
  // Asked twice before saying no: on a loaded machine a starting server was once reported gone
  // while it ran on (CI, 2026-12-01: Kafka in a namespace, SeaweedFS), and was then stopped.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 300));
    const r = await run(requireTool("ps"), [
      "-ww",
      "-p",
      String(pid),
      "-o",
      "stat=",
      "-o",
      "args=",
    ]);
    const line = r.stdout.trim();
    if (r.code !== 0 || line === "" || line.startsWith("Z") || line.startsWith("X")) continue;
    const args = line.slice(line.search(/\s/) + 1).trim();
    // A command line that cannot be read at that moment shows as "[name]": not a verdict.
    if (line.includes(marker) || /^\[.*\]$/.test(args)) return true;
  }
  return false;
}

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(pidFile).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal); // the whole process group that setsid created
  } catch {
    try {
      Deno.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops the server recorded in `pidFile` (SIGTERM to its process group, SIGKILL after
 * `graceMs`) and removes the PID file. A missing file, a dead process or a recycled PID whose
 * command line lacks `marker` are not errors: stopping is idempotent.
 */
export async function stopFromPidFile(
  name: string,
  pidFile: string,
  marker: string,
  graceMs = 20_000,
): Promise<boolean> {
  const pid = readPid(pidFile);
  let stopped = false;
  if (pid !== undefined && await isAlive(pid, marker)) {
    say(`stopping ${name} (pid ${pid})`);
    signalGroup(pid, "SIGTERM");
    const deadline = performance.now() + graceMs;
    while (await isAlive(pid, marker) && performance.now() < deadline) await sleep(100);
    if (await isAlive(pid, marker)) {
      say(`${name} (pid ${pid}) ignored SIGTERM for ${graceMs / 1000} s; sending SIGKILL`);
      signalGroup(pid, "SIGKILL");
      const killDeadline = performance.now() + 5_000;
      while (await isAlive(pid, marker) && performance.now() < killDeadline) await sleep(50);
    }
    if (await isAlive(pid, marker)) throw new ServiceError(`${name} (pid ${pid}) did not stop`);
    stopped = true;
  }
  await Deno.remove(pidFile).catch(() => {});
  return stopped;
}

/** True when nothing listens on host:port (we can bind it ourselves). */
export function portFree(host: string, port: number): boolean {
  try {
    const listener = Deno.listen({ hostname: host, port });
    listener.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until nothing listens on any of `ports` (a server that was just killed may hold its
 * sockets for a moment after `ps` shows it gone); returns those still taken after `timeoutMs`.
 */
export async function waitPortsFree(
  host: string,
  ports: Record<string, number>,
  timeoutMs: number,
): Promise<Array<[string, number]>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const busy = Object.entries(ports).filter(([, p]) => !portFree(host, p));
    if (busy.length === 0 || performance.now() >= deadline) return busy;
    await sleep(200);
  }
}

/** True when a TCP connection to host:port succeeds. */
export async function portOpen(host: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: host, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Writes a file atomically (temp file in the same directory, then rename). */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
