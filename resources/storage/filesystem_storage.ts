/**
 * Storage in a directory tree: key `a/b/c` is the file `<root>/a/b/c`.
 *
 * Writers stream into a temporary file next to the final one, fsync it, and publish it with a
 * hard link, which fails when the name exists: a commit never replaces an object, and two
 * concurrent commits of the same key cannot both win. Temporary files carry a `~`, a character
 * no key may contain, so listings skip them (and any foreign file) without a naming convention
 * that a real key could collide with.
 *
 * A key cannot be both an object and a directory of further keys (`a` and `a/b`): the second
 * write fails with an error that says so. Object stores allow it; the pipeline's keys never
 * need it.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  type CommitResult,
  isKeySegment,
  type KeyPage,
  type ListOptions,
  NotFoundError,
  type Storage,
  type StorageWriter,
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

/** Writes are gathered into chunks of this size so that small writes cost no syscall each. */
const WRITE_CHUNK = 1024 * 1024;
const DEFAULT_PAGE_SIZE = 1000;

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Errors that mean "nothing there": the path, or a directory on it, does not exist. */
function isAbsent(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory ||
    e instanceof Deno.errors.IsADirectory;
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Already gone, or the directory went away; either way nothing is left to clean.
  }
}

/**
 * fsyncs a directory so that a new entry in it survives a crash. Not possible everywhere
 * (Windows cannot open directories this way, some filesystems reject it): best effort.
 */
async function syncDirectory(path: string): Promise<void> {
  try {
    const dir = await Deno.open(path, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // Durability of the directory entry is then up to the filesystem's own journal.
  }
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
    // Keep temp names well under NAME_MAX (255) even for long key segments.
    const tempPath = join(dir, `.${basename(path).slice(0, 100)}.tmp~${randomSuffix()}`);
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
    validateKey(key);
    this.#assertOpen();
    try {
      const info = await Deno.stat(this.#path(key));
      return info.isFile ? info.size : null;
    } catch (e) {
      if (isAbsent(e)) return null;
      throw readError(key, this.#path(key), e);
    }
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
  const probe = join(root, `.probe~${randomSuffix()}`);
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

/** A key and a directory of keys would need the same name (`a` and `a/b`). */
class KeyConflictError extends Error {
  override readonly name = "KeyConflictError";
}

function writeError(key: string, path: string, e: unknown): Error {
  if (e instanceof DataDirectoryError || e instanceof KeyConflictError) return e;
  return new Error(`Cannot write '${key}' (${path}): ${describe(e)}`, { cause: e });
}

function readError(key: string, path: string, e: unknown): Error {
  return new Error(`Cannot read '${key}' (${path}): ${describe(e)}`, { cause: e });
}

type WriterState = "open" | "committing" | "committed" | "aborted" | "failed";

/** Streams into a temp file; commit links it to the final name. */
class FilesystemWriter implements StorageWriter {
  readonly key: string;
  readonly #path: string;
  readonly #tempPath: string;
  readonly #file: Deno.FsFile;
  /** Directories this writer created, whose parents need an fsync on commit. */
  readonly #createdDirs: string[];
  #fileOpen = true;
  #buffer: Uint8Array = new Uint8Array(WRITE_CHUNK);
  #buffered = 0;
  #bytes = 0;
  #state: WriterState = "open";
  /** Writes run one after another even if a caller does not await each one. */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    key: string,
    path: string,
    tempPath: string,
    file: Deno.FsFile,
    createdDirs: string[],
  ) {
    this.key = key;
    this.#path = path;
    this.#tempPath = tempPath;
    this.#file = file;
    this.#createdDirs = createdDirs;
  }

  #assertState(action: string): void {
    if (this.#state === "open") return;
    const why = {
      committing: "it is being committed",
      committed: "it is already committed",
      aborted: "it was aborted",
      failed: "an earlier write or commit failed (abort it)",
    }[this.#state];
    throw new Error(`Cannot ${action} '${this.key}': ${why}`);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!(bytes instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`write('${this.key}') expects a Uint8Array`));
    }
    try {
      this.#assertState("write to");
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.#queue.then(() => this.#write(bytes));
    // A failed write poisons the writer: later writes and the commit must not go on silently.
    this.#queue = run.catch(() => {});
    return run;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    // Writes queued before commit() still run while it waits for them; after an abort or a
    // failure they must not.
    if (this.#state === "aborted" || this.#state === "failed") this.#assertState("write to");
    try {
      let rest = bytes;
      if (this.#buffered > 0) {
        const n = Math.min(rest.length, WRITE_CHUNK - this.#buffered);
        this.#buffer.set(rest.subarray(0, n), this.#buffered);
        this.#buffered += n;
        rest = rest.subarray(n);
        if (this.#buffered === WRITE_CHUNK) await this.#flush();
      }
      // Whole chunks go straight to the file; only the tail is copied (write() must not keep
      // a reference to the caller's buffer once it resolves).
      const direct = rest.length - (rest.length % WRITE_CHUNK);
      if (direct > 0) await this.#writeAll(rest.subarray(0, direct));
      rest = rest.subarray(direct);
      if (rest.length > 0) {
        this.#buffer.set(rest, this.#buffered);
        this.#buffered += rest.length;
      }
      this.#bytes += bytes.length;
    } catch (e) {
      this.#state = "failed";
      throw writeError(this.key, this.#tempPath, e);
    }
  }

  async #flush(): Promise<void> {
    if (this.#buffered === 0) return;
    const n = this.#buffered;
    await this.#writeAll(this.#buffer.subarray(0, n));
    this.#buffered = 0;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#file.write(bytes.subarray(off));
  }

  #closeFile(): void {
    if (!this.#fileOpen) return;
    this.#fileOpen = false;
    try {
      this.#file.close();
    } catch {
      // Closing is best effort on the failure paths that call this twice.
    }
  }

  async commit(): Promise<CommitResult> {
    this.#assertState("commit");
    this.#state = "committing";
    await this.#queue;
    if (this.#state !== "committing") this.#assertState("commit"); // a queued write failed
    try {
      await this.#flush();
      await this.#file.sync();
      this.#closeFile();
      let created = true;
      try {
        // link() fails with EEXIST when the name is taken: the no-clobber publish. rename()
        // would replace an existing object silently.
        await Deno.link(this.#tempPath, this.#path);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        const info = await Deno.lstat(this.#path);
        if (info.isDirectory) {
          throw new KeyConflictError(
            `Cannot commit '${this.key}': keys below '${this.key}/' exist, so it cannot be an ` +
              `object`,
          );
        }
        created = false;
      }
      await removeQuietly(this.#tempPath);
      if (created) {
        await syncDirectory(dirname(this.#path));
        for (const d of this.#createdDirs) await syncDirectory(dirname(d));
      }
      this.#state = "committed";
      this.#buffer = new Uint8Array(0);
      return { created, bytes: this.#bytes };
    } catch (e) {
      this.#state = "failed";
      this.#closeFile();
      await removeQuietly(this.#tempPath);
      throw e instanceof KeyConflictError
        ? e
        : new Error(`Cannot commit '${this.key}' (${this.#path}): ${describe(e)}`, { cause: e });
    }
  }

  async abort(): Promise<void> {
    if (this.#state === "committed" || this.#state === "aborted") return;
    if (this.#state === "committing") {
      throw new Error(`Cannot abort '${this.key}': a commit is in progress`);
    }
    this.#state = "aborted";
    await this.#queue;
    this.#closeFile();
    this.#buffer = new Uint8Array(0);
    await removeQuietly(this.#tempPath);
  }
}
