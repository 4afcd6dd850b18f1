/**
 * `deno task compile`: one self-contained binary per service kind, `<out>/evochora-<kind>`,
 * built by `deno compile` from the kind's entry point (services/<kind>/main.ts) with exactly
 * the permission flags services/runner/permissions.ts derives for that kind's services of the
 * config: the binary can do no more than `deno task service` would let that service do. The
 * flags name the config's storage root, brokers and S3 endpoint (taken from this environment,
 * as the launcher takes them): a binary is built for one config and one deployment.
 *
 *   deno task compile [--config F] [--out DIR] [--config-at PATH] [--dry-run] [KIND...]
 *
 * - `--config F`: a JSON config, or a TS/JS config module (default config/kafka-s3.config.json).
 *   A binary takes JSON configs only (it cannot import a module): for a module, its default
 *   export is written as `<out>/<name>.json`.
 * - `--config-at PATH`: where the binaries will read that JSON (`--config PATH` when they
 *   run); the only file outside their storage they may read. Default: the JSON file's path.
 * - `--out DIR`: default out/. KIND: simulation-engine, metadata-persistence, persistence,
 *   indexer, http-api; default every kind the config has.
 * - `--dry-run`: print the `deno compile` commands (one a line) and build nothing.
 *
 * Each binary embeds the ancestor program (every service process reads it when the engine
 * runtime loads), persistence's the compression worker, and the API's the built web client
 * (web/dist, built first when missing or stale), which it serves from the embedded files.
 *
 * `deno compile` downloads its runtime (denort) from dl.deno.land the first time; where that
 * is blocked this script says so in one line (exit 1) and points to the README.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { CliError } from "../cli/cli_error.ts";
import { V8_FLAGS_ARG } from "../cli/process_flags.ts";
import { loadConfigFlag } from "../cli/config_flag.ts";
import { ENTRY_FOLDERS, shellLine } from "../cli/service_launcher.ts";
import { denoEnv } from "../resources/common/env_reader.ts";
import { resolveConfig, type ResolvedConfig } from "../services/runner/config.ts";
import {
  derivePermissions,
  type EnvLookup,
  permissionFlags,
} from "../services/runner/permissions.ts";
import { ensureWebBuilt } from "../web/ensure_built.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The repository's deno.json: its import map and lock file. */
const DENO_JSON = join(ROOT, "deno.json");

/** The config compiled when none is named. */
export const DEFAULT_CONFIG: string = join(ROOT, "config", "kafka-s3.config.json");

/** The service kinds, each with a binary of its own. */
export const SERVICE_KINDS: readonly string[] = Object.keys(ENTRY_FOLDERS);

/** Files every binary embeds: the ancestor program, read when the engine runtime loads. */
const COMMON_INCLUDES = ["services/simulation_engine/programs/ancestor.evo"];

/** Files a kind's binary embeds besides: modules loaded by path and data it serves. */
const KIND_INCLUDES: Record<string, string[]> = {
  // The worker modules `new Worker` loads by URL: the engine compresses batches on the zstd
  // worker (a persistence worker checks them on it), produces to Kafka from the producer
  // thread and encodes its chunks on the chunk encoder thread.
  "simulation-engine": [
    "resources/storage/_zstd_worker.ts",
    "resources/kafka/_producer_thread_worker.ts",
    "services/simulation_engine/_chunk_encoder_worker.ts",
  ],
  "persistence": ["resources/storage/_zstd_worker.ts"],
  // The indexing thread's module (services/runner/index_thread.ts).
  "indexer": ["services/runner/_index_thread.ts"],
  // The built web client, served from the embedded files.
  "http-api": ["web/dist"],
};

/** Options of {@link planCompile}. */
export interface CompileOptions {
  config: ResolvedConfig;
  /** The JSON config the binaries read at run time (they may read this path). */
  configAt: string;
  /** The directory the binaries are written to. */
  out: string;
  /** The kinds to build (default: every kind the config has). */
  kinds?: readonly string[];
  /** The environment the services will see (brokers, S3 endpoint). */
  env: EnvLookup;
  /** The deno executable. Default Deno.execPath(). */
  deno?: string;
}

/** How one kind's binary is built. */
export interface CompileStep {
  kind: string;
  /** The config's services of this kind, whose permissions the binary has. */
  services: string[];
  /** The permission flags baked into the binary (what `deno run` would get). */
  permissionFlags: string[];
  /** The files embedded besides the module graph (absolute). */
  includes: string[];
  /** The entry point (absolute). */
  entry: string;
  /** The binary (absolute). */
  output: string;
  /** The whole `deno compile` command line, the deno executable first. */
  command: string[];
}

/**
 * The `deno compile` command of each kind. Throws RangeError naming the kind when it is
 * unknown or the config has no service of it, or naming what the permissions lack (see
 * derivePermissions).
 */
