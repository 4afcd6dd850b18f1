/**
 * The storage the operator commands (`inspect`, `runs`, `delete`) work on: a data directory
 * (`--data-dir D`, filesystem storage), or the storage of a config file (`--config F`, e.g. S3 in
 * config/kafka-s3.config.ts).
 *
 * @module
 */

import type { ResolvedConfig } from "../services/runner/mod.ts";
import { buildResource } from "../services/runner/resources.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import type { Storage } from "../resources/storage/storage.ts";
import { CliError } from "./cli_error.ts";
import { loadConfigFlag } from "./config_flag.ts";

/** An open storage and how to name it in output. */
export interface OpenedStorage {
  storage: Storage;
  /** "D" for a data directory, "s3://bucket/prefix" for S3. */
  where: string;
  /** The data directory, when it is one. */
  dataDir: string | undefined;
}

/** The flags that choose the storage. */
export interface StorageFlags {
  "data-dir"?: string | undefined;
  config?: string | undefined;
}

/**
 * Opens the storage the flags name: `--config F` builds F's storage resource (the one its
 * persistence services write to); otherwise `--data-dir` (default ./data), which must exist.
 * Throws CliError naming the flag.
 */
export async function openStorageFlag(flags: StorageFlags): Promise<OpenedStorage> {
  if (flags.config !== undefined) {
    if (flags["data-dir"] !== undefined) {
      throw new CliError("--data-dir and --config both name a storage; pass one of them");
    }
    return await configStorage(flags.config);
  }
  const dir = flags["data-dir"] ?? "./data";
  if (dir === "") throw new CliError("--data-dir expects a directory, got ''");
  try {
    const st = await Deno.stat(dir);
    if (!st.isDirectory) throw new CliError(`--data-dir '${dir}' is not a directory`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--data-dir '${dir}' does not exist; pass the directory a run wrote to`);
  }
  return { storage: new FilesystemStorage({ root: dir }), where: dir, dataDir: dir };
}

async function configStorage(path: string): Promise<OpenedStorage> {
  const { resolved } = await loadConfigFlag(path);
  try {
    return await openConfigStorage(resolved);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, e instanceof CliError ? 2 : 1);
  }
}

/**
 * Opens the storage a resolved config's persistence services write to (else its first storage
 * resource). Throws when the config has none or it cannot be opened.
 */
export async function openConfigStorage(resolved: ResolvedConfig): Promise<OpenedStorage> {
  const writers = Object.values(resolved.services)
    .filter((s) => s.kind === "persistence" || s.kind === "metadata-persistence")
    .map((s) => (s as { storage: string }).storage);
  const storages = Object.entries(resolved.resources)
    .filter(([, r]) => r.kind === "filesystem" || r.kind === "s3")
    .map(([name]) => name);
  const name = writers.find((n) => storages.includes(n)) ?? storages[0];
  if (name === undefined) throw new CliError("the config has no storage resource");
  let built: Awaited<ReturnType<typeof buildResource>>;
  try {
    built = await buildResource(name, resolved.resources[name]!);
  } catch (e) {
    throw new Error(`cannot open storage '${name}': ${(e as Error).message}`, { cause: e });
  }
  const r = resolved.resources[name]!;
  return {
    storage: built.instance as Storage,
    where: built.description,
    dataDir: r.kind === "filesystem" ? r.root : undefined,
  };
}
