/**
 * A service process whose broker or S3 endpoint does not answer says so, within 15 s of its
 * start, in one line naming the address, why and what to check; it keeps retrying (no exit, no
 * stack trace, no repeated lines), shows `waiting` in its status reports and, when the status
 * topic's broker answers, in its heartbeat; it exits 0 on SIGTERM while waiting; and once the
 * endpoint answers it starts without a restart. Real `evochora service` processes on the real
 * Kafka broker and S3 server (`deno task services:up`), each pointed at:
 *
 * - a closed port on 127.0.0.1 (connection refused);
 * - a port that drops connection attempts: a listener that never accepts, its accept queue
 *   filled, so the kernel drops further SYNs (connection timed out), as a host that drops
 *   packets does;
 * - a closed port that later forwards to the real server (recovery). For Kafka only the
 *   bootstrap goes through it: the cluster's metadata then names the broker's own address.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { KafkaTopic } from "../../resources/kafka/kafka_topic.ts";
import { ClusterStatusReader } from "../../services/common/cluster_status_reader.ts";
import { planChildren } from "../../cli/service_launcher.ts";
import { resolveConfig } from "../../services/runner/config.ts";
import { cliCommand } from "../fixtures/cli_process.ts";
import { isolatedKafkaS3, loadServicesEnv } from "./pipeline_services.ts";

/** The deadline for the line naming the address, from the process's start. */
const LINE_WITHIN_MS = 15_000;

/** A port on 127.0.0.1 that nothing listens on (now). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A port whose connection attempts are dropped (see the module doc); close() frees it. */
async function droppingPort(): Promise<{ port: number; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  for (;;) {
    const c = await Promise.race([
      Deno.connect({ hostname: "127.0.0.1", port }),
      new Promise<null>((r) => setTimeout(() => r(null), 500)),
    ]);
    if (c === null) break;
    held.push(c);
  }
  return {
    port,
    close() {
      for (const c of held) c.close();
      listener.close();
    },
  };
}

/** Listens on `port` and forwards every connection to `target`, byte for byte. */
function forward(port: number, target: { hostname: string; port: number }): { close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of listener) {
      conns.add(c);
      Deno.connect(target).then((t) => {
        conns.add(t);
        c.readable.pipeTo(t.writable).catch(() => {});
        t.readable.pipeTo(c.writable).catch(() => {});
      }, () => c.close());
    }
  })().catch(() => {});
  return {
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed by the other side */ }
      }
    },
  };
}

/** `evochora service persistence-1 --config F --report-every 1000` with `env`. */
function serviceCommand(configPath: string, env: Record<string, string>): Deno.Command {
  return cliCommand(
    ["service", "persistence-1", "--config", configPath, "--report-every", "1000"],
    { env },
  );
}

