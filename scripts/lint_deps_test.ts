import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lintDeps, type Violation } from "./lint_deps.ts";

/** The source files of a small project, by path; each value is its lines. */
type Files = Record<string, readonly string[]>;

/** Lays `files` out in a fresh temporary project with an empty deno.json. */
async function project(files: Files): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "lint_deps_test_" });
  await Deno.writeTextFile(join(root, "deno.json"), "{}\n");
  for (const [path, lines] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(root, path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), lines.join("\n") + "\n");
  }
  return root;
}

/** The violations lint:deps finds in a temporary project made of `files`. */
async function violationsOf(files: Files): Promise<readonly Violation[]> {
  const root = await project(files);
  try {
    return (await lintDeps(root)).violations;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Where and which: the parts of a violation every test pins down exactly. */
function located(violations: readonly Violation[]): { file: string; line: number; rule: string }[] {
  return violations.map(({ file, line, rule }) => ({ file, line, rule }));
}

const EXPORT = ["export const value = 1;"];

/** A module exporting one constant named `name`. */
function EXPORT_AS(name: string): string[] {
  return [`export const ${name} = 1;`];
}

Deno.test("lint:deps reports a service importing another service with file:line", async () => {
  const violations = await violationsOf({
    "services/a/x.ts": ["// a comment first", 'import { value } from "../b/y.ts";', "value;"],
    "services/b/y.ts": EXPORT,
  });
  assert.deepEqual(located(violations), [
    { file: "services/a/x.ts", line: 2, rule: "service-imports-service" },
  ]);
  assert.match(violations[0]!.message, /services\/a\/x\.ts imports services\/b\/y\.ts/);
});

Deno.test("lint:deps counts a type-only import between services as an import", async () => {
  const violations = await violationsOf({
    "services/a/x.ts": ['import type { Y } from "../b/y.ts";', "export type X = Y;"],
    "services/b/y.ts": ["export type Y = number;"],
  });
  assert.deepEqual(located(violations), [
    { file: "services/a/x.ts", line: 1, rule: "service-imports-service" },
  ]);
});

Deno.test("lint:deps reports a service importing the runner, which is the wiring", async () => {
  const violations = await violationsOf({
    "services/a/x.ts": ["", "", 'import { value } from "../runner/service.ts";', "value;"],
    "services/runner/service.ts": EXPORT,
  });
  assert.deepEqual(located(violations), [
    { file: "services/a/x.ts", line: 3, rule: "service-imports-service" },
  ]);
  assert.match(violations[0]!.message, /services\/runner\/service\.ts/);
});

Deno.test("lint:deps reports a service importing a resource implementation", async () => {
  const violations = await violationsOf({
    "services/a/x.ts": [
      'import type { Queue } from "../../resources/queue/queue.ts";',
      'import { MemoryQueue } from "../../resources/queue/memory_queue.ts";',
      "export const q: Queue = new MemoryQueue();",
    ],
    "resources/queue/queue.ts": ["export interface Queue {}"],
    "resources/queue/memory_queue.ts": [
      'import type { Queue } from "./queue.ts";',
      "export class MemoryQueue implements Queue {}",
    ],
  });
  assert.deepEqual(located(violations), [
    { file: "services/a/x.ts", line: 2, rule: "service-imports-resource-implementation" },
  ]);
  assert.match(violations[0]!.message, /services\/a\/x\.ts .*resources\/queue\/memory_queue\.ts/);
});

Deno.test("lint:deps reports services/common importing a resource implementation", async () => {
  const violations = await violationsOf({
    "services/common/c.ts": ['export * from "../../resources/queue/memory_queue.ts";'],
    "resources/queue/memory_queue.ts": EXPORT,
  });
  assert.deepEqual(located(violations), [
    { file: "services/common/c.ts", line: 1, rule: "service-imports-resource-implementation" },
  ]);
});

Deno.test("lint:deps reports a resource importing a service", async () => {
  const violations = await violationsOf({
    "resources/queue/memory_queue.ts": [
      "",
      'import { value } from "../../services/a/x.ts";',
      "value;",
    ],
    "services/a/x.ts": EXPORT,
  });
  assert.deepEqual(located(violations), [
    { file: "resources/queue/memory_queue.ts", line: 2, rule: "resource-imports-service" },
  ]);
  assert.match(violations[0]!.message, /resources\/queue\/memory_queue\.ts .*services\/a\/x\.ts/);
});

Deno.test("lint:deps reports the engine runtime importing even a resource interface", async () => {
  const violations = await violationsOf({
    "services/simulation_engine/runtime/r.ts": [
      'import type { Queue } from "../../../resources/queue/queue.ts";',
      "export type R = Queue;",
    ],
    "resources/queue/queue.ts": ["export interface Queue {}"],
  });
  assert.deepEqual(located(violations), [
    { file: "services/simulation_engine/runtime/r.ts", line: 1, rule: "runtime-imports-resource" },
  ]);
  assert.match(violations[0]!.message, /runtime\/r\.ts imports resources\/queue\/queue\.ts/);
});

Deno.test("lint:deps reports a private file imported from another folder, tests too", async () => {
  const violations = await violationsOf({
    "resources/x/_p.ts": EXPORT,
    "resources/x/same_folder.ts": ['import { value } from "./_p.ts";', "value;"],
    "resources/y/z.ts": ['import { value } from "../x/_p.ts";', "value;"],
    "resources/y/z_test.ts": ["", 'import { value } from "../x/_p.ts";', "value;"],
  });
  assert.deepEqual(located(violations), [
    { file: "resources/y/z.ts", line: 1, rule: "private-across-folders" },
    { file: "resources/y/z_test.ts", line: 2, rule: "private-across-folders" },
  ]);
  assert.match(violations[0]!.message, /resources\/y\/z\.ts imports resources\/x\/_p\.ts/);
});

Deno.test("lint:deps reports an import cycle once, as its chain, at its first import", async () => {
  const violations = await violationsOf({
    "lib/a.ts": ['import { b } from "./b.ts";', "export const a = () => b;"],
    "lib/b.ts": ['import { c } from "./c.ts";', "export const b = () => c;"],
    "lib/c.ts": ["", "", 'import { a } from "./a.ts";', "export const c = () => a;"],
  });
  assert.deepEqual(located(violations), [{ file: "lib/a.ts", line: 1, rule: "import-cycle" }]);
  assert.equal(
    violations[0]!.message,
    "runtime cycle lib/a.ts -> lib/b.ts -> lib/c.ts -> lib/a.ts",
  );
});

Deno.test("lint:deps names a cycle through a type-only import a type-level cycle", async () => {
  const violations = await violationsOf({
    "lib/d.ts": ['import type { E } from "./e.ts";', "export type D = { e?: E };"],
    "lib/e.ts": ['import { type D } from "./d.ts";', "export type E = { d?: D };"],
  });
  assert.deepEqual(located(violations), [{ file: "lib/d.ts", line: 1, rule: "import-cycle" }]);
  assert.equal(
    violations[0]!.message,
    "type-level cycle lib/d.ts -> lib/e.ts -> lib/d.ts (type-only imports: lib/d.ts -> lib/e.ts)",
  );
});

Deno.test("lint:deps shows every import of a tangle in some reported cycle", async () => {
  // Two cycles share a -> b: b -> a closes one, b -> c -> a the other.
  const violations = await violationsOf({
    "lib/a.ts": ['import "./b.ts";'],
    "lib/b.ts": ['import "./a.ts";', 'import "./c.ts";'],
    "lib/c.ts": ['import "./a.ts";'],
  });
  assert.deepEqual(violations.map((v) => v.message), [
    "runtime cycle lib/a.ts -> lib/b.ts -> lib/a.ts",
    "runtime cycle lib/a.ts -> lib/b.ts -> lib/c.ts -> lib/a.ts",
  ]);
});

Deno.test("lint:deps reports nothing for the allowed imports", async () => {
  const violations = await violationsOf({
    "services/a/x.ts": [
      'import "node:path";',
      'import "npm:hono@4";',
      'import "jsr:@std/assert@1";',
      'import "data:text/javascript,export default 1;";',
      'import "./x2.ts";',
      'import "../common/c.ts";',
      'import "../../resources/queue/queue.ts";',
      'import "../../resources/storage/zstd.ts";',
    ],
    "services/a/x2.ts": EXPORT,
    "services/a/x_test.ts": [
      'import "../b/y.ts";',
      'import "../../resources/queue/memory_queue.ts";',
    ],
    "services/a/_test_run.ts": ['import "../b/y.ts";', 'import "../runner/wire.ts";'],
    "services/a/x_bench.ts": ['import "../../resources/queue/memory_queue.ts";'],
    "services/b/y.ts": EXPORT,
    "services/common/c.ts": ['import "../../resources/topic/topic.ts";'],
    "services/runner/wire.ts": [
      'import "../a/x.ts";',
      'import "../b/y.ts";',
      'import "../../resources/queue/memory_queue.ts";',
    ],
    "services/simulation_engine/runtime/r.ts": ['import "./_private.ts";'],
    "services/simulation_engine/runtime/_private.ts": EXPORT,
    "resources/queue/queue.ts": EXPORT,
    "resources/queue/memory_queue.ts": ['import "./queue.ts";', 'import "./_log.ts";'],
    "resources/queue/_log.ts": EXPORT,
    "resources/storage/zstd.ts": EXPORT,
    "resources/topic/topic.ts": ['import "../queue/queue.ts";'],
    "cli/main.ts": [
      'import "../services/runner/wire.ts";',
      'import "../resources/queue/memory_queue.ts";',
    ],
    "tests/e2e_test.ts": ['import "../services/b/y.ts";'],
    // Generated and hidden files are not checked: these would break two rules.
    "proto/gen/g.ts": [
      'import "../../services/a/x.ts";',
      'import "../../resources/queue/_log.ts";',
    ],
    ".cache/h.ts": ['import "../resources/queue/_log.ts";'],
    "web/node_modules/m.ts": ['import "../../resources/queue/_log.ts";'],
  });
  assert.deepEqual(violations, []);
});

Deno.test("lint:deps exits 1 with file:line lines and a summary, 0 when clean", async () => {
  const script = fileURLToPath(new URL("./lint_deps.ts", import.meta.url));
  const run = async (files: Files) => {
    const root = await project(files);
    try {
      const args = ["run", "--allow-read", "--allow-write", "--allow-run", script, "--root", root];
      const output = await new Deno.Command(Deno.execPath(), { args, stdin: "null" }).output();
      return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  };
  const bad = await run({ "services/a/x.ts": ['import "../b/y.ts";'], "services/b/y.ts": EXPORT });
  assert.equal(bad.code, 1);
  const [line, summary] = bad.stdout.trimEnd().split("\n");
  assert.match(
    line!,
    /^services\/a\/x\.ts:1: service-imports-service: services\/a\/x\.ts imports /,
  );
  assert.match(summary!, /^lint:deps: 1 violation \(service-imports-service 1\) among 2 files/);
  const good = await run({ "services/a/x.ts": ['import "./y.ts";'], "services/a/y.ts": EXPORT });
  assert.equal(good.code, 0);
  assert.match(good.stdout, /^lint:deps: ok, no violations among 2 files/);
});

Deno.test("lint:deps fails, naming the file, when a file cannot be parsed", async () => {
  const root = await project({
    "services/a/x.ts": ['import "../b/y.ts";', "export const = ;"],
    "services/b/y.ts": EXPORT,
  });
  try {
    await assert.rejects(lintDeps(root), /services\/a\/x\.ts/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lint:deps reports codec/ importing anything but proto/ and codec/", async () => {
  const violations = await violationsOf({
    "codec/a.ts": [
      'import { p } from "../proto/p.ts";',
      'import { b } from "./b.ts";',
      'import { s } from "../services/x/s.ts";',
      "export const a = [p, b, s];",
    ],
    "codec/b.ts": EXPORT_AS("b"),
    "proto/p.ts": EXPORT_AS("p"),
    "services/x/s.ts": EXPORT_AS("s"),
  });
  assert.deepEqual(located(violations), [
    { file: "codec/a.ts", line: 3, rule: "codec-imports-beyond-proto" },
  ]);
});
