/**
 * Loading a config file: a TypeScript or JavaScript module whose default export is the
 * pipeline config. Every failure is one message naming the file and the kind of problem, with
 * a line and column where known, and never a piece of the file: a config path that points at
 * the wrong file (a key, a password file) must not be echoed to a terminal or a log.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isObj } from "./config_resolve.ts";
import type { PipelineConfig } from "./config_types.ts";

/** File name endings of the modules a config may be. */
export const CONFIG_FILE_EXTENSIONS: readonly string[] = [".ts", ".mts", ".js", ".mjs"];

const EXPORT_HINT = "export default defineConfig({ resources, services })";

/**
 * Imports a config file and returns its default export unvalidated: pass it to
 * `resolveConfig`. Throws TypeError `Cannot load config '<path>': <reason>` when the file is
 * not a module of a config extension, is missing or not a regular file, fails to compile or to
 * evaluate, or its default export is not an object. Reasons never quote the file's content.
 */
export async function loadConfigFile(path: string): Promise<PipelineConfig> {
  const fail = (reason: string) => new TypeError(`Cannot load config '${path}': ${reason}`);
  if (!CONFIG_FILE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
    throw fail(
      `not a TypeScript/JavaScript module exporting a config; expected a ${
        CONFIG_FILE_EXTENSIONS.slice(0, -1).join(", ")
      } or ${CONFIG_FILE_EXTENSIONS.at(-1)} file that ends with ${EXPORT_HINT}`,
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw fail(fileProblem(e));
  }
  if (!info.isFile) throw fail("not a regular file");
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    throw fail(importProblem(e, url, path));
  }
  const config = mod.default;
  if (config === undefined) throw fail(`it has no default export; end it with ${EXPORT_HINT}`);
  if (!isObj(config)) {
    const got = config === null ? "null" : Array.isArray(config) ? "an array" : typeof config;
    throw fail(`its default export is ${got}, not a config object; ${EXPORT_HINT}`);
  }
  return config as unknown as PipelineConfig;
}

/** Why a file cannot be opened, from the error's kind only. */
function fileProblem(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  return `cannot read it (${errorName(e)})`;
}

/**
 * Why a module failed to load, without its message: compile errors quote the offending line
 * and runtime errors name identifiers of the file. The kind and the position are enough to find
 * it; `deno check` / `deno run` on the file show the details.
 */
function importProblem(e: unknown, url: string, path: string): string {
  const text = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : "";
  // deno colours the location in some messages; the codes would hide it from the pattern.
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const at = new RegExp(`${escapeRegExp(url)}:(\\d+):(\\d+)`).exec(plain);
  const where = at === null ? "" : ` at line ${at[1]}, column ${at[2]}`;
  const name = errorName(e);
  if (name === "SyntaxError" || /^SyntaxError\b/.test(e instanceof Error ? e.message : "")) {
    return `not a TypeScript/JavaScript module exporting a config (syntax error${where}); ` +
      `'deno check ${path}' shows the details`;
  }
  if ((e as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND") {
    return `an import${where} cannot be resolved; 'deno check ${path}' shows the details`;
  }
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return `evaluating it needs a permission this command does not have${where}`;
  }
  return `evaluating it threw ${name}${where}; 'deno run ${path}' shows the details`;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
