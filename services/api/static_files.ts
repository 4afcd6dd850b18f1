/**
 * The web client's built files, served from a directory: `/` is `index.html`. Paths are
 * checked before they touch the filesystem: no `..`, no dot segments, no backslashes or NULs,
 * and the resolved file (symlinks followed) must lie inside the root.
 *
 * @module
 */

import { extname, join, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Serves files below a directory. */
export class StaticFiles {
  readonly root: string;
  #realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /**
   * The real path of the file a URL path names (`/` and directories: their `index.html`), or
   * null when there is none or the path is not acceptable.
   */
  async find(urlPath: string): Promise<string | null> {
    let path: string;
    try {
      path = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    const segments = path.split("/").filter((s) => s !== "");
    if (
      segments.some((s) => s.startsWith(".") || s.includes("\\") || s.includes("\0"))
    ) return null;
    if (segments.length === 0) segments.push("index.html");
    // The root may appear later (a web build after start): remember it only once found.
    this.#realRoot ??= Deno.realPath(this.root);
    let root: string;
    try {
      root = await this.#realRoot;
    } catch {
      this.#realRoot = undefined;
      return null;
    }
    let file: string;
    try {
      file = await Deno.realPath(join(root, ...segments));
      if ((await Deno.stat(file)).isDirectory) {
        file = await Deno.realPath(join(file, "index.html"));
      }
    } catch {
      return null;
    }
    return file.startsWith(root + sep) ? file : null;
  }

  /** The file for a URL path, or null when there is none (or the path is not acceptable). */
  async serve(urlPath: string): Promise<Response | null> {
    const file = await this.find(urlPath);
    if (file === null) return null;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await Deno.readFile(file);
    } catch {
      return null;
    }
    return new Response(bytes, {
      headers: {
        "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    });
  }
}
