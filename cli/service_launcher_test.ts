import assert from "node:assert/strict";
import { resolveConfig } from "../services/runner/config.ts";
import { groupServices, planChildren, shellLine } from "./service_launcher.ts";

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
    groupServices(config("kafka-queue", "kafka-topic"), NAMES),
    NAMES.map((n) => [n]),
  );
  assert.deepEqual(groupServices(config("memory-queue", "memory-topic"), NAMES), [
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
  assert.deepEqual(groupServices(mixed, NAMES), [
    ["metadata-persistence", "engine"],
    ["persistence-1"],
    ["persistence-2"],
    ["stats-indexer"],
    ["http-api"],
  ]);
});

Deno.test("indexers of one storage and input share a process (one decode per batch); others do not", () => {
  const kafka = config("kafka-queue", "kafka-topic");
  const indexers = resolveConfig({
    resources: { ...kafka.resources, other: { kind: "kafka-topic" } },
    services: {
      ...SERVICES,
      "organisms-indexer": {
        kind: "indexer",
        index: "organisms",
        input: "batches",
        storage: "store",
      },
      "catalog-indexer": { kind: "indexer", index: "catalog", input: "batches", storage: "store" },
      "other-catalog": { kind: "indexer", index: "catalog", input: "other", storage: "store" },
    },
  });
  const names = Object.keys(indexers.services);
  assert.deepEqual(groupServices(indexers, names), [
    ["metadata-persistence"],
    ["persistence-1"],
    ["persistence-2"],
    ["stats-indexer", "organisms-indexer", "catalog-indexer"],
    ["http-api"],
    ["engine"],
    ["other-catalog"],
  ]);
  const specs = planChildren({
    config: indexers,
    services: ["stats-indexer", "catalog-indexer", "other-catalog"],
    configPath: "/etc/p.config.ts",
    env: (n) => ENV[n],
    engineArgs: [],
    commonArgs: [],
    deno: "/bin/deno",
  });
  assert.deepEqual(specs.map((s) => s.services), [
    ["stats-indexer", "catalog-indexer"],
    ["other-catalog"],
  ]);
  assert.ok(specs[0]!.command.some((a) => a.endsWith("services/indexer/main.ts")));
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
