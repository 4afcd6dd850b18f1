/**
 * The dependency rules that `deno task lint:deps` enforces, as data: the folder layout they
 * talk about and one table of edge rules. Adjust the rules here; scripts/lint_deps.ts only
 * walks the files, asks `deno info` for the graph and applies this table (plus the cycle
 * check, whose edge kinds are configured here too).
 *
 * Every path is relative to the repository root, uses `/`, and a folder ends with `/`.
 *
 * @module
 */

/** Folders that are not project source: neither walked as roots nor checked as importers. */
export const SKIPPED_FOLDERS: readonly string[] = ["proto/gen/", "web/dist/", "out/"];

/** Folder names skipped at any depth (as is every folder whose name starts with `.`). */
export const SKIPPED_FOLDER_NAMES: readonly string[] = ["node_modules"];

/** The names of source files. */
export const SOURCE_FILE: RegExp = /\.tsx?$/;

/** The folder whose direct subfolders are services. */
export const SERVICES_FOLDER = "services/";

/** The neutral module every service may import; it is no service itself. */
export const SHARED_SERVICE_FOLDER = "services/common/";

/** Direct subfolders of services/ that are no service: the shared module and the wiring. */
export const NON_SERVICE_FOLDERS: readonly string[] = [SHARED_SERVICE_FOLDER, "services/runner/"];

/** The resources layer: interfaces and their implementations. */
export const RESOURCES_FOLDER = "resources/";

/**
 * The resource modules a service may import: interfaces and implementation-free utilities.
 * Everything else under resources/ is an implementation, chosen by the wiring.
 */
export const RESOURCE_INTERFACES: readonly string[] = [
  "resources/queue/queue.ts",
  "resources/topic/topic.ts",
  "resources/storage/storage.ts",
  "resources/storage/message_stream.ts",
  "resources/storage/list_all_keys.ts",
  "resources/storage/zstd.ts",
  "resources/storage/transient_errors.ts",
  "resources/worker/worker_rpc.ts",
];

/** The folders outside resources/ that may import resource implementations: they wire them. */
export const IMPLEMENTATION_IMPORTERS: readonly string[] = [
  "services/runner/",
  "cli/",
  "tests/",
  "bench/",
  "scripts/",
];

/** The simulation engine's pure core, which must stay free of any resource. */
export const RUNTIME_FOLDER = "services/simulation_engine/runtime/";

/**
 * Test code, exempt from the layering rules (the `exemptsTests` rules below): tests and benches
 * wire real implementations on purpose. A helper counts as test code only when it is also private
 * (`_test_*.ts`), because then `private-across-folders` keeps it out of other folders; a public
 * `test_*.ts` could be imported by production code, so it obeys the rules like any module.
 */
export const TEST_FILE_NAMES: readonly RegExp[] = [/_test\.tsx?$/, /_bench\.tsx?$/, /^_test_/];

/** The name of the cycle rule (it is a property of the graph, not of one edge). */
export const CYCLE_RULE = "import-cycle";

/**
 * Which edges the cycle search follows. Type-only imports are erased at runtime, so a cycle
 * through one cannot break module evaluation, but it still ties the files into one knot; they
 * are followed, and the message says when a cycle is only type-level.
 */
export const CYCLE_EDGE_KINDS: readonly EdgeKind[] = ["code", "type", "dynamic"];

/**
 * How a file imports another: `code` is a static runtime import, `type` a type-only import
 * (`import type`, `export type`), `dynamic` an `import()` expression.
 */
export type EdgeKind = "code" | "type" | "dynamic";

/** One import of one local file by another, with the line of the import. */
export interface Edge {
  /** The importing file. */
  readonly from: string;
  /** The imported file. */
  readonly to: string;
  /** 1-based line of the (first) import statement's specifier in `from`. */
  readonly line: number;
  /** Every way `from` imports `to` (a file may import the same module twice, e.g. as type). */
  readonly kinds: ReadonlySet<EdgeKind>;
}

/** A rule that judges one import on its own. */
export interface EdgeRule {
  /** The name printed on each violation. */
  readonly id: string;
  /** Whether test files (see TEST_FILE_NAMES) may break this rule. */
  readonly exemptsTests: boolean;
  /** The message when `edge` breaks the rule (naming both files), undefined when it does not. */
  readonly check: (edge: Edge) => string | undefined;
}

/** Whether `path` is inside `folder` (a folder path ending with `/`). */
export function isIn(path: string, folder: string): boolean {
  return path.startsWith(folder);
}

