/**
 * Regenerates the protobuf-es TypeScript in proto/gen/ from proto/evochora/v1/*.proto.
 *
 *   deno task proto            regenerate proto/gen/ (only files whose bytes change are written)
 *   deno task proto --check    generate into a temp dir; exit 1 naming the stale files if the
 *                              committed proto/gen/ differs
 *
 * buf (npm:@bufbuild/buf, a native binary shipped through optional npm dependencies) runs under
 * this same deno, and buf.gen.yaml runs the local plugin `deno run npm:@bufbuild/protoc-gen-es`.
 * The directory of the running deno is put first on PATH so that plugin command resolves even when
 * deno itself is not on PATH. Nothing here needs more than the npm registry.
 */
import { delimiter, dirname, join, relative, sep as SEPARATOR } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));
export const PROTO_DIR: string = join(REPO_ROOT, "proto");
export const GEN_DIR: string = join(PROTO_DIR, "gen");
const DENO_JSON = join(REPO_ROOT, "deno.json");
const TEMPLATE = join(PROTO_DIR, "buf.gen.yaml");
/** The plugin writes to `out: gen`, relative to the --output base dir. */
const TEMPLATE_OUT = "gen";

/** One file of proto/gen/ that does not match what the .proto files generate. */
export interface StaleFile {
  /** Path relative to the gen dir, with "/" separators, e.g. "evochora/v1/tick_pb.ts". */
  path: string;
  /** differs: content changed; missing: not committed; extra: no .proto generates it. */
  kind: "differs" | "missing" | "extra";
}

async function readImports(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(DENO_JSON)) as {
    imports?: Record<string, string>;
  };
  return config.imports ?? {};
}

function versionOf(specifier: string | undefined, pkg: string): string | undefined {
  return specifier?.match(new RegExp(`^npm:${pkg.replace("/", "\\/")}@([^/]+)`))?.[1];
}

/**
 * The buf specifier from deno.json's import map, after checking that buf.gen.yaml's plugin, the
 * import map and the @bufbuild/protobuf runtime agree on the protobuf-es version (generated code
 * and runtime must come from the same release).
 */
