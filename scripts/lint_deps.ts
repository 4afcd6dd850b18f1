/**
 * `deno task lint:deps`: checks the import graph of the project's own files against the
 * dependency rules in scripts/_lint_deps_rules.ts and reports import cycles.
 *
 *   deno task lint:deps                 check the repository
 *   deno task lint:deps --root <dir>    check another tree laid out the same way
 *
 * Every `.ts` file under the root (except the skipped folders) becomes a root of one
 * `deno info --json` call, through a generated entry module that imports them all, so one
 * process resolves the whole graph, with the project's deno.json import map. Only `file:`
 * edges between files under the root count; npm:, jsr:, node:, data: and remote modules are
 * not resolved at all (`--no-npm --no-remote`), which keeps the run offline and fast.
 *
 * Prints one line per violation, `path/to/file.ts:LINE: <rule>: <message>`, then a summary;
 * exits 1 when there is a violation, 2 when the graph could not be built, 0 otherwise.
 *
 * @module
 */

import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  CYCLE_EDGE_KINDS,
  CYCLE_RULE,
  type Edge,
  EDGE_RULES,
  type EdgeKind,
  isTestFile,
  SKIPPED_FOLDER_NAMES,
  SKIPPED_FOLDERS,
  SOURCE_FILE,
} from "./_lint_deps_rules.ts";

/** One broken rule, located at the import that breaks it. */
export interface Violation {
  /** The importing file, relative to the root. */
  readonly file: string;
  /** 1-based line of the import in `file`. */
  readonly line: number;
  /** The rule's name (an EDGE_RULES id or CYCLE_RULE). */
  readonly rule: string;
  /** What is wrong, naming both files (or the whole chain of a cycle). */
  readonly message: string;
}

/** What one check found. */
export interface DepsReport {
  /** The source files checked, relative to the root, sorted. */
  readonly files: readonly string[];
  /** Every violation, sorted by file, line and rule. */
  readonly violations: readonly Violation[];
}

/** The parts of `deno info --json` read here (its "span" lines are 0-based). */
interface DenoInfo {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly InfoDependency[];
    /** Set when deno could not load or parse the module (its imports are then unknown). */
    readonly error?: string;
  }[];
}

interface InfoDependency {
  readonly isDynamic?: boolean;
  readonly code?: InfoResolution;
  readonly type?: InfoResolution;
}

interface InfoResolution {
  readonly specifier?: string;
  readonly span?: { readonly start: { readonly line: number } };
}

/** The source files under `root` (a real path), relative to it with `/`, sorted. */
export async function listSourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const pending = [""];
  for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
    for await (const entry of Deno.readDir(join(root, folder))) {
      // Symlinks are skipped: they could loop, and what they point to is checked where it is.
      if (entry.isSymlink || entry.name.startsWith(".")) continue;
      const path = folder + entry.name;
      if (entry.isDirectory) {
        const skipped = SKIPPED_FOLDERS.includes(`${path}/`) ||
          SKIPPED_FOLDER_NAMES.includes(entry.name);
        if (!skipped) pending.push(`${path}/`);
      } else if (entry.isFile && SOURCE_FILE.test(entry.name)) files.push(path);
    }
  }
  return files.sort();
}

