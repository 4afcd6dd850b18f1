/**
 * Storage: objects under string keys, written once. Filesystem and S3 implementations.
 *
 * - `openWriter(key)` streams bytes; `commit()` publishes them atomically and never replaces
 *   an existing object (a second commit of the same key is a no-op reporting `created: false`);
 *   `abort()` leaves nothing behind.
 * - Keys are relative paths of `[A-Za-z0-9._=-]` segments joined by `/`: no empty segments, no
 *   `.` or `..`, no leading `/`, at most 1024 bytes. Anything else throws `InvalidKeyError`.
 * - `delete(key)` removes one object (operators removing a run); the no-clobber rule is about
 *   commits only: a key deleted can be written again.
 * - `sweepLeftovers` removes what crashed writers left behind: the filesystem's temp files, S3's
 *   pending multipart uploads. Both are invisible to every other method.
 *
 * @module
 */

/** Result of a commit. */
export interface CommitResult {
  /** false when the key existed already (the write was a no-op). */
  created: boolean;
  /** Bytes written by this writer. */
  bytes: number;
}

/** A streaming writer for one key. */
export interface StorageWriter {
  readonly key: string;
  /** Appends bytes. May buffer; resolves when the bytes are accepted. */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes the object visible atomically; no-op (created: false) if the key exists. */
  commit(): Promise<CommitResult>;
  /** Discards everything written; safe to call after a failure, and twice. */
  abort(): Promise<void>;
}

/** One page of a key listing. */
export interface KeyPage {
  /** Keys in lexicographic (byte) order. */
  keys: string[];
  /** Pass to the next listKeys call; absent on the last page. */
  cursor?: string;
}

/** What storage knows about one object. */
export interface ObjectInfo {
  key: string;
  /** Bytes. */
  size: number;
  /** When the object was committed (last modified), ms since the epoch. */
  modifiedMs: number;
}

/** One page of an object listing (see {@link Storage.listObjects}). */
export interface ObjectPage {
  /** Objects in lexicographic (byte) order of their keys. */
  objects: ObjectInfo[];
  /** Pass to the next listObjects call; absent on the last page. */
  cursor?: string;
}

/**
 * The age beyond which the pipeline and `inspect` sweep leftovers by default, ms: a live writer
 * touches its temp file every MiB, and an upload of a batch takes seconds, not ten minutes.
 */
export const DEFAULT_LEFTOVER_AGE_MS = 10 * 60_000;

/** Options of {@link Storage.sweepLeftovers}. */
export interface SweepOptions {
  /** Only leftovers of keys under this prefix (default: everywhere). */
  prefix?: string;
  /**
   * Only leftovers untouched for longer than this, ms: a writer that is alive touches its temp
   * file or upload within seconds, so an old one belongs to a writer that is gone.
   */
  olderThanMs: number;
}

/** One leftover a sweep removed. */
export interface Leftover {
  /** The key the crashed writer was writing. */
  key: string;
  /** What it was, e.g. "temp file" or "multipart upload". */
  kind: string;
  /** Bytes it held, when known. */
  bytes: number | null;
  /** How long it had been untouched, ms. */
  ageMs: number;
}

/** Options for listKeys. */
export interface ListOptions {
  /** Keys per page, default 1000. */
  pageSize?: number;
  /** From a previous page. */
  cursor?: string;
}

