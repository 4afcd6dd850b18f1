/**
 * `evochora service <name>... --config F`: the named services of a config, each as its own
 * `deno run` process with exactly the permissions it needs (services/runner/permissions.ts),
 * for multi-process and multi-host setups (Kafka queues and topics, S3 storage). The same
 * service code as in-process; only the resources differ. The launcher is cli/service_launcher.ts;
 * each process runs cli/service_process.ts through its service's `main.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_IDLE_MS } from "../services/common/run_state.ts";
import { denoEnv } from "../resources/common/env_reader.ts";
import { ensureWebBuilt } from "../web/ensure_built.ts";
import { CliError, intFlag } from "./cli_error.ts";
import { loadConfigFlag } from "./config_flag.ts";
import { checkRunIdFlag } from "./run_resume.ts";
import { type ChildSpec, launch, planChildren, shellLine } from "./service_launcher.ts";
import type { ResolvedConfig } from "../services/runner/mod.ts";

export const SERVICE_USAGE =
  `Usage: evochora service <name> [<name>...] --config F [--run-id ID] [--ticks N] [--seed S]
       [--shape WxH] [--json] [--report-every MS] [--print-permissions]

Runs each named service of config F as its own process until it finishes (a finite engine run)
or until Ctrl-C/SIGTERM (forwarded to every process), then stops them cleanly. Each process
gets exactly the Deno permissions its service needs, derived from the config and the
environment: read/write only its storage root (filesystem) or no disk at all (S3), network
only its brokers, S3 endpoint and own listen address, only the variables it reads; never
-A. Services that share an in-memory queue or topic run in one process. A process that
exits is reported, not restarted; the exit code is the first non-zero one.

A simulation-engine service started on a run id (--run-id, or its runId in the config) that
the storage holds already continues that run from its newest checkpoint at a batch boundary,
byte for byte as if it had never stopped (a finished run is extended when the engine's ticks
go beyond its end, or run until stopped with ticks 0). It refuses a run still running: a
second engine would only duplicate the first one's work. --seed and --shape are refused for a
stored run: it keeps its own engine config.

A process whose Kafka broker or S3 endpoint does not answer says so on stderr within seconds,
naming the address, why and what to check (again every 30 s while it lasts, and once it
answers), shows its services as 'waiting' (status reports, heartbeats, 'evochora status') and
keeps retrying: an endpoint that comes up later is used without a restart.

Options:
  --config F     the config file (required)
  --run-id ID    the run of the simulation-engine service among <name>
  --ticks N      the engine's ticks (0: until stopped), instead of the config's
  --seed S       the engine's random seed, instead of the config's (a new run only)
  --shape WxH    the engine's world shape, instead of the config's (a new run only)
  --idle-after S seconds without progress after which a stored run without an end record
                 counts as dead, so that an engine may continue it (default ${
    DEFAULT_IDLE_MS / 1000
  })
  --json         print the final status as one JSON object on stdout
  --report-every MS
                 print a status report (memory, services' state and metrics) as one JSON
                 line on stdout every MS milliseconds, and one at the end
  --print-permissions
                 print each process' command line (with its permission flags) and exit
  -h, --help     show this help`;

/** Runs `evochora service`. */
export async function serviceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      "run-id": { type: "string" },
      ticks: { type: "string" },
      seed: { type: "string" },
      shape: { type: "string" },
      "idle-after": { type: "string" },
      json: { type: "boolean", default: false },
      "report-every": { type: "string" },
      "print-permissions": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    console.log(SERVICE_USAGE);
    return 0;
  }
  if (values.config === undefined) throw new CliError("--config is required; see --help");
  if (positionals.length === 0) throw new CliError("name at least one service to run; see --help");
  const reportEvery = intFlag("report-every", values["report-every"], 0, 1);
  intFlag("idle-after", values["idle-after"], 0);
  if (values["run-id"] !== undefined) checkRunIdFlag("run-id", values["run-id"]);
  const { resolved, configEnv } = await loadRecordingEnv(values.config);
  checkNames(resolved, positionals, values);
  const engineArgs = passOn(values, ["run-id", "ticks", "seed", "shape", "idle-after"]);
  const commonArgs = [
    ...(values.json ? ["--json"] : []),
    ...(reportEvery > 0 ? ["--report-every", String(reportEvery)] : []),
  ];
  let specs: ChildSpec[];
  try {
    specs = planChildren({
      config: resolved,
      services: positionals,
      configPath: values.config,
      env: denoEnv,
      configEnv,
      engineArgs,
      commonArgs,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`${values.config}: ${e.message}`);
    throw e;
  }
  if (values["print-permissions"]) {
    for (const s of specs) console.log(`# ${s.services.join(", ")}\n${shellLine(s.command)}`);
    return 0;
  }
  const run = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
  if (run.state !== "granted") {
    throw new CliError(
      "service starts each service as a process of its own and may not run " +
        `'${Deno.execPath()}' (no --allow-run); 'deno task service' grants it`,
    );
  }
  await prepareWebClient(resolved, positionals);
  return await launch(specs, { json: values.json, reportEveryMs: reportEvery });
}

/**
 * Loads the config file and notes the variables it reads through Deno.env.get while it is
 * evaluated and resolved: each service process evaluates it again and may read just those.
 */
async function loadRecordingEnv(
  path: string,
): Promise<{ resolved: ResolvedConfig; configEnv: string[] }> {
  const env = Deno.env;
  const get = env.get;
  const read = new Set<string>();
  env.get = (name: string) => {
    read.add(name);
    return get.call(env, name);
  };
  try {
    const { resolved } = await loadConfigFlag(path);
    return { resolved, configEnv: [...read] };
  } finally {
    env.get = get;
  }
}

/** Throws CliError for unknown names and for engine flags without an engine among them. */
function checkNames(
  config: ResolvedConfig,
  names: readonly string[],
  values: Record<string, unknown>,
): void {
  const unknown = names.find((n) => config.services[n] === undefined);
  if (unknown !== undefined) {
    throw new CliError(
      `No service named '${unknown}'; the config defines: ${config.startupSequence.join(", ")}`,
    );
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new CliError(`'${dup}' is named twice`);
  const engine = names.some((n) => config.services[n]!.kind === "simulation-engine");
  const flag = ["run-id", "ticks", "seed", "shape"].find((f) => values[f] !== undefined);
  if (!engine && flag !== undefined) {
    throw new CliError(
      `--${flag} sets the run of a simulation-engine service; none of ${names.join(", ")} is one`,
    );
  }
}

/** `--name value` pairs of the flags that are set. */
function passOn(values: Record<string, unknown>, flags: readonly string[]): string[] {
  return flags.flatMap((f) => typeof values[f] === "string" ? [`--${f}`, values[f]] : []);
}

/**
 * Builds the repository's web client when an http-api service serves it and it is missing or
 * stale: the API's process may read web/ but neither write it nor run the bundler.
 */
async function prepareWebClient(config: ResolvedConfig, names: readonly string[]): Promise<void> {
  const serves = names.some((n) => {
    const s = config.services[n]!;
    return s.kind === "http-api" && s.webRoot === undefined;
  });
  if (!serves) return;
  try {
    await ensureWebBuilt();
  } catch (e) {
    throw new CliError(`the http-api serves the web client: ${(e as Error).message}`, 1);
  }
}
