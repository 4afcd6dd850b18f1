/**
 * The web client built on demand, so that `serve` and the http-api service show the viewer in
 * a fresh clone without a separate `deno task web:build`. web/dist is (re)built when one of its
 * files is missing or older than a source (web/src, web/index.html, web/build.ts). Without
 * sources (a compiled binary ships web/dist only) nothing is built.
 *
 * The bundle is written to a temporary directory first and its files are then moved into
 * web/dist one by one, each by a rename inside web/dist: a server reading web/dist meanwhile
 * never sees half a file, two processes building at once both leave a complete client, and
 * nothing half-built is left where `deno lint` or git would see it.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildWeb } from "./build.ts";

const WEB = fileURLToPath(new URL(".", import.meta.url));

/** Where the server looks for the built client by default: web/dist. */
export const WEB_DIST: string = join(WEB, "dist");

/** The files a build must have produced. */
const OUTPUTS = ["index.html", "app.js", "app.css"];

/** What web/dist holds compared with the sources. */
export type WebBuildState = "fresh" | "missing" | "stale";

/** Options of {@link ensureWebBuilt}. */
export interface EnsureBuiltOptions {
  /** The built client's directory. Default web/dist. */
  outDir?: string;
  /** Where a build is announced. Default console.error. */
  log?: (message: string) => void;
}

/**
 * Whether the client in `outDir` is complete and newer than every source in `sourceDir` (its
 * src/, index.html and build.ts; default this folder).
 */
export async function webBuildState(
  outDir: string = WEB_DIST,
  sourceDir: string = WEB,
): Promise<WebBuildState> {
  let built = Infinity;
  for (const name of OUTPUTS) {
    const info = await Deno.stat(join(outDir, name)).catch(() => null);
    if (info === null) return "missing";
    built = Math.min(built, info.mtime?.getTime() ?? -Infinity);
  }
  const sources = await newestSource(sourceDir);
  // Without sources the built client is all there is: a compiled binary embeds web/dist alone,
  // and its embedded files may have no modification time.
  return sources !== null && sources > built ? "stale" : "fresh";
}

/**
 * Builds the client into `outDir` unless it is fresh; resolves to what was done. Throws an
 * error saying what to do when the build cannot run or fails.
 */
export async function ensureWebBuilt(
  options: EnsureBuiltOptions = {},
): Promise<"fresh" | "built"> {
  const outDir = options.outDir ?? WEB_DIST;
  const state = await webBuildState(outDir);
  if (state === "fresh") return "fresh";
  if (await newestSource(WEB) === null) {
    throw new Error(`the web client is not built and its sources are not here`);
  }
  const run = await Deno.permissions.query({ name: "run", command: Deno.execPath() });
  if (run.state !== "granted") {
    throw new Error(
      `the web client in web/dist is ${state} and this process may not run 'deno bundle' ` +
        `(no --allow-run); run 'deno task web:build' once`,
    );
  }
  const log = options.log ?? ((m: string) => console.error(m));
  log(
    `web client: building web/dist (${state === "missing" ? "not built yet" : "sources changed"})`,
  );
  const t = performance.now();
  const staging = await Deno.makeTempDir({ prefix: "evochora-web-build-" });
  try {
    try {
      await buildWeb({ outDir: staging });
    } catch (e) {
      const first = (e as Error).message.split("\n").filter((l) => l.trim() !== "").slice(0, 4);
      throw new Error(
        `building the web client failed: ${first.join(" | ")}; run 'deno task web:build' ` +
          `for the whole output`,
      );
    }
    await Deno.mkdir(outDir, { recursive: true });
    for await (const entry of Deno.readDir(staging)) {
      if (!entry.isFile) continue;
      // A rename inside outDir replaces the file at once; a copy there could be read half done.
      const part = join(outDir, `.${entry.name}.${crypto.randomUUID()}.part`);
      await Deno.copyFile(join(staging, entry.name), part);
      await Deno.rename(part, join(outDir, entry.name));
    }
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  log(`web client: built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return "built";
}

/** The newest modification time (ms) of the client's sources, or null when there are none. */
async function newestSource(sourceDir: string): Promise<number | null> {
  let newest: number | null = null;
  const see = (info: Deno.FileInfo) => {
    if (info.mtime !== null) newest = Math.max(newest ?? 0, info.mtime.getTime());
  };
  for (const name of ["index.html", "build.ts"]) {
    const info = await Deno.stat(join(sourceDir, name)).catch(() => null);
    if (info !== null) see(info);
  }
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.isFile) see(await Deno.stat(path));
    }
  };
  await walk(join(sourceDir, "src"));
  return newest;
}
