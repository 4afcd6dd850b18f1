/**
 * Hosts on one machine: network namespaces joined by veth pairs to a bridge, each with its own
 * address on a private /24; the root namespace gets `.1` on the bridge so that the test
 * process reaches every host. Links can be cut and restored (a host cut off), commands run
 * inside a host (`ip netns exec`), and everything made is removed by {@link Netns.remove}, also
 * from signal handlers. Leftovers of a run whose owner died are removed at the start.
 *
 * Names: namespaces `evsys-<sfx>-<host>`, bridge `evsys<sfx>`, veth `evsys<sfx><i>h` (bridge
 * side) and `evsys<sfx><i>n` (namespace side), with a random 4-hex-digit suffix per run. The
 * owner's PID is kept in `/run/evochora-netns/<sfx>.pid` (or under the temp dir).
 *
 * @module
 */

const decoder = new TextDecoder();

/** The prefix of everything the harness names (namespaces, links, owner files). */
export const NETNS_PREFIX = "evsys";

/** One host: its namespace and address. */
export interface Host {
  name: string;
  netns: string;
  address: string;
  /** The veth end on the bridge (down: the host is cut off). */
  bridgePort: string;
}

/** Runs a command to completion; throws naming it when it fails. */
export async function sh(cmd: string, args: readonly string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    throw new Error(`Cannot run '${cmd}': ${(e as Error).message}`);
  }
  if (!out.success) {
    throw new Error(
      `'${cmd} ${args.join(" ")}' failed (exit ${out.code}): ${decoder.decode(out.stderr).trim()}`,
    );
  }
  return decoder.decode(out.stdout);
}