/** Object storage. */
export interface Storage {
  /** Short description for status pages, e.g. "filesystem /data" or "s3://bucket". */
  readonly description: string;
  openWriter(key: string): Promise<StorageWriter>;
  /** Streams an object's bytes. Throws NotFoundError when absent. */
  openReader(key: string): Promise<ReadableStream<Uint8Array>>;
  /** Reads a whole object. Throws NotFoundError when absent. */
  read(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /** Size in bytes, or null when absent. */
  size(key: string): Promise<number | null>;
  /** Size and modification time of an object, or null when absent. */
  stat(key: string): Promise<ObjectInfo | null>;
  /** Keys starting with `prefix` (a plain string prefix, not only whole segments), paged. */
  listKeys(prefix: string, options?: ListOptions): Promise<KeyPage>;
  /** As {@link listKeys}, with each object's size and modification time. */
  listObjects(prefix: string, options?: ListOptions): Promise<ObjectPage>;
  /**
   * The names one level below `prefix` (empty or ending with "/") that have keys under them
   * (for "runs/", the run ids), in byte order. Costs the names, not the keys below them (one
   * S3 LIST with a delimiter per 1000 names; one directory read).
   */
  listChildren(prefix: string): Promise<string[]>;
  /**
   * Removes the object at `key`; resolves false when there was none. Never removes keys below
   * it (`a/b` when deleting `a`). A reader that opened the object before may still finish.
   */
  delete(key: string): Promise<boolean>;
  /** Removes crashed writers' leftovers (see {@link SweepOptions}) and says what it removed. */
  sweepLeftovers(options: SweepOptions): Promise<Leftover[]>;
  close(): Promise<void>;
}

/** A key that breaks the rules above. */
export class InvalidKeyError extends TypeError {
  readonly key: string;
  constructor(key: string, why: string) {
    super(`Invalid storage key '${key}': ${why}`);
    this.name = "InvalidKeyError";
    this.key = key;
  }
}

/** No object under the key. */
export class NotFoundError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`No object at '${key}'`);
    this.name = "NotFoundError";
    this.key = key;
  }
}

const SEGMENT = /^[A-Za-z0-9._=-]+$/;

/** Throws InvalidKeyError unless `key` is a valid storage key. */
export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) throw new InvalidKeyError(String(key), "empty");
  if (new TextEncoder().encode(key).length > 1024) {
    throw new InvalidKeyError(key.slice(0, 64) + "...", "longer than 1024 bytes");
  }
  if (key.startsWith("/")) throw new InvalidKeyError(key, "absolute path");
  for (const seg of key.split("/")) {
    if (seg.length === 0) throw new InvalidKeyError(key, "empty path segment");
    if (seg === "." || seg === "..") throw new InvalidKeyError(key, `'${seg}' segment`);
    if (!SEGMENT.test(seg)) {
      throw new InvalidKeyError(key, `segment '${seg}' has characters outside [A-Za-z0-9._=-]`);
    }
  }
}

/**
 * Throws InvalidKeyError unless `prefix` can begin a valid key: `""`, or whole valid segments
 * each followed by `/`, then optionally the start of one more segment (`runs/r1/ba`). Shared by
 * the implementations so that every one rejects the same listKeys prefixes.
 */
export function validatePrefix(prefix: string): void {
  if (typeof prefix !== "string") {
    throw new InvalidKeyError(String(prefix), "listing prefix is not a string");
  }
  if (prefix === "") return;
  if (new TextEncoder().encode(prefix).length > 1024) {
    throw new InvalidKeyError(prefix.slice(0, 64) + "...", "listing prefix longer than 1024 bytes");
  }
  if (prefix.startsWith("/")) throw new InvalidKeyError(prefix, "listing prefix is absolute");
  const segments = prefix.split("/");
  // The last piece may be a partial segment (possibly empty after a trailing '/'); a partial
  // '.' or '..' is fine because it can still begin a valid segment such as '.x' or '..y'.
  const partial = segments.pop()!;
  for (const seg of segments) {
    if (seg.length === 0) throw new InvalidKeyError(prefix, "empty path segment in listing prefix");
    if (seg === "." || seg === "..") {
      throw new InvalidKeyError(prefix, `'${seg}' segment in listing prefix`);
    }
    if (!SEGMENT.test(seg)) {
      throw new InvalidKeyError(prefix, `segment '${seg}' has characters outside [A-Za-z0-9._=-]`);
    }
  }
  if (partial.length > 0 && !SEGMENT.test(partial)) {
    throw new InvalidKeyError(
      prefix,
      `segment '${partial}' has characters outside [A-Za-z0-9._=-]`,
    );
  }
}

/** Throws TypeError unless `prefix` is empty or ends with "/" (see Storage.listChildren). */
export function checkChildPrefix(prefix: string): void {
  if (prefix !== "" && !prefix.endsWith("/")) {
    throw new InvalidKeyError(prefix, "listChildren takes a prefix that is empty or ends with '/'");
  }
}

/** True when `name` can be one segment of a valid key (used to skip foreign files in listings). */
export function isKeySegment(name: string): boolean {
  return name !== "." && name !== ".." && SEGMENT.test(name);
}