/** The folder of `path`, with a trailing `/` ("" for a file at the root). */
export function folderOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1);
}

/** The file name of `path`, without its folder. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The direct subfolder of services/ that `path` is in (`services/x/`), or undefined. */
function servicesSubfolder(path: string): string | undefined {
  if (!isIn(path, SERVICES_FOLDER)) return undefined;
  const slash = path.indexOf("/", SERVICES_FOLDER.length);
  return slash < 0 ? undefined : path.slice(0, slash + 1);
}

/** The service folder of `path`, or undefined when it is in none (runner and common are none). */
export function serviceFolderOf(path: string): string | undefined {
  const folder = servicesSubfolder(path);
  return folder === undefined || NON_SERVICE_FOLDERS.includes(folder) ? undefined : folder;
}

/** Whether `path` is test code, which the layering rules leave alone. */
export function isTestFile(path: string): boolean {
  const name = baseName(path);
  return TEST_FILE_NAMES.some((pattern) => pattern.test(name));
}

/** Whether `path` is a service or the shared service module: the code the layering binds. */
function isServiceCode(path: string): boolean {
  return serviceFolderOf(path) !== undefined || isIn(path, SHARED_SERVICE_FOLDER);
}

/** The table of edge rules, applied to every import between two local files. */
export const EDGE_RULES: readonly EdgeRule[] = [
  {
    // A service reaches the others only through queues, topics and storage; services/common/
    // is the neutral place for what they share, and the runner wires them, so a service (or
    // common) importing the runner is the same tangle as importing another service.
    id: "service-imports-service",
    exemptsTests: true,
    check: ({ from, to }) => {
      if (!isServiceCode(from)) return undefined;
      const target = servicesSubfolder(to);
      if (target === undefined || target === SHARED_SERVICE_FOLDER) return undefined;
      if (target === servicesSubfolder(from)) return undefined;
      return `${from} imports ${to}, which belongs to ${target}; ` +
        `a service may import only its own folder and ${SHARED_SERVICE_FOLDER}`;
    },
  },
  {
    // Implementations are chosen by the wiring; everything else sees interfaces only. The
    // resources layer itself is exempt: its implementations build on each other.
    id: "service-imports-resource-implementation",
    exemptsTests: true,
    check: ({ from, to }) => {
      if (!isIn(to, RESOURCES_FOLDER) || RESOURCE_INTERFACES.includes(to)) return undefined;
      if (isIn(from, RESOURCES_FOLDER)) return undefined;
      if (IMPLEMENTATION_IMPORTERS.some((folder) => isIn(from, folder))) return undefined;
      return `${from} imports the resource implementation ${to}; only the wiring ` +
        `(${IMPLEMENTATION_IMPORTERS.join(", ")}) may, others use the interfaces ` +
        `(RESOURCE_INTERFACES in scripts/_lint_deps_rules.ts)`;
    },
  },
  {
    id: "resource-imports-service",
    exemptsTests: true,
    check: ({ from, to }) =>
      isIn(from, RESOURCES_FOLDER) && isIn(to, SERVICES_FOLDER)
        ? `${from} imports ${to}: resources must not depend on services`
        : undefined,
  },
  {
    // The engine's core must run anywhere (tests, benches, a browser) without any I/O layer.
    id: "runtime-imports-resource",
    exemptsTests: true,
    check: ({ from, to }) =>
      isIn(from, RUNTIME_FOLDER) && isIn(to, RESOURCES_FOLDER)
        ? `${from} imports ${to}: ${RUNTIME_FOLDER} must not depend on resources`
        : undefined,
  },
  {
    // The wire format's fast paths sit beside the contracts: they may build on proto/ and each
    // other only, so every layer (engine runtime, resources, services) can use them.
    id: "codec-imports-beyond-proto",
    exemptsTests: true,
    check: ({ from, to }) =>
      isIn(from, "codec/") && !isIn(to, "codec/") && !isIn(to, "proto/")
        ? `${from} imports ${to}: codec/ may import only proto/ and codec/`
        : undefined,
  },
  {
    // `_name.ts` is private to its folder; tests elsewhere must go through the public modules.
    id: "private-across-folders",
    exemptsTests: false,
    check: ({ from, to }) =>
      baseName(to).startsWith("_") && folderOf(from) !== folderOf(to)
        ? `${from} imports ${to}, which is private to ${folderOf(to) || "the root folder"}`
        : undefined,
  },
];