/** A service process, its output read as it comes. */
class ServiceProcess {
  readonly startedAt = performance.now();
  readonly stderr: { atMs: number; line: string }[] = [];
  readonly reports: { services: { name: string; state: string; detail?: string }[] }[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #read: Promise<unknown>;
  exit: Deno.CommandStatus | undefined;

  constructor(command: Deno.Command) {
    this.#child = command.spawn();
    this.#child.status.then((s) => this.exit = s);
    this.#read = Promise.all([
      this.#lines(this.#child.stderr, (line) => {
        this.stderr.push({ atMs: performance.now() - this.startedAt, line });
      }),
      this.#lines(this.#child.stdout, (line) => {
        if (line.startsWith("{")) this.reports.push(JSON.parse(line));
      }),
    ]);
  }

  async #lines(
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    f: (line: string) => void,
  ): Promise<void> {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      lines.forEach(f);
    }
    if (rest !== "") f(rest);
  }

  /** The first stderr line matching `re`, with when it came; waits up to `ms` for it. */
  async line(re: RegExp, ms: number): Promise<{ atMs: number; line: string }> {
    const deadline = performance.now() + ms;
    for (;;) {
      const hit = this.stderr.find((l) => re.test(l.line));
      if (hit !== undefined) return hit;
      if (this.exit !== undefined || performance.now() > deadline) {
        throw new Error(
          `no line matching ${re} within ${ms} ms (exit: ${JSON.stringify(this.exit)}); ` +
            `stderr:\n${this.text()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  text(): string {
    return this.stderr.map((l) => l.line).join("\n");
  }

  /** SIGTERM; the exit code once the output is read. */
  async stop(): Promise<number> {
    this.#child.kill("SIGTERM");
    const status = await this.#child.status;
    await this.#read;
    this.#closeStdin();
    return status.code;
  }

  /** Kills it without waiting for a clean stop (cleanup after a failed assertion). */
  async kill(): Promise<void> {
    if (this.exit !== undefined) return this.#closeStdin();
    try {
      this.#child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
    await this.#child.status;
    await this.#read.catch(() => {});
    this.#closeStdin();
  }

  #stdinClosed = false;

  #closeStdin(): void {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      this.#child.stdin.close().catch(() => {});
    } catch { /* not piped */ }
  }
}

/** Writes the isolated shipped config for `tag`; its path. */
async function configFile(dir: string, tag: string): Promise<string> {
  const path = join(dir, `${tag}.config.ts`);
  const config = isolatedKafkaS3(tag, { ticks: 0, chunksPerBatch: 2, engine: {} });
  await Deno.writeTextFile(path, `export default ${JSON.stringify(config)};\n`);
  return path;
}

/**
 * Starts a worker whose `variable` names `address`, checks the waiting line (within 15 s),
 * the status reports, that it keeps running without repeating the line, and a clean SIGTERM.
 */
async function assertWaits(o: {
  configPath: string;
  env: Record<string, string>;
  variable: string;
  value: string;
  waitingFor: RegExp;
}): Promise<number> {
  const p = new ServiceProcess(serviceCommand(o.configPath, { ...o.env, [o.variable]: o.value }));
  try {
    const { atMs, line } = await p.line(o.waitingFor, LINE_WITHIN_MS + 15_000);
    assert.ok(
      atMs < LINE_WITHIN_MS,
      `the line came ${Math.round(atMs)} ms after the start: ${line}`,
    );
    assert.match(line, /^evochora service: persistence-1: waiting for /);
    assert.ok(line.endsWith(`still retrying — check ${o.variable}`), line);
    // Still running and retrying a few seconds later, without saying it again.
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(p.exit, undefined, `still running; stderr:\n${p.text()}`);
    const report = p.reports.at(-1)?.services[0];
    assert.equal(report?.state, "waiting", JSON.stringify(p.reports.at(-1)));
    assert.match(report?.detail ?? "", o.waitingFor);
    assert.equal(p.stderr.filter((l) => o.waitingFor.test(l.line)).length, 1, p.text());
    const code = await p.stop();
    assert.equal(code, 0, `exit code on SIGTERM while waiting; stderr:\n${p.text()}`);
    assert.doesNotMatch(p.text(), /^\s+at /m, "no stack trace");
    return atMs;
  } finally {
    await p.kill();
  }
}

Deno.test({
  name:
    "a worker whose broker refuses or drops connections says so within 15 s, naming the address, keeps waiting and exits 0 on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = await loadServicesEnv();
    const dir = await Deno.makeTempDir({ prefix: "evochora-unreachable-" });
    const configPath = await configFile(dir, `unreach-kafka-${Date.now()}`);
    const dropping = await droppingPort();
    try {
      const closed = closedPort();
      const refusedMs = await assertWaits({
        configPath,
        env,
        variable: "KAFKA_BOOTSTRAP_SERVERS",
        value: `127.0.0.1:${closed}`,
        waitingFor: new RegExp(
          `waiting for broker 127\\.0\\.0\\.1:${closed} \\(connection refused\\)`,
        ),
      });
      const droppedMs = await assertWaits({
        configPath,
        env,
        variable: "KAFKA_BOOTSTRAP_SERVERS",
        value: `127.0.0.1:${dropping.port}`,
        waitingFor: new RegExp(
          `waiting for broker 127\\.0\\.0\\.1:${dropping.port} ` +
            `\\((connection timed out after 3 s|no answer for \\d+ s)\\)`,
        ),
      });
      console.log(`broker refused: line after ${refusedMs} ms; dropped: after ${droppedMs} ms`);
    } finally {
      dropping.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a worker whose S3 endpoint refuses or drops connections says so within 15 s, naming the URL, keeps waiting and exits 0 on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = await loadServicesEnv();
    const dir = await Deno.makeTempDir({ prefix: "evochora-unreachable-" });
    const configPath = await configFile(dir, `unreach-s3-${Date.now()}`);
    const dropping = await droppingPort();
    try {
      const closed = closedPort();
      const refusedMs = await assertWaits({
        configPath,
        env,
        variable: "AWS_ENDPOINT",
        value: `http://127.0.0.1:${closed}`,
        waitingFor: new RegExp(
          `waiting for S3 endpoint http://127\\.0\\.0\\.1:${closed} \\(connection refused\\)`,
        ),
      });
      const droppedMs = await assertWaits({
        configPath,
        env,
        variable: "AWS_ENDPOINT",
        value: `http://127.0.0.1:${dropping.port}`,
        waitingFor: new RegExp(
          `waiting for S3 endpoint http://127\\.0\\.0\\.1:${dropping.port} ` +
            `\\((connection timed out after 5 s|no answer for \\d+ s)\\)`,
        ),
      });
      console.log(`S3 refused: line after ${refusedMs} ms; dropped: after ${droppedMs} ms`);
    } finally {
      dropping.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** host and port of a `host:port` or URL. */
function hostPort(address: string): { hostname: string; port: number } {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  return { hostname: url.hostname, port: Number(url.port) };
}

Deno.test({
  name:
    "a worker waiting for its S3 endpoint shows it in its heartbeat and starts once the endpoint answers, without a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = await loadServicesEnv();
    const dir = await Deno.makeTempDir({ prefix: "evochora-unreachable-" });
    const tag = `unreach-s3-up-${Date.now()}`;
    const configPath = await configFile(dir, tag);
    const port = closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const p = new ServiceProcess(serviceCommand(configPath, { ...env, AWS_ENDPOINT: endpoint }));
    const topic = new KafkaTopic({
      name: "status",
      topic: `evochora-status-${tag}`,
      partitions: 1,
    });
    const reader = new ClusterStatusReader({ topic, role: "test" });
    let proxy: { close(): void } | undefined;
    try {
      await p.line(
        new RegExp(`waiting for S3 endpoint ${endpoint.replaceAll(".", "\\.")}`),
        30_000,
      );
      reader.start();
      const deadline = Date.now() + 20_000;
      let seen;
      while (
        (seen = reader.view().services.find((s) => s.name === "persistence-1")) === undefined
      ) {
        if (Date.now() > deadline) throw new Error(`no heartbeat of persistence-1:\n${p.text()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(seen.state, "waiting");
      assert.match(seen.detail ?? "", new RegExp(`^waiting for S3 endpoint ${endpoint}`));
      proxy = forward(port, hostPort(env.AWS_ENDPOINT!));
      await p.line(new RegExp(`S3 endpoint ${endpoint} answers again after \\d+`), 30_000);
      await p.line(/^Started persistence-1/, 30_000);
      assert.equal(p.exit, undefined);
      assert.equal(await p.stop(), 0, p.text());
    } finally {
      proxy?.close();
      await p.kill();
      await reader.stop();
      await topic.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * The worker's own process as the launcher plans it for `env`, its --allow-net extended by
 * `alsoAllowed` (stdin piped: it exits when its launcher, here the test, closes it).
 */
function workerCommand(
  configPath: string,
  env: Record<string, string>,
  alsoAllowed: string,
): Deno.Command {
  const config = resolveConfig(isolatedKafkaS3("x", { ticks: 0, chunksPerBatch: 2, engine: {} }));
  const [spec] = planChildren({
    config,
    services: ["persistence-1"],
    configPath,
    env: (n) => env[n] ?? Deno.env.get(n),
    engineArgs: [],
    commonArgs: ["--report-every", "1000"],
  });
  const [deno, ...args] = spec!.command.map((a) =>
    a.startsWith("--allow-net=") ? `${a},${alsoAllowed}` : a
  );
  return new Deno.Command(deno!, {
    args,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test({
  name: "a worker waiting for its bootstrap broker starts once it answers, without a restart",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = await loadServicesEnv();
    const dir = await Deno.makeTempDir({ prefix: "evochora-unreachable-" });
    const configPath = await configFile(dir, `unreach-kafka-up-${Date.now()}`);
    const port = closedPort();
    const broker = env.KAFKA_BOOTSTRAP_SERVERS!.split(",")[0]!;
    // The worker bootstraps through the port, which forwards to the broker once it is opened;
    // the cluster then names the broker's own address, which a deployment lists beside the
    // bootstrap address (here: allowed beside it).
    const p = new ServiceProcess(
      workerCommand(configPath, { ...env, KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${port}` }, broker),
    );
    let proxy: { close(): void } | undefined;
    try {
      await p.line(new RegExp(`waiting for broker 127\\.0\\.0\\.1:${port} `), 30_000);
      proxy = forward(port, hostPort(broker));
      const up = performance.now();
      await p.line(new RegExp(`broker 127\\.0\\.0\\.1:${port} answers again after \\d+`), 40_000);
      await p.line(/^Started persistence-1/, 40_000);
      console.log(`started ${Math.round(performance.now() - up)} ms after the broker answered`);
      assert.equal(p.exit, undefined);
      assert.equal(await p.stop(), 0, p.text());
      assert.doesNotMatch(p.text(), /may not connect/);
    } finally {
      proxy?.close();
      await p.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