/** Where owner files live: /run when writable (tmpfs, gone on reboot), else the temp dir. */
function ownerDir(): string {
  for (const d of ["/run/evochora-netns", `${Deno.env.get("TMPDIR") ?? "/tmp"}/evochora-netns`]) {
    try {
      Deno.mkdirSync(d, { recursive: true });
      return d;
    } catch {
      // next
    }
  }
  throw new Error("Cannot create a directory for the namespace owner files (/run, /tmp)");
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fails loudly unless namespaces can be made: root, `ip` (iproute2) on PATH, and a scratch
 * namespace really created and removed.
 */
export async function requireNetns(): Promise<void> {
  const uid = Deno.uid();
  if (uid !== 0) {
    throw new Error(
      `The system test builds network namespaces and needs root (uid 0), but runs as uid ${uid}: ` +
        "run it as root (CI does)",
    );
  }
  try {
    await sh("ip", ["-V"]);
  } catch (e) {
    throw new Error(
      `'ip' (iproute2) is needed: apt-get install iproute2 (${(e as Error).message})`,
    );
  }
  const probe = `${NETNS_PREFIX}-probe-${Deno.pid}`;
  try {
    await sh("ip", ["netns", "add", probe]);
  } catch (e) {
    throw new Error(`Cannot create a network namespace: ${(e as Error).message}`);
  }
  await sh("ip", ["netns", "del", probe]);
}

/** Kills every process in a namespace (SIGKILL) and waits until none is left. */
async function killNamespace(netns: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = (await sh("ip", ["netns", "pids", netns]).catch(() => "")).split(/\s+/)
      .filter((p) => p !== "").map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The suffixes of runs whose namespaces or links exist, with their owner's PID if known. */
async function existingRuns(): Promise<Map<string, number | undefined>> {
  const runs = new Map<string, number | undefined>();
  const dir = ownerDir();
  const ns = (await sh("ip", ["netns", "list"])).split("\n").map((l) => l.split(" ")[0] ?? "");
  const links = (await sh("ip", ["-o", "link", "show"])).split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "");
  const re = new RegExp(`^${NETNS_PREFIX}-?([0-9a-f]{4})`);
  for (const name of [...ns, ...links]) {
    const m = re.exec(name);
    if (m === null) continue;
    let pid: number | undefined;
    try {
      pid = Number(Deno.readTextFileSync(`${dir}/${m[1]}.pid`).trim());
    } catch {
      pid = undefined;
    }
    runs.set(m[1]!, pid);
  }
  return runs;
}

/** Removes the namespaces (and their processes) and links of one run suffix. */
async function removeRun(sfx: string): Promise<void> {
  const ns = (await sh("ip", ["netns", "list"])).split("\n").map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${NETNS_PREFIX}-${sfx}-`));
  for (const n of ns) {
    await killNamespace(n);
    await sh("ip", ["netns", "del", n]).catch(() => {});
  }
  const links = (await sh("ip", ["-o", "link", "show"])).split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((l) => l.startsWith(`${NETNS_PREFIX}${sfx}`));
  for (const l of links) await sh("ip", ["link", "del", l]).catch(() => {});
  await Deno.remove(`${ownerDir()}/${sfx}.pid`).catch(() => {});
}

/**
 * Removes what crashed earlier runs left: every run suffix whose owner process is gone (or
 * unknown). Runs of a live owner (another test on this machine) are left alone. Returns the
 * suffixes removed.
 */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const [sfx, pid] of await existingRuns()) {
    if (pid !== undefined && pid !== Deno.pid && alive(pid)) continue;
    await removeRun(sfx);
    removed.push(sfx);
  }
  return removed;
}

/** Options of {@link Netns.create}. */
export interface NetnsOptions {
  /** Host names, in address order (`.2`, `.3`, ...). */
  hosts: readonly string[];
}

/** The namespaces of one run. */
export class Netns {
  readonly suffix: string;
  readonly bridge: string;
  /** The /24 as its first three octets, e.g. "10.213.77". */
  readonly subnet: string;
  /** The root namespace's address on the bridge. */
  readonly rootAddress: string;
  readonly hosts = new Map<string, Host>();
  #removed = false;
  readonly #atInterrupt: Array<() => Promise<void>> = [];
  readonly #onSignal = () => {
    console.error("system test: interrupted; stopping everything and removing the namespaces");
    (async () => {
      for (const f of this.#atInterrupt) await f().catch(() => {});
      await this.remove();
    })().finally(() => Deno.exit(130));
  };

  private constructor(suffix: string, subnet: string) {
    this.suffix = suffix;
    this.bridge = `${NETNS_PREFIX}${suffix}`;
    this.subnet = subnet;
    this.rootAddress = `${subnet}.1`;
  }

  /**
   * Builds the bridge and one namespace per host; on failure removes what it made. Installs
   * SIGINT/SIGTERM handlers that remove everything and exit (until {@link remove}).
   */
  static async create(o: NetnsOptions): Promise<Netns> {
    if (o.hosts.length > 200) throw new RangeError(`at most 200 hosts, got ${o.hosts.length}`);
    const routes = await sh("ip", ["-4", "route", "show"]);
    let net: Netns | undefined;
    for (let i = 0; i < 20 && net === undefined; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(2));
      const sfx = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      const subnet = `10.213.${bytes[0]! ^ bytes[1]!}`;
      if (routes.includes(`${subnet}.`)) continue; // in use here
      net = new Netns(sfx, subnet);
    }
    if (net === undefined) throw new Error("Cannot find a free 10.213.x.0/24 for the namespaces");
    await Deno.writeTextFile(`${ownerDir()}/${net.suffix}.pid`, `${Deno.pid}\n`);
    Deno.addSignalListener("SIGINT", net.#onSignal);
    Deno.addSignalListener("SIGTERM", net.#onSignal);
    try {
      await sh("ip", ["link", "add", net.bridge, "type", "bridge"]);
      await sh("ip", ["addr", "add", `${net.rootAddress}/24`, "dev", net.bridge]);
      await sh("ip", ["link", "set", net.bridge, "up"]);
      for (const [i, name] of o.hosts.entries()) await net.#addHost(name, i);
    } catch (e) {
      await net.remove();
      throw e;
    }
    return net;
  }

  async #addHost(name: string, i: number): Promise<void> {
    const netns = `${NETNS_PREFIX}-${this.suffix}-${name}`;
    const host: Host = {
      name,
      netns,
      address: `${this.subnet}.${i + 2}`,
      bridgePort: `${this.bridge}${i}h`,
    };
    const inner = `${this.bridge}${i}n`;
    this.hosts.set(name, host);
    await sh("ip", ["netns", "add", netns]);
    await sh("ip", ["link", "add", host.bridgePort, "type", "veth", "peer", "name", inner]);
    await sh("ip", ["link", "set", inner, "netns", netns]);
    await sh("ip", ["link", "set", host.bridgePort, "master", this.bridge, "up"]);
    const inNs = (...args: string[]) => sh("ip", ["netns", "exec", netns, "ip", ...args]);
    await inNs("addr", "add", `${host.address}/24`, "dev", inner);
    await inNs("link", "set", inner, "up");
    await inNs("link", "set", "lo", "up");
  }

  /** Runs `f` (before the namespaces go) when SIGINT or SIGTERM ends the run. */
  atInterrupt(f: () => Promise<void>): void {
    this.#atInterrupt.push(f);
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (h === undefined) {
      throw new RangeError(`No host '${name}'; there are ${[...this.hosts.keys()]}`);
    }
    return h;
  }

  /** The command prefix that runs a command on `host`. */
  launcher(host: string): string[] {
    return ["ip", "netns", "exec", this.host(host).netns];
  }

  /** Cuts `host` off the bridge (link down) or connects it again. */
  async setLink(host: string, up: boolean): Promise<void> {
    await sh("ip", ["link", "set", this.host(host).bridgePort, up ? "up" : "down"]);
  }

  /** Kills every process on `host` (SIGKILL). */
  async killAll(host: string): Promise<void> {
    await killNamespace(this.host(host).netns);
  }

  /** Removes the namespaces (killing what runs in them), links and owner file. Idempotent. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    Deno.removeSignalListener("SIGINT", this.#onSignal);
    Deno.removeSignalListener("SIGTERM", this.#onSignal);
    await removeRun(this.suffix);
  }
}
