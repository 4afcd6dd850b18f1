/**
 * Builds the web client into web/dist/: index.html, app.js (the TypeScript and uPlot, bundled
 * by `deno bundle`) and app.css (uPlot's stylesheet and ours, bundled from the CSS imports of
 * src/main.ts). Nothing is loaded from a CDN at run time.
 *
 * ```sh
 * deno task web:build            # minified, with a linked source map
 * deno task web:build --dev      # not minified
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { join } from "node:path";

const WEB = fileURLToPath(new URL(".", import.meta.url));

/** Options of {@link buildWeb}. */
export interface BuildOptions {
  /** Output directory, default web/dist. */
  outDir?: string;
  /** Minify app.js and app.css. Default true. */
  minify?: boolean;
}

/** What {@link buildWeb} wrote: file name to size in bytes. */
export type BuildResult = Record<string, number>;

/** Bundles the client; throws with deno bundle's output when it fails. */
export async function buildWeb(options: BuildOptions = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? join(WEB, "dist");
  await Deno.remove(outDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(outDir, { recursive: true });
  const args = [
    "bundle",
    "--quiet",
    "--platform",
    "browser",
    "--sourcemap",
    "linked",
    "--output",
    join(outDir, "app.js"),
  ];
  if (options.minify ?? true) args.push("--minify");
  args.push(join(WEB, "src", "main.ts"));
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: join(WEB, ".."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(
      `deno bundle failed (exit ${out.code}):\n${dec.decode(out.stderr)}${dec.decode(out.stdout)}`,
    );
  }
  await Deno.copyFile(join(WEB, "index.html"), join(outDir, "index.html"));
  const result: BuildResult = {};
  for (const name of ["index.html", "app.js", "app.css"]) {
    const info = await Deno.stat(join(outDir, name)).catch(() => null);
    if (!info) throw new Error(`The build did not produce ${name} in ${outDir}`);
    result[name] = info.size;
  }
  return result;
}

if (import.meta.main) {
  try {
    const sizes = await buildWeb({ minify: !Deno.args.includes("--dev") });
    console.log(
      `web/dist: ${
        Object.entries(sizes).map(([n, s]) => `${n} ${(s / 1024).toFixed(1)} KiB`).join(", ")
      }`,
    );
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