/** The config `deno info` must use to resolve the project's import map, as flags. */
async function configFlags(root: string): Promise<string[]> {
  for (const name of ["deno.json", "deno.jsonc"]) {
    const path = join(root, name);
    try {
      if ((await Deno.stat(path)).isFile) return ["--config", path];
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  // Without it, deno would look for a config above the temporary entry instead.
  return ["--no-config"];
}

/** Runs one `deno info --json` over every file, through a generated entry module. */
async function denoInfo(root: string, files: readonly string[]): Promise<DenoInfo> {
  // A file, not a data: URL argument, so the size of the project is not bounded by argv.
  const entry = await Deno.makeTempFile({ prefix: "lint_deps_entry_", suffix: ".ts" });
  try {
    const imports = files.map((file) => `import ${JSON.stringify(fileUrl(root, file))};`);
    await Deno.writeTextFile(entry, imports.join("\n") + "\n");
    const args = ["info", "--json", "--no-npm", "--no-remote", "--no-lock"];
    const output = await new Deno.Command(Deno.execPath(), {
      args: [...args, ...await configFlags(root), entry],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (!output.success) throw new Error(`deno info failed (exit ${output.code}): ${stderr}`);
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as DenoInfo;
    if (!Array.isArray(info.modules)) throw new Error("deno info --json printed no modules");
    return info;
  } finally {
    await Deno.remove(entry);
  }
}

function fileUrl(root: string, file: string): string {
  return pathToFileURL(join(root, ...file.split("/"))).href;
}

/** The path of a `file:` specifier relative to `root` with `/`, or undefined when not under it. */
function localPath(root: string, specifier: string): string | undefined {
  if (!specifier.startsWith("file:")) return undefined;
  const path = relative(root, fileURLToPath(specifier));
  if (path === "" || path.startsWith("..") || isAbsolute(path)) return undefined;
  return path.split(sep).join("/");
}

/**
 * Fails when one of `files` could not be parsed: its imports would be missing from the graph,
 * and a check that silently skips a file would pass what it cannot see.
 */
function assertAllParsed(info: DenoInfo, root: string, files: ReadonlySet<string>): void {
  const failures = info.modules.flatMap((module) => {
    const path = localPath(root, module.specifier);
    return path !== undefined && files.has(path) && module.error ? [module.error] : [];
  });
  if (failures.length > 0) throw new Error(`cannot read every file:\n${failures.join("\n")}`);
}

/**
 * The imports between local files, one edge per (importer, imported) pair, from the importers
 * in `files` only: generated or skipped files are import targets but never checked themselves.
 */
function edgesOf(info: DenoInfo, root: string, files: ReadonlySet<string>): Edge[] {
  const edges = new Map<string, { from: string; to: string; line: number; kinds: Set<EdgeKind> }>();
  for (const module of info.modules) {
    const from = localPath(root, module.specifier);
    if (from === undefined || !files.has(from)) continue;
    for (const dependency of module.dependencies ?? []) {
      const resolutions: [EdgeKind, InfoResolution | undefined][] = [
        [dependency.isDynamic ? "dynamic" : "code", dependency.code],
        ["type", dependency.type],
      ];
      for (const [kind, resolved] of resolutions) {
        const to = resolved?.specifier && localPath(root, resolved.specifier);
        if (!to || !resolved?.span) continue;
        const line = resolved.span.start.line + 1;
        const key = `${from}\n${to}`;
        const edge = edges.get(key);
        if (edge === undefined) edges.set(key, { from, to, line, kinds: new Set([kind]) });
        else {
          edge.line = Math.min(edge.line, line);
          edge.kinds.add(kind);
        }
      }
    }
  }
  return [...edges.values()];
}

/** The violations of the edge rules table. */
export function ruleViolations(edges: readonly Edge[]): Violation[] {
  const violations: Violation[] = [];
  for (const edge of edges) {
    for (const rule of EDGE_RULES) {
      if (rule.exemptsTests && isTestFile(edge.from)) continue;
      const message = rule.check(edge);
      if (message !== undefined) {
        violations.push({ file: edge.from, line: edge.line, rule: rule.id, message });
      }
    }
  }
  return violations;
}

/** Tarjan's strongly connected components of `graph`, each sorted, in a stable order. */
export function stronglyConnected(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    components.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.sort((a, b) => compare(a[0]!, b[0]!));
}

/** The shortest path `from` ... `to` inside `within` (breadth first, neighbours in order). */
function shortestPath(
  graph: ReadonlyMap<string, readonly string[]>,
  from: string,
  to: string,
  within: ReadonlySet<string>,
): string[] | undefined {
  const previous = new Map<string, string | undefined>([[from, undefined]]);
  for (let queue = [from], head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    if (node === to) {
      const path = [node];
      for (let p = previous.get(node); p !== undefined; p = previous.get(p)) path.push(p);
      return path.reverse();
    }
    for (const next of graph.get(node) ?? []) {
      if (within.has(next) && !previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return undefined;
}

/** `nodes` (a cycle without its closing node) rotated to start at its smallest file. */
function canonicalCycle(nodes: readonly string[]): string[] {
  let start = 0;
  nodes.forEach((node, i) => {
    if (compare(node, nodes[start]!) < 0) start = i;
  });
  return [...nodes.slice(start), ...nodes.slice(0, start)];
}

/**
 * Concrete cycles of one strongly connected component, enough that every import inside it
 * appears in at least one: for each edge u -> v not yet shown, u -> v then the shortest way
 * back to u. Listing every elementary cycle instead could be exponential.
 */
function cyclesOf(
  component: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
): string[][] {
  const within = new Set(component);
  const shown = new Set<string>();
  const cycles: string[][] = [];
  for (const from of component) {
    for (const to of graph.get(from) ?? []) {
      if (!within.has(to) || shown.has(`${from}\n${to}`)) continue;
      const back = shortestPath(graph, to, from, within);
      if (back === undefined) continue;
      const cycle = canonicalCycle(from === to ? [from] : [from, ...back.slice(0, -1)]);
      cycle.forEach((node, i) => shown.add(`${node}\n${cycle[(i + 1) % cycle.length]}`));
      cycles.push(cycle);
    }
  }
  return cycles;
}

/** Every non-trivial strongly connected component, shown as concrete cycles. */
export function cycleViolations(edges: readonly Edge[]): Violation[] {
  const followed = edges.filter((edge) => CYCLE_EDGE_KINDS.some((kind) => edge.kinds.has(kind)));
  const byPair = new Map(followed.map((edge) => [`${edge.from}\n${edge.to}`, edge]));
  const graph = new Map<string, string[]>();
  for (const { from, to } of followed) {
    graph.set(from, [...graph.get(from) ?? [], to]);
    if (!graph.has(to)) graph.set(to, []);
  }
  for (const targets of graph.values()) targets.sort(compare);
  const violations: Violation[] = [];
  for (const component of stronglyConnected(graph)) {
    for (const cycle of cyclesOf(component, graph)) {
      const links = cycle.map((node, i) =>
        byPair.get(`${node}\n${cycle[(i + 1) % cycle.length]}`)!
      );
      violations.push({
        file: cycle[0]!,
        line: links[0]!.line,
        rule: CYCLE_RULE,
        message: describeCycle(cycle, links),
      });
    }
  }
  return violations;
}

/** The chain of a cycle, and whether it exists at runtime (a type-only import erases it). */
function describeCycle(cycle: readonly string[], links: readonly Edge[]): string {
  const chain = [...cycle, cycle[0]!].join(" -> ");
  const typeOnly = links.filter((link) => !link.kinds.has("code") && !link.kinds.has("dynamic"));
  const dynamic = links.filter((link) => !link.kinds.has("code") && link.kinds.has("dynamic"));
  const list = (ls: readonly Edge[]) => ls.map((l) => `${l.from} -> ${l.to}`).join(", ");
  if (typeOnly.length > 0) {
    return `type-level cycle ${chain} (type-only imports: ${list(typeOnly)})`;
  }
  if (dynamic.length > 0) return `lazy runtime cycle ${chain} (dynamic imports: ${list(dynamic)})`;
  return `runtime cycle ${chain}`;
}

/** Orders strings by UTF-16 code units, independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Checks the tree at `root`: lists its source files, resolves their imports with one
 * `deno info --json` and applies the edge rules and the cycle check.
 */
export async function lintDeps(root: string): Promise<DepsReport> {
  const realRoot = await Deno.realPath(root);
  const files = await listSourceFiles(realRoot);
  if (files.length === 0) return { files, violations: [] };
  const info = await denoInfo(realRoot, files);
  const sources = new Set(files);
  assertAllParsed(info, realRoot, sources);
  const edges = edgesOf(info, realRoot, sources);
  const violations = [...ruleViolations(edges), ...cycleViolations(edges)].sort((a, b) =>
    compare(a.file, b.file) || a.line - b.line || compare(a.rule, b.rule) ||
    compare(a.message, b.message)
  );
  return { files, violations };
}

/** The `path:LINE: rule: message` line of a violation. */
export function formatViolation(violation: Violation): string {
  return `${violation.file}:${violation.line}: ${violation.rule}: ${violation.message}`;
}

/** The closing line: how many violations of each rule, among how many files. */
export function summary(report: DepsReport, milliseconds: number): string {
  const time = `${(milliseconds / 1000).toFixed(2)} s`;
  const count = report.violations.length;
  if (count === 0) {
    return `lint:deps: ok, no violations among ${report.files.length} files (${time})`;
  }
  const perRule = new Map<string, number>();
  for (const { rule } of report.violations) perRule.set(rule, (perRule.get(rule) ?? 0) + 1);
  const rules = [...perRule].map(([rule, n]) => `${rule} ${n}`).join(", ");
  return `lint:deps: ${count} violation${count === 1 ? "" : "s"} (${rules}) among ` +
    `${report.files.length} files (${time})`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { root: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("usage: deno task lint:deps [--root <dir>]");
    Deno.exit(0);
  }
  const start = performance.now();
  try {
    const report = await lintDeps(values.root ?? fileURLToPath(new URL("..", import.meta.url)));
    for (const violation of report.violations) console.log(formatViolation(violation));
    console.log(summary(report, performance.now() - start));
    Deno.exit(report.violations.length > 0 ? 1 : 0);
  } catch (error) {
    console.error(`lint:deps: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(2);
  }
}