export function planCompile(o: CompileOptions): CompileStep[] {
  const present = SERVICE_KINDS.filter((k) =>
    Object.values(o.config.services).some((s) => s.kind === k)
  );
  const kinds = o.kinds === undefined || o.kinds.length === 0 ? present : [...new Set(o.kinds)];
  for (const k of kinds) {
    if (!SERVICE_KINDS.includes(k)) {
      throw new RangeError(`Unknown service kind '${k}'; the kinds: ${SERVICE_KINDS.join(", ")}`);
    }
    if (!present.includes(k)) {
      throw new RangeError(
        `The config has no ${k} service; its kinds: ${present.join(", ")}`,
      );
    }
  }
  const configAt = resolve(o.configAt);
  return kinds.map((kind) => {
    const services = o.config.startupSequence.filter((n) => o.config.services[n]!.kind === kind);
    const flags = permissionFlags(
      derivePermissions({ config: o.config, services, configPath: configAt, env: o.env }),
    );
    const includes = [...COMMON_INCLUDES, ...(KIND_INCLUDES[kind] ?? [])].map((f) => join(ROOT, f));
    const entry = join(ROOT, "services", ENTRY_FOLDERS[kind]!, "main.ts");
    const output = resolve(o.out, `evochora-${kind}`);
    const command = [
      o.deno ?? Deno.execPath(),
      "compile",
      "--config",
      DENO_JSON,
      V8_FLAGS_ARG,
      ...flags,
      ...includes.flatMap((i) => ["--include", i]),
      "--output",
      output,
      entry,
    ];
    return { kind, services, permissionFlags: flags, includes, entry, output, command };
  });
}

/**
 * Whether `deno compile` failed fetching its runtime (denort): its stderr names the runtime's
 * archive or the step that downloads it.
 */
export function denortDownloadFailed(stderr: string): boolean {
  // deno colours its output; the codes would split the words.
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return /Setting up base binary|denort-[\w.-]+\.zip/.test(plain);
}

/** The line printed when the runtime cannot be downloaded. */
export const DENORT_BLOCKED =
  "deno compile cannot download its runtime (denort, from dl.deno.land) on this " +
  "machine, so no binary was built; see 'Compiled binaries' in README.md (DENORT_BIN names a " +
  "denort binary fetched elsewhere)";

/** The JSON config binaries read, and the text to write there when it is made here. */
interface JsonConfig {
  /** The path baked into the binaries' permissions. */
  configAt: string;
  /** A module's config as JSON, and where it goes; undefined for a JSON config. */
  written?: { path: string; text: string };
}

/** The JSON config of `path` (a JSON file, or a module's default export written as JSON). */
function jsonConfig(
  path: string,
  config: unknown,
  resolved: ResolvedConfig,
  out: string,
  configAt: string | undefined,
): JsonConfig {
  if (configAt !== undefined && !configAt.endsWith(".json")) {
    throw new CliError(`--config-at names the JSON config the binaries read; got '${configAt}'`);
  }
  if (path.endsWith(".json")) return { configAt: resolve(configAt ?? path) };
  const text = `${JSON.stringify(config, null, 2)}\n`;
  // A module may hold values JSON has no form for (undefined is dropped, a function too).
  if (!isDeepStrictEqual(resolveConfig(JSON.parse(text)), resolved)) {
    throw new CliError(
      `${path}: its config does not survive as JSON (a value JSON cannot hold, e.g. a function ` +
        `or undefined); write it as a .json file`,
    );
  }
  const written = resolve(out, basename(path).replace(/\.[mc]?[jt]s$/, ".json"));
  return { configAt: resolve(configAt ?? written), written: { path: written, text } };
}

/** Runs one `deno compile`; its stderr is shown only when it fails for another reason. */
async function compileOne(step: CompileStep): Promise<void> {
  console.error(`compile: building ${step.output} (${step.services.join(", ")})`);
  const [deno, ...args] = step.command;
  const out = await new Deno.Command(deno!, { args, stdout: "inherit", stderr: "piped" })
    .output();
  if (out.code === 0) return;
  const stderr = new TextDecoder().decode(out.stderr);
  if (denortDownloadFailed(stderr)) throw new CliError(DENORT_BLOCKED, 1);
  console.error(stderr.trimEnd());
  throw new CliError(`deno compile failed for ${step.kind} (exit code ${out.code})`, 1);
}

/** Runs the script; the exit code. */
export async function compileMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        out: { type: "string", default: join(ROOT, "out") },
        "config-at": { type: "string" },
        "dry-run": { type: "boolean", default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const path = values.config ?? DEFAULT_CONFIG;
    const { config, resolved } = await loadConfigFlag(path);
    const json = jsonConfig(path, config, resolved, values.out, values["config-at"]);
    let steps: CompileStep[];
    try {
      steps = planCompile({
        config: resolved,
        configAt: json.configAt,
        out: values.out,
        kinds: positionals,
        env: denoEnv,
      });
    } catch (e) {
      if (e instanceof RangeError) throw new CliError(`${path}: ${e.message}`);
      throw e;
    }
    if (json.written !== undefined) {
      console.error(
        `compile: ${values["dry-run"] ? "would write" : "writing"} ${json.written.path} ` +
          `(the config as JSON; the binaries read it as --config ${json.configAt})`,
      );
    }
    if (values["dry-run"]) {
      for (const s of steps) console.log(shellLine(s.command));
      return 0;
    }
    await Deno.mkdir(values.out, { recursive: true });
    if (json.written !== undefined) await Deno.writeTextFile(json.written.path, json.written.text);
    if (steps.some((s) => s.kind === "http-api")) {
      try {
        await ensureWebBuilt();
      } catch (e) {
        throw new CliError(`the http-api binary embeds the web client: ${(e as Error).message}`, 1);
      }
    }
    for (const s of steps) await compileOne(s);
    console.error(
      `compile: done; run each as '<binary> --config ${json.configAt} <service>...'`,
    );
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!(e instanceof CliError) && !(code?.startsWith("ERR_PARSE_ARGS") ?? false)) throw e;
    console.error(`compile: ${(e as Error).message}`);
    return e instanceof CliError ? e.exitCode : 2;
  }
}

if (import.meta.main) Deno.exit(await compileMain(Deno.args));
