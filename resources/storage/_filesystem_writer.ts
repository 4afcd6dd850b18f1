/**
 * The filesystem storage's writer: streams into a temp file beside the final name, fsyncs it,
 * and publishes it with a hard link, which never replaces an existing object. Private to
 * `resources/storage` (./filesystem_storage.ts is the public face).
 *
 * @module
 */

import { dirname } from "node:path";
import type { CommitResult, StorageWriter } from "./storage.ts";

/** Small writes are gathered into chunks of up to this size so that they cost no syscall each. */
const WRITE_CHUNK = 1024 * 1024;
/**
 * Writes of at least this size go to the file as they are (one syscall, no copy). The buffer for
 * smaller ones grows as needed: most objects are written whole, once, and a 1 MiB buffer per
 * writer, zeroed, was ~130000 page faults of a 60000-tick `run`.
 */
const DIRECT_BYTES = 64 * 1024;
/** The first size of the gathering buffer. */
const FIRST_BUFFER = 16 * 1024;

/** An error's message (or the thrown value as text). */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Removes a file, ignoring failure. */
export async function removeQuietly(path: string): Promise<void> {
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
export async function syncDirectory(path: string): Promise<void> {
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

/** A key and a directory of keys would need the same name (`a` and `a/b`). */
export class KeyConflictError extends Error {
  override readonly name = "KeyConflictError";
}

/** A write failure naming the key and path (a key conflict passes through). */
export function writeError(key: string, path: string, e: unknown): Error {
  if (e instanceof KeyConflictError) return e;
  return new Error(`Cannot write '${key}' (${path}): ${describe(e)}`, { cause: e });
}

type WriterState = "open" | "committing" | "committed" | "aborted" | "failed";

/** Streams into a temp file; commit links it to the final name. */
export class FilesystemWriter implements StorageWriter {
  readonly key: string;
  readonly #path: string;
  readonly #tempPath: string;
  readonly #file: Deno.FsFile;
  /** Directories this writer created, whose parents need an fsync on commit. */
  readonly #createdDirs: string[];
  #fileOpen = true;
  #buffer: Uint8Array = new Uint8Array(0);
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
        // Bytes follow the gathered ones: top the buffer up first (then it is full or rest empty).
        const n = Math.min(rest.length, WRITE_CHUNK - this.#buffered);
        this.#gather(rest.subarray(0, n));
        rest = rest.subarray(n);
        if (this.#buffered === WRITE_CHUNK) await this.#flush();
      }
      // Large writes go straight to the file; small ones are copied (write() must not keep a
      // reference to the caller's buffer once it resolves).
      if (rest.length >= DIRECT_BYTES) await this.#writeAll(rest);
      else if (rest.length > 0) this.#gather(rest);
      this.#bytes += bytes.length;
    } catch (e) {
      this.#state = "failed";
      throw writeError(this.key, this.#tempPath, e);
    }
  }

  /** Appends `bytes` to the buffer, which has room up to WRITE_CHUNK; grows it as needed. */
  #gather(bytes: Uint8Array): void {
    const need = this.#buffered + bytes.length;
    if (need > this.#buffer.length) {
      let size = Math.max(this.#buffer.length * 2, FIRST_BUFFER);
      while (size < need) size *= 2;
      const next = new Uint8Array(Math.min(size, WRITE_CHUNK));
      next.set(this.#buffer.subarray(0, this.#buffered));
      this.#buffer = next;
    }
    this.#buffer.set(bytes, this.#buffered);
    this.#buffered = need;
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
