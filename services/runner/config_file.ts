/**
 * Loading a config file: a JSON file of the pipeline config, or a TypeScript or JavaScript
 * module whose default export is the pipeline config (both the same schema, validated by
 * `resolveConfig`). Every failure is one message naming the file and the kind of problem, with
 * a line and column where known, and never a piece of the file: a config path that points at
 * the wrong file (a key, a password file) must not be echoed to a terminal or a log.
 *
 * A JSON config is read and parsed, never imported: it is what a compiled service binary
 * (`deno task compile`) takes, since such a binary cannot import a module it was not built with.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isObj } from "./config_resolve.ts";
import type { PipelineConfig } from "./config_types.ts";

/** File name endings of the modules a config may be. */
export const CONFIG_MODULE_EXTENSIONS: readonly string[] = [".ts", ".mts", ".js", ".mjs"];

/** File name endings of every kind of config file: the modules' and JSON's. */
export const CONFIG_FILE_EXTENSIONS: readonly string[] = [...CONFIG_MODULE_EXTENSIONS, ".json"];

/**
 * The largest JSON config read, bytes: a pipeline config is a few kilobytes; a path naming a
 * large file by mistake is refused before it is read whole.
 */
export const MAX_JSON_CONFIG_BYTES = 1024 * 1024;

const EXPORT_HINT = "export default defineConfig({ resources, services })";
const JSON_HINT = 'a JSON object such as { "resources": { ... }, "services": { ... } }';

/** Options of {@link loadConfigFile}. */
export interface LoadConfigOptions {
  /**
   * Whether this process is a compiled binary, which cannot import a config module. Default
   * `Deno.build.standalone`.
   */
  standalone?: boolean;
}

/**
 * Reads a config file and returns the config unvalidated: pass it to `resolveConfig`. A
 * `.json` file is parsed; a module is imported and its default export taken. Throws TypeError
 * `Cannot load config '<path>': <reason>` when the file is of neither kind, is missing or not
 * a regular file, is not valid JSON (with the line and column), fails to compile or to
 * evaluate, or holds no config object; and for a module in a compiled binary, which takes JSON
 * configs only. Reasons never quote the file's content.
 */
export async function loadConfigFile(
  path: string,
  options: LoadConfigOptions = {},
): Promise<PipelineConfig> {
  const fail = (reason: string) => new TypeError(`Cannot load config '${path}': ${reason}`);
  const json = path.endsWith(".json");
  if (!json && !CONFIG_MODULE_EXTENSIONS.some((ext) => path.endsWith(ext))) {
    throw fail(
      `not a TypeScript/JavaScript module or JSON file of a config; expected a .json file ` +
        `holding ${JSON_HINT}, or a ${CONFIG_MODULE_EXTENSIONS.join(", ")} module that ends ` +
        `with ${EXPORT_HINT}`,
    );
  }
  if (!json && (options.standalone ?? Deno.build.standalone)) {
    throw fail(
      "compiled binaries take JSON configs: they cannot import a TypeScript/JavaScript " +
        "module; pass a .json file of the same config (the object the module exports by " +
        "default; 'deno task compile --config <module>' writes one)",
    );
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw fail(fileProblem(e));
  }
  if (!info.isFile) throw fail("not a regular file");
  const config = json ? await readJsonConfig(path, info, fail) : await importConfig(path, fail);
  if (!isObj(config)) {
    const got = config === null ? "null" : Array.isArray(config) ? "an array" : typeof config;
    throw fail(
      json
        ? `it holds ${got}, not a config object; expected ${JSON_HINT}`
        : `its default export is ${got}, not a config object; ${EXPORT_HINT}`,
    );
  }
  return config as unknown as PipelineConfig;
}

/** The default export of a config module. */
async function importConfig(
  path: string,
  fail: (reason: string) => TypeError,
): Promise<unknown> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (e) {
    throw fail(importProblem(e, url, path));
  }
  if (mod.default === undefined) throw fail(`it has no default export; end it with ${EXPORT_HINT}`);
  return mod.default;
}

/** The value a JSON config file holds. */
async function readJsonConfig(
  path: string,
  info: Deno.FileInfo,
  fail: (reason: string) => TypeError,
): Promise<unknown> {
  if (info.size > MAX_JSON_CONFIG_BYTES) {
    throw fail(
      `${info.size} bytes is too large for a config (at most ${MAX_JSON_CONFIG_BYTES} bytes)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw fail(fileProblem(e));
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fail("not a JSON config: it is not UTF-8 text");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const { line, column } = lineAndColumn(text, jsonErrorOffset(text, e));
    throw fail(`not valid JSON (syntax error at line ${line}, column ${column})`);
  }
}

/**
 * Where JSON.parse failed on `text`, as an offset: the position its message names; the end for
 * a text that ends too soon. For an unexpected character its message quotes the text instead
 * of a position, so the offset is found as the length of the shortest prefix that fails for
 * a reason other than ending too soon, less one (a failure at the prefix's end is ending too
 * soon: a prefix of valid JSON fails only there).
 */
export function jsonErrorOffset(text: string, error: unknown): number {
  const at = positionOf(error);
  if (at !== undefined) return at;
  if (/Unexpected end of JSON input/.test(messageOf(error))) return text.length;
  const failsWithin = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return false;
    } catch (e) {
      if (/Unexpected end of JSON input/.test(messageOf(e))) return false;
      const p = positionOf(e);
      return p === undefined || p < k;
    }
  };
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsWithin(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : "";
}

function positionOf(e: unknown): number | undefined {
  const m = /\bat position (\d+)/.exec(messageOf(e));
  return m === null ? undefined : Number(m[1]);
}

/** The 1-based line and column of `offset` in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
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
