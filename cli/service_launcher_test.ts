import assert from "node:assert/strict";
import { resolveConfig } from "../services/runner/config.ts";
import { groupByMemoryResources, planChildren, shellLine } from "./service_launcher.ts";

const SERVICES = {
  "metadata-persistence": { kind: "metadata-persistence", input: "metadata", storage: "store" },
  "persistence-1": { kind: "persistence", input: "ticks", storage: "store", notify: "batches" },
  "persistence-2": { kind: "persistence", input: "ticks", storage: "store", notify: "batches" },
  "stats-indexer": { kind: "indexer", index: "stats", input: "batches", storage: "store" },
  "http-api": { kind: "http-api", storage: "store", port: 0 },
  "engine": { kind: "simulation-engine", output: "ticks", metadataOutput: "metadata" },
};

function config(queue: string, topic: string) {
  return resolveConfig({
    resources: {
      ticks: { kind: queue },
      metadata: { kind: queue },
      batches: { kind: topic },
      store: { kind: "filesystem", root: "/data" },
    },
    services: SERVICES,
  });
}

const NAMES = Object.keys(SERVICES);
const ENV: Record<string, string> = { KAFKA_BOOTSTRAP_SERVERS: "127.0.0.1:9092" };

Deno.test("services on Kafka get a process each; services sharing an in-memory queue or topic share one", () => {
  assert.deepEqual(
    groupByMemoryResources(config("kafka-queue", "kafka-topic"), NAMES),
    NAMES.map((n) => [n]),
  );
  assert.deepEqual(groupByMemoryResources(config("memory-queue", "memory-topic"), NAMES), [
    ["metadata-persistence", "persistence-1", "persistence-2", "stats-indexer", "engine"],
    ["http-api"],
  ]);
  // The engine ties metadata persistence (memory queue) to the workers (Kafka) only through
  // the memory queue it shares with the former.
  const mixed = resolveConfig({
    resources: {
      ticks: { kind: "kafka-queue" },
      metadata: { kind: "memory-queue" },
      batches: { kind: "kafka-topic" },
      store: { kind: "filesystem", root: "/data" },
    },
    services: SERVICES,
  });
  assert.deepEqual(groupByMemoryResources(mixed, NAMES), [
    ["metadata-persistence", "engine"],
    ["persistence-1"],
    ["persistence-2"],
    ["stats-indexer"],
    ["http-api"],
  ]);
});

Deno.test("each process runs its kind's main.ts with narrowed flags only, never -A", () => {
  const specs = planChildren({
    config: config("kafka-queue", "kafka-topic"),
    services: NAMES,
    configPath: "/etc/p.config.ts",
    env: (n) => ENV[n],
    engineArgs: ["--run-id", "r1"],
    commonArgs: ["--json"],
    deno: "/bin/deno",
  });
  const entries = specs.map((s) => s.command.find((a) => a.endsWith("main.ts")));
  assert.deepEqual(entries.map((e) => e?.replace(/^.*\/services\//, "")), [
    "metadata_persistence/main.ts",
    "persistence/main.ts",
    "persistence/main.ts",
    "indexer/main.ts",
    "api/main.ts",
    "simulation_engine/main.ts",
  ]);
  for (const s of specs) {
    const [deno, run, ...rest] = s.command;
    assert.equal(deno, "/bin/deno");
    assert.equal(run, "run");
    const flags = rest.slice(0, rest.findIndex((a) => a.endsWith("main.ts")));
    for (const f of flags.filter((f) => f.startsWith("--allow"))) {
      assert.match(f, /^--allow-(read|write|net|env|sys)=\S+$/, `${s.services}: ${f}`);
    }
    assert.ok(!s.command.some((a) => a === "-A" || a === "--allow-all"), s.services.join());
    assert.equal(s.command.includes("--run-id"), s.services[0] === "engine");
    assert.ok(s.command.includes("--json") && s.command.at(-1) === "--exit-with-parent");
  }
  const api = specs.find((s) => s.services[0] === "http-api")!;
  assert.ok(!api.command.some((a) => a.startsWith("--allow-write")), "the API writes nothing");
});

Deno.test("a command line prints as a shell line, quoted where needed", () => {
  assert.equal(
    shellLine(["deno", "run", "--allow-read=/a,/b", "/x y/main.ts", "it's"]),
    `deno run --allow-read=/a,/b '/x y/main.ts' 'it'\\''s'`,
  );
});
