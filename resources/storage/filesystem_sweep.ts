/**
 * The filesystem storage's own scratch files, and the sweep that removes those a crashed writer
 * left behind: writers stream into a temp file beside the final one (`.<name>.tmp~<hex>`) and
 * the data directory check writes a probe (`.probe~<hex>`). Both carry a `~`, which no key may
 * contain, so listings never show them; a process killed mid-write leaves its temp file.
 *
 * Only names of exactly these two forms are ever removed: foreign files with a `~` (an editor's
 * backup, say) are left alone.
 *
 * @module
 */

import { join } from "node:path";
import { isKeySegment, type Leftover } from "./storage.ts";

/** Temp file of a writer of `name` (a key's last segment); random, so writers never share one. */
export function tempName(name: string): string {
  // Keep temp names well under NAME_MAX (255) even for long key segments.
  return `.${name.slice(0, 100)}.tmp~${randomHex()}`;
}

/** The probe file that proves the data directory writable. */
export function probeName(): string {
  return `.probe~${randomHex()}`;
}

function randomHex(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const TEMP = /^\.(.+)\.tmp~[0-9a-f]{16}$/;
const PROBE = /^\.probe~[0-9a-f]{16}$/;

/** What a scratch file name stands for: the key segment it was written for, or null. */
function scratchOf(name: string): { kind: string; segment: string } | null {
  const temp = TEMP.exec(name);
  if (temp !== null) return { kind: "temp file", segment: temp[1]! };
  if (PROBE.test(name)) return { kind: "probe file", segment: ".probe" };
  return null;
}

/** Where a sweep looks and what it removes. */
export interface SweepScope {
  /** The data directory. */
  root: string;
  /** Key prefix (a plain string prefix, validated). */
  prefix: string;
  /** Only files untouched for longer than this, ms. */
  olderThanMs: number;
  /** Wall clock, ms since the epoch. */
  now: number;
}

/**
 * Removes scratch files under `scope.prefix` that no writer touched for `olderThanMs`, and
 * returns them (their key is the key the writer was writing, as far as the name tells: long
 * names were cut to 100 characters).
 */
export async function sweepScratchFiles(scope: SweepScope): Promise<Leftover[]> {
  const slash = scope.prefix.lastIndexOf("/");
  const dirKey = scope.prefix.slice(0, slash + 1);
  const dir = dirKey === "" ? scope.root : join(scope.root, ...dirKey.slice(0, -1).split("/"));
  const out: Leftover[] = [];
  await sweepDirectory(scope, dir, dirKey, out);
  return out;
}

async function sweepDirectory(
  scope: SweepScope,
  dir: string,
  dirKey: string,
  out: Leftover[],
): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push(e);
  } catch {
    return; // gone, or not a directory: nothing to sweep there
  }
  for (const e of entries) {
    if (e.isDirectory) {
      if (!isKeySegment(e.name)) continue;
      const key = `${dirKey}${e.name}/`;
      // Descend where keys below can match the prefix: inside it, or on the way to it.
      if (key.startsWith(scope.prefix) || scope.prefix.startsWith(key)) {
        await sweepDirectory(scope, join(dir, e.name), key, out);
      }
      continue;
    }
    const scratch = e.isFile ? scratchOf(e.name) : null;
    if (scratch === null) continue;
    const key = dirKey + scratch.segment;
    if (!key.startsWith(scope.prefix)) continue;
    const path = join(dir, e.name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      continue; // its writer committed or aborted meanwhile
    }
    const ageMs = scope.now - (info.mtime?.getTime() ?? scope.now);
    if (ageMs <= scope.olderThanMs) continue;
    try {
      await Deno.remove(path);
    } catch {
      continue; // removed by someone else, or not ours to remove
    }
    out.push({ key, kind: scratch.kind, bytes: info.size, ageMs });
  }
}
