/**
 * Storage in a directory tree: key `a/b/c` is the file `<root>/a/b/c`.
 *
 * Writers stream into a temporary file next to the final one, fsync it, and publish it with a
 * hard link, which fails when the name exists: a commit never replaces an object, and two
 * concurrent commits of the same key cannot both win. Temporary files carry a `~`, a character
 * no key may contain, so listings skip them (and any foreign file) without a naming convention
 * that a real key could collide with. A writer killed mid-write leaves its temp file behind;
 * `sweepLeftovers` removes those untouched for long (see ./filesystem_sweep.ts).
 *
 * `delete` removes the file and then the directories it leaves empty, so a deleted run leaves
 * no tree of empty directories behind.
 *
 * A key cannot be both an object and a directory of further keys (`a` and `a/b`): the second
 * write fails with an error that says so. Object stores allow it; the pipeline's keys never
 * need it.
 *
 * @module
 */

import { namesHoldingKeys } from "./list_all_keys.ts";
import { basename, dirname, join, resolve, sep } from "node:path";
import {
  describe,
  FilesystemWriter,
  KeyConflictError,
  removeQuietly,
  writeError as writerError,
} from "./_filesystem_writer.ts";
import { probeName, sweepScratchFiles, tempName } from "./filesystem_sweep.ts";
import {
  checkChildPrefix,
  isKeySegment,
  type KeyPage,
  type Leftover,
  type ListOptions,
  NotFoundError,
  type ObjectInfo,
  type ObjectPage,
  type Storage,
  type StorageWriter,
  type SweepOptions,
  validateKey,
  validatePrefix,
} from "./storage.ts";

/** Options of {@link FilesystemStorage}. */
export interface FilesystemStorageOptions {
  /** The data directory. Created (with its parents) if missing. */
  root: string;
}