async function resolveTools(): Promise<{ buf: string }> {
  const imports = await readImports();
  const buf = imports["@bufbuild/buf"];
  if (!buf?.startsWith("npm:@bufbuild/buf@")) {
    throw new Error(`deno.json imports must map "@bufbuild/buf" to npm:@bufbuild/buf@<version>`);
  }
  const runtime = versionOf(imports["@bufbuild/protobuf"], "@bufbuild/protobuf");
  const mapped = versionOf(imports["@bufbuild/protoc-gen-es"], "@bufbuild/protoc-gen-es");
  const template = await Deno.readTextFile(TEMPLATE);
  const used = template.match(/npm:@bufbuild\/protoc-gen-es@([^"'\s,\]]+)/)?.[1];
  if (!used || used !== mapped || used !== runtime) {
    throw new Error(
      `protobuf-es versions disagree: buf.gen.yaml runs protoc-gen-es ${used ?? "?"}, deno.json ` +
        `maps @bufbuild/protoc-gen-es ${mapped ?? "?"} and @bufbuild/protobuf ${runtime ?? "?"}`,
    );
  }
  return { buf };
}

/**
 * Runs `buf generate` on `protoDir` (a buf module: buf.yaml plus the .proto tree) with
 * proto/buf.gen.yaml, writing the generated tree to `outDir` (which it empties first).
 */
export async function generateInto(outDir: string, protoDir: string = PROTO_DIR): Promise<void> {
  const { buf } = await resolveTools();
  const base = await Deno.makeTempDir({ prefix: "evochora-proto-" });
  try {
    const deno = Deno.execPath();
    const path = [dirname(deno), Deno.env.get("PATH") ?? ""].filter((p) => p !== "").join(
      delimiter,
    );
    const { code, stdout, stderr } = await new Deno.Command(deno, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--config",
        DENO_JSON,
        // The buf shim finds its platform package and spawns the native binary.
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "--allow-run",
        buf,
        "generate",
        protoDir,
        "--template",
        TEMPLATE,
        "--output",
        base,
      ],
      cwd: PROTO_DIR,
      env: { PATH: path },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      const text = new TextDecoder();
      throw new Error(
        `buf generate failed (exit ${code}):\n${text.decode(stdout)}${text.decode(stderr)}`.trim(),
      );
    }
    await Deno.remove(outDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(dirname(outDir), { recursive: true });
    await Deno.rename(join(base, TEMPLATE_OUT), outDir);
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}

/** Relative paths ("/"-separated, sorted) of all files below `dir`; empty if it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(sub: string): Promise<void> {
    for await (const entry of Deno.readDir(join(dir, sub))) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory) await walk(rel);
      else out.push(rel);
    }
  }
  try {
    await walk("");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-for-byte comparison of a freshly generated tree against a committed one. */
export async function diffTrees(fresh: string, committed: string): Promise<StaleFile[]> {
  const want = await listFiles(fresh);
  const have = new Set(await listFiles(committed));
  const stale: StaleFile[] = [];
  for (const path of want) {
    if (!have.delete(path)) {
      stale.push({ path, kind: "missing" });
      continue;
    }
    const [a, b] = await Promise.all([
      Deno.readFile(join(fresh, path)),
      Deno.readFile(join(committed, path)),
    ]);
    if (!sameBytes(a, b)) stale.push({ path, kind: "differs" });
  }
  for (const path of have) stale.push({ path, kind: "extra" });
  return stale.sort((x, y) => x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
}

/** Generates into a temp dir and compares it with `genDir`. Empty result: up to date. */
export async function checkGenerated(
  options: { protoDir?: string; genDir?: string } = {},
): Promise<StaleFile[]> {
  const tmp = await Deno.makeTempDir({ prefix: "evochora-proto-check-" });
  try {
    const fresh = join(tmp, "gen");
    await generateInto(fresh, options.protoDir ?? PROTO_DIR);
    return await diffTrees(fresh, options.genDir ?? GEN_DIR);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Regenerates `genDir`, touching only files whose bytes change. Returns what changed. */
export async function regenerate(genDir: string = GEN_DIR): Promise<StaleFile[]> {
  const tmp = await Deno.makeTempDir({ prefix: "evochora-proto-gen-" });
  try {
    const fresh = join(tmp, "gen");
    await generateInto(fresh);
    const stale = await diffTrees(fresh, genDir);
    for (const { path, kind } of stale) {
      const target = join(genDir, ...path.split("/"));
      if (kind === "extra") {
        await Deno.remove(target);
        await removeEmptyParents(dirname(target), genDir);
      } else {
        await Deno.mkdir(dirname(target), { recursive: true });
        await Deno.writeFile(target, await Deno.readFile(join(fresh, ...path.split("/"))));
      }
    }
    return stale;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function removeEmptyParents(dir: string, stop: string): Promise<void> {
  while (dir.length > stop.length && dir.startsWith(stop + SEPARATOR)) {
    for await (const _ of Deno.readDir(dir)) return;
    await Deno.remove(dir);
    dir = dirname(dir);
  }
}

function shown(genDir: string, path: string): string {
  return `${relative(REPO_ROOT, genDir).split(SEPARATOR).join("/")}/${path}`;
}

/** Human-readable list of stale files, one per line. */
export function describeStale(stale: StaleFile[], genDir: string = GEN_DIR): string {
  const why = {
    differs: "differs from what the .proto files generate",
    missing: "missing: generated but not committed",
    extra: "extra: no .proto file generates it",
  } as const;
  return stale.map(({ path, kind }) => `  ${shown(genDir, path)}  (${why[kind]})`).join("\n");
}

function describeWritten(changed: StaleFile[]): string {
  const verb = { differs: "updated", missing: "created", extra: "removed" } as const;
  return changed.map(({ path, kind }) => `  ${verb[kind]} ${shown(GEN_DIR, path)}`).join("\n");
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(" ")}\nusage: deno task proto [--check]`);
    return 2;
  }
  if (args.includes("--check")) {
    const stale = await checkGenerated();
    if (stale.length > 0) {
      console.error(
        `proto/gen is stale (${stale.length} file(s)); run \`deno task proto\`:\n` +
          describeStale(stale),
      );
      return 1;
    }
    console.log("proto/gen is up to date");
    return 0;
  }
  const changed = await regenerate();
  if (changed.length === 0) console.log("proto/gen already up to date");
  else console.log(`proto/gen regenerated:\n${describeWritten(changed)}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
