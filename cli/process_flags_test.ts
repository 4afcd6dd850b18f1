import assert from "node:assert/strict";
import { resolveConfig } from "../services/runner/config.ts";
import { childEnv, MALLOC_ENV, MALLOC_ENV_WORDS, V8_FLAGS_ARG } from "./process_flags.ts";
import { planChildren } from "./service_launcher.ts";

Deno.test("the evochora, dev and service tasks start deno with the processes' allocator settings and V8 flags", async () => {
  const deno = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  for (const task of ["evochora", "dev", "service"]) {
    const words = deno.tasks[task]!.split(" && ").at(-1)!.split(/\s+/);
    const n = MALLOC_ENV_WORDS.length;
    assert.deepEqual(words.slice(0, n), MALLOC_ENV_WORDS, `task '${task}'`);
    assert.deepEqual(words.slice(n, n + 3), ["deno", "run", V8_FLAGS_ARG], `task '${task}'`);
  }
});

Deno.test("every child of 'evochora service' starts with the processes' V8 flags", () => {
  const config = resolveConfig({
    resources: { store: { kind: "filesystem", root: "/data" } },
    services: { "http-api": { kind: "http-api", storage: "store", port: 0 } },
  });
  const [child] = planChildren({
    config,
    services: ["http-api"],
    configPath: "/etc/p.config.ts",
    env: () => undefined,
    engineArgs: [],
    commonArgs: [],
    deno: "/bin/deno",
  });
  assert.ok(child!.command.includes(V8_FLAGS_ARG), child!.command.join(" "));
});

Deno.test("a child's environment adds the allocator settings its parent does not set", () => {
  assert.deepEqual(childEnv(() => undefined), MALLOC_ENV);
  const own = childEnv((n) => (n === "MALLOC_ARENA_MAX" ? "4" : undefined));
  assert.deepEqual(own, { MALLOC_MMAP_THRESHOLD_: MALLOC_ENV.MALLOC_MMAP_THRESHOLD_ });
});