/** The data directory is missing and cannot be created, or cannot be written. */
export class DataDirectoryError extends Error {
  /** Always "DataDirectoryError". */
  override readonly name = "DataDirectoryError";
  /** `why` says what is wrong with the directory. */
  constructor(
    /** The data directory. */
    readonly path: string,
    why: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot use data directory '${path}': ${why}; choose a writable --data-dir`, options);
  }
}

/** Objects whose size and time one listObjects page asks for at once. */
const STAT_CONCURRENCY = 64;

const DEFAULT_PAGE_SIZE = 1000;

/** Errors that mean "nothing there": the path, or a directory on it, does not exist. */
function isAbsent(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory ||
    e instanceof Deno.errors.IsADirectory;
}

/** Byte order of keys: all key characters are ASCII, so UTF-16 order is byte order. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Object storage in a local directory. */
export class FilesystemStorage implements Storage {
  /** "filesystem <absolute root>". */
  readonly description: string;
  /** The data directory, absolute. */
  readonly root: string;
  #ready: Promise<void> | undefined;
  /** Directories known to exist, so that writers do not stat their way up each time. */
  readonly #knownDirs = new Set<string>();
  #closed = false;

  /**
   * Does no I/O: the data directory is checked (and created) by the first openWriter. Use
   * {@link FilesystemStorage.open} to check it at startup instead. Reads never create it: a
   * missing directory reads as empty.
   */
  constructor(options: FilesystemStorageOptions) {
    this.root = resolve(options.root);
    this.description = `filesystem ${this.root}`;
  }

  /**
   * Opens the storage and checks the data directory right away: creates it if missing and
   * proves it writable, or throws {@link DataDirectoryError} naming it.
   */
  static async open(options: FilesystemStorageOptions): Promise<FilesystemStorage> {
    const storage = new FilesystemStorage(options);
    await storage.#ensureRoot();
    return storage;
  }

  /** Creates the root if needed and proves it writable, once (retried after a failure). */
  #ensureRoot(): Promise<void> {
    this.#ready ??= checkRoot(this.root).catch((e) => {
      this.#ready = undefined; // the operator may fix the directory while we run
      throw e;
    });
    return this.#ready;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`Storage ${this.description} is closed`);
  }

  #path(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /** Opens a writer on a temp file next to the key's final path, creating directories. */
  async openWriter(key: string): Promise<StorageWriter> {
    validateKey(key);
    this.#assertOpen();
    await this.#ensureRoot();
    const path = this.#path(key);
    const dir = dirname(path);
    const tempPath = join(dir, tempName(basename(path)));
    let created = await this.#ensureDirectory(key, dir);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tempPath, { write: true, createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw writeError(key, path, e);
      // A cached directory was removed behind our back: forget it and create it again.
      this.#knownDirs.clear();
      created = await this.#ensureDirectory(key, dir);
      try {
        file = await Deno.open(tempPath, { write: true, createNew: true });
      } catch (e2) {
        throw writeError(key, path, e2);
      }
    }
    return new FilesystemWriter(key, path, tempPath, file, created);
  }

  /**
   * Makes sure `dir` exists. Returns the directories it had to create (top first) so that the
   * commit can fsync their parents, or throws naming the object that is in the way.
   */
  async #ensureDirectory(key: string, dir: string): Promise<string[]> {
    if (this.#knownDirs.has(dir)) return [];
    const missing: string[] = [];
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = dirname(d)) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(d);
      } catch (e) {
        // NotADirectory: an object further up is in the way; the walk up will find it.
        if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
          missing.unshift(d);
          continue;
        }
        throw writeError(key, dir, e);
      }
      if (!info.isDirectory) {
        const other = d.slice(this.root.length + 1).split(/[\\/]/).join("/");
        throw new KeyConflictError(
          `Cannot write '${key}': '${other}' is an object, so it cannot also hold keys below it`,
        );
      }
      break;
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      throw writeError(key, dir, e);
    }
    this.#knownDirs.add(dir);
    return missing;
  }

  async openReader(key: string): Promise<ReadableStream<Uint8Array>> {
    validateKey(key);
    this.#assertOpen();
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#path(key), { read: true });
    } catch (e) {
      if (isAbsent(e)) throw new NotFoundError(key);
      throw readError(key, this.#path(key), e);
    }
    let info: Deno.FileInfo;
    try {
      info = await file.stat();
    } catch (e) {
      file.close();
      throw readError(key, this.#path(key), e);
    }
    // Opening a directory for reading succeeds on Linux; a directory of keys is not an object.
    if (!info.isFile) {
      file.close();
      throw new NotFoundError(key);
    }
    return file.readable; // closes the file when read to the end or cancelled
  }

  async read(key: string): Promise<Uint8Array> {
    validateKey(key);
    this.#assertOpen();
    try {
      return await Deno.readFile(this.#path(key));
    } catch (e) {
      if (isAbsent(e)) throw new NotFoundError(key);
      throw readError(key, this.#path(key), e);
    }
  }

  /** True when an object (a regular file, not a directory of keys) is at `key`. */
  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== null;
  }

  async size(key: string): Promise<number | null> {
    return (await this.stat(key))?.size ?? null;
  }

  /** The file's size and modification time; null when absent or a directory of keys. */
  async stat(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    this.#assertOpen();
    try {
      const info = await Deno.stat(this.#path(key));
      return info.isFile ? { key, size: info.size, modifiedMs: info.mtime?.getTime() ?? 0 } : null;
    } catch (e) {
      if (isAbsent(e)) return null;
      throw readError(key, this.#path(key), e);
    }
  }

  /** listKeys, then a stat per key (a key removed in between is left out). */
  async listObjects(prefix: string, options: ListOptions = {}): Promise<ObjectPage> {
    const page = await this.listKeys(prefix, options);
    const objects: ObjectInfo[] = [];
    for (let i = 0; i < page.keys.length; i += STAT_CONCURRENCY) {
      const infos = await Promise.all(
        page.keys.slice(i, i + STAT_CONCURRENCY).map((k) => this.stat(k)),
      );
      for (const info of infos) if (info !== null) objects.push(info);
    }
    return page.cursor === undefined ? { objects } : { objects, cursor: page.cursor };
  }

  /** Removes the file, then the directories above it that are left empty. */
  async delete(key: string): Promise<boolean> {
    validateKey(key);
    this.#assertOpen();
    const path = this.#path(key);
    try {
      if (!(await Deno.stat(path)).isFile) return false; // a directory of keys is no object
      await Deno.remove(path);
    } catch (e) {
      if (isAbsent(e)) return false;
      throw new Error(`Cannot delete '${key}' (${path}): ${describe(e)}`, { cause: e });
    }
    await this.#removeEmptyDirectories(dirname(path));
    return true;
  }

  /**
   * Removes `dir` and its parents up to the root while they are empty. A writer that is about to
   * create its temp file in one of them recreates it (openWriter retries after NotFound).
   */
  async #removeEmptyDirectories(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await Deno.remove(d); // fails unless empty
      } catch {
        return;
      }
      this.#knownDirs.delete(d);
    }
  }

  /** Removes temp and probe files untouched for `olderThanMs` (see ./filesystem_sweep.ts). */
  async sweepLeftovers(options: SweepOptions): Promise<Leftover[]> {
    const prefix = options.prefix ?? "";
    validatePrefix(prefix);
    this.#assertOpen();
    return await sweepScratchFiles({
      root: this.root,
      prefix,
      olderThanMs: options.olderThanMs,
      now: Date.now(),
    });
  }

  /**
   * Walks only the directory that holds the prefix's last (partial) segment and, below it, the
   * entries that match. Entries are visited in key order: a directory sorts as its name plus
   * `/`, because `a/x` must come after `a-b` and `a.c` but before `a0`. Each page re-walks from
   * the cursor, skipping whole subtrees that lie before it.
   */
  async listKeys(prefix: string, options: ListOptions = {}): Promise<KeyPage> {
    validatePrefix(prefix);
    this.#assertOpen();
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(pageSize) || pageSize < 1) {
      throw new RangeError(`listKeys pageSize must be a positive integer, got ${pageSize}`);
    }
    const cursor = options.cursor;
    if (cursor !== undefined) {
      try {
        validateKey(cursor);
      } catch {
        throw new TypeError(`Invalid listKeys cursor '${cursor}': pass the cursor of a page`);
      }
    }
    const slash = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, slash + 1);
    const partial = prefix.slice(slash + 1);
    const startDir = dirKey === "" ? this.root : this.#path(dirKey.slice(0, -1));
    // One extra key tells whether another page follows.
    const keys: string[] = [];
    await this.#walk(startDir, dirKey, partial, cursor, keys, pageSize + 1);
    if (keys.length <= pageSize) return { keys };
    keys.length = pageSize;
    return { keys, cursor: keys[pageSize - 1]! };
  }

  /** See Storage.listChildren: the directories below `prefix` that hold a key. */
  async listChildren(prefix: string): Promise<string[]> {
    validatePrefix(prefix);
    checkChildPrefix(prefix);
    this.#assertOpen();
    const names: string[] = [];
    const dir = prefix === "" ? this.root : this.#path(prefix.slice(0, -1));
    try {
      for await (const e of Deno.readDir(dir)) {
        if (isKeySegment(e.name) && (e.isDirectory || e.isSymlink)) names.push(e.name);
      }
    } catch (e) {
      if (isAbsent(e)) return [];
      throw new Error(`Cannot list '${prefix}' in ${this.description}: ${describe(e)}`, {
        cause: e,
      });
    }
    // An empty directory (its keys deleted) or one holding only temp files is no child.
    return await namesHoldingKeys(this, prefix, names.sort(compare));
  }

  async #walk(
    dir: string,
    dirKey: string,
    partial: string,
    cursor: string | undefined,
    out: string[],
    limit: number,
  ): Promise<void> {
    const entries: { name: string; isDir: boolean; sortKey: string }[] = [];
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!isKeySegment(e.name) || !e.name.startsWith(partial)) continue; // temp and foreign files
        let isDir = e.isDirectory;
        if (e.isSymlink) {
          try {
            isDir = (await Deno.stat(join(dir, e.name))).isDirectory;
          } catch {
            continue; // dangling link
          }
        }
        entries.push({ name: e.name, isDir, sortKey: isDir ? e.name + "/" : e.name });
      }
    } catch (e) {
      if (isAbsent(e)) return;
      throw new Error(`Cannot list '${dirKey}' in ${this.description}: ${describe(e)}`, {
        cause: e,
      });
    }
    entries.sort((a, b) => compare(a.sortKey, b.sortKey));
    for (const entry of entries) {
      const full = dirKey + entry.sortKey;
      if (entry.isDir) {
        // Every key below starts with `full`: all of them precede the cursor unless the cursor
        // itself lies below (or after) this directory.
        if (cursor !== undefined && full < cursor && !cursor.startsWith(full)) continue;
        await this.#walk(join(dir, entry.name), full, "", cursor, out, limit);
      } else {
        if (cursor !== undefined && full <= cursor) continue;
        out.push(full);
      }
      if (out.length >= limit) return;
    }
  }

  /** Makes later calls fail; writers already open may still commit or abort. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** Creates the root if missing and proves it writable with a probe file. */
async function checkRoot(root: string): Promise<void> {
  try {
    await Deno.mkdir(root, { recursive: true });
  } catch (e) {
    throw new DataDirectoryError(root, rootProblem(root, e), { cause: e });
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (e) {
    throw new DataDirectoryError(root, rootProblem(root, e), { cause: e });
  }
  if (!info.isDirectory) throw new DataDirectoryError(root, "it exists and is not a directory");
  // Write permission bits do not say everything (read-only mounts, ACLs, root's bypass): try it.
  const probe = join(root, probeName());
  try {
    const f = await Deno.open(probe, { write: true, createNew: true });
    f.close();
  } catch (e) {
    throw new DataDirectoryError(root, rootProblem(root, e), { cause: e });
  }
  await removeQuietly(probe);
}

function rootProblem(root: string, e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.NotADirectory) {
    return "a path above it is a regular file, not a directory";
  }
  if (e instanceof Deno.errors.AlreadyExists) return "it exists and is not a directory";
  if (e instanceof Deno.errors.NotCapable) {
    return `Deno is not allowed to write there (run with --allow-write=${root})`;
  }
  return describe(e);
}

function writeError(key: string, path: string, e: unknown): Error {
  return e instanceof DataDirectoryError ? e : writerError(key, path, e);
}

function readError(key: string, path: string, e: unknown): Error {
  return new Error(`Cannot read '${key}' (${path}): ${describe(e)}`, { cause: e });
}
