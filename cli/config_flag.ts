/**
 * The `--config F` flag of `run`, `dev` and `service`: the file loaded and validated, every
 * problem one line that names the file.
 *
 * @module
 */

import {
  ConfigError,
  loadConfigFile,
  type PipelineConfig,
  resolveConfig,
  type ResolvedConfig,
} from "../services/runner/mod.ts";
import { CliError } from "./cli_error.ts";

/** A config file as written (for overrides) and validated with its defaults filled in. */
export interface LoadedConfig {
  config: PipelineConfig;
  resolved: ResolvedConfig;
}

/**
 * Loads and validates a config file. Throws CliError (exit 2) naming the file: `Cannot load
 * config 'F': ...` when it is not a config module, `F: Invalid config 'field': ...` when a
 * field is wrong or missing.
 */
export async function loadConfigFlag(path: string): Promise<LoadedConfig> {
  let config: PipelineConfig;
  try {
    config = await loadConfigFile(path);
  } catch (e) {
    // loadConfigFile's one error type: the file is not a loadable config module.
    if (e instanceof TypeError) throw new CliError(e.message);
    throw e;
  }
  try {
    return { config, resolved: resolveConfig(config) };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}
