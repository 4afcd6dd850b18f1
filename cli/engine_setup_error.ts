/**
 * Turning an engine that cannot be set up into one line naming the flag (or config field) to
 * change: the engine throws ConfigError for a field out of range, AssemblyError for a program
 * that does not assemble for the world, and RangeError/TypeError when the world cannot hold
 * what is placed in it. A user's program file is reported by path, line and column with the
 * quoted source text left out, so a wrong `--program` path never echoes a file's content.
 *
 * @module
 */

import type { ResolvedConfig } from "../services/runner/mod.ts";
import { AssemblyError } from "../services/simulation_engine/assembler/mod.ts";
import {
  ancestorPlacement,
  ConfigError,
  createEngine,
  type EngineConfigInput,
  resolveEngineConfig,
} from "../services/simulation_engine/runtime/mod.ts";
import { CliError } from "./cli_error.ts";

/** Where the engine's settings came from, for {@link engineSetupError}'s message. */
export interface EngineOrigin {
  /** The flag, with its value, behind a ConfigError's field (`--shape 2x2`); undefined: none. */
  flagOf(field: string): string | undefined;
  /** What made the world, e.g. `--shape 128x128` or `'f.ts' services.engine.engine`. */
  world: string;
  /** What to change when the world cannot hold the program, e.g. `choose a larger --shape`. */
  fix: string;
  /** The user's program file (`--program`) and the file name it was assembled under. */
  program?: { path: string; assembledAs: string };
}

/** True for the errors the engine throws for a configuration it cannot run. */
export function isEngineSetupError(e: unknown): e is Error {
  return e instanceof ConfigError || e instanceof AssemblyError || e instanceof RangeError ||
    e instanceof TypeError;
}

/** One-line CliError (exit 2) for an engine setup error, naming the flag to change. */
export function engineSetupError(e: Error, origin: EngineOrigin): CliError {
  if (e instanceof ConfigError) {
    return new CliError(`${origin.flagOf(e.field) ?? origin.world}: ${e.message}`);
  }
  if (e instanceof AssemblyError && e.file === origin.program?.assembledAs) {
    return new CliError(
      `--program ${origin.program.path}:${e.line}:${e.column}: ${withoutSource(e)}`,
    );
  }
  return new CliError(`${origin.world}: ${e.message}; ${origin.fix}`);
}

/**
 * The assembler's description of a problem without the source text it quotes: `unknown
 * instruction 'root:x:0:0'` becomes `unknown instruction '…'`. Everything between the first
 * and the last quote goes, so a quote inside the source cannot end the elision early.
 */
export function withoutSource(e: AssemblyError): string {
  const prefix = `${e.file}:${e.line}:${e.column}: `;
  const suffix = e.expected === undefined ? "" : `, expected ${e.expected}`;
  let what = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  if (suffix !== "" && what.endsWith(suffix)) what = what.slice(0, -suffix.length);
  return what.replace(/'.*'/s, "'…'") + suffix;
}

/** Options of {@link pipelineSetupError}. */
export interface PipelineOrigin {
  /** The config the pipeline was created from. */
  config: ResolvedConfig;
  /** The services created (`evochora service <names>`); default all. */
  only?: readonly string[];
  /** The config file; undefined for the built-in default config. */
  configPath?: string | undefined;
  /** The --shape and --seed flags as given, when given. */
  shape?: string | undefined;
  seed?: string | undefined;
}

/**
 * After `Pipeline.create` failed with `e`: when the pipeline's engine cannot be set up on its
 * own either, a CliError (exit 2) naming the flag or config field; undefined when the engine is
 * fine and `e` has another cause. Sets the engine up once more, so call it only on failure.
 */
export function pipelineSetupError(e: unknown, o: PipelineOrigin): CliError | undefined {
  if (!isEngineSetupError(e)) return undefined;
  const entry = Object.entries(o.config.services).find(([name, s]) =>
    s.kind === "simulation-engine" && (o.only === undefined || o.only.includes(name))
  );
  if (entry === undefined || entry[1].kind !== "simulation-engine") return undefined;
  const problem = engineProblem(entry[1].engine);
  if (problem === undefined) return undefined;
  const shape = o.shape === undefined ? undefined : `--shape ${o.shape}`;
  const field = `services.${entry[0]}.engine`;
  return engineSetupError(problem, {
    flagOf: (f) =>
      f.startsWith("shape")
        ? shape
        : f === "seed" && o.seed !== undefined
        ? `--seed ${o.seed}`
        : undefined,
    world: o.configPath === undefined
      ? shape ?? "the default world"
      : `'${o.configPath}' (${field})${shape === undefined ? "" : ` with ${shape}`}`,
    fix: o.configPath === undefined
      ? "choose another --shape"
      : `${
        shape === undefined ? "" : "choose another --shape or "
      }change ${field}.shape in '${o.configPath}'`,
  });
}

/** Why an engine cannot be set up, found by setting it up alone; undefined when it can. */
function engineProblem(engine: EngineConfigInput): Error | undefined {
  try {
    createEngine(resolveEngineConfig(engine, ancestorPlacement()));
    return undefined;
  } catch (e) {
    return isEngineSetupError(e) ? e : undefined;
  }
}
