import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { resolveConfig } from "./config.ts";
import {
  ANCESTOR_PROGRAM,
  derivePermissions,
  ENCODER_WORKER_MODULE_DIRS,
  INDEX_WORKER_MODULE_DIRS,
  KAFKA_ENV,
  KAFKA_PRODUCER_WORKER_MODULES,
  LOAD_ENV,
  permissionFlags,
  REPOSITORY_WEB,
  S3_ENV,
  s3Hosts,
  WORKER_SYS,
  ZSTD_WORKER_MODULES,
} from "./permissions.ts";

const SERVICES = {
  "metadata-persistence": { kind: "metadata-persistence", input: "metadata", storage: "store" },
  "persistence-1": {
    kind: "persistence",
    input: "ticks",
    storage: "store",
    notify: "batches",
  },
  "stats-indexer": { kind: "indexer", index: "stats", input: "batches", storage: "store" },
  "http-api": { kind: "http-api", storage: "store", port: 8081 },
  "engine": {
    kind: "simulation-engine",
    output: "ticks",
    metadataOutput: "metadata",
    checkpointStorage: "store",
    // Set, not the machine's default (4+ cores): the expected flags do not depend on the host.
    encodeOnWorker: false,
  },
};

const filesystem = resolveConfig({
  resources: {
    ticks: { kind: "memory-queue" },
    metadata: { kind: "memory-queue" },
    batches: { kind: "memory-topic" },
    store: { kind: "filesystem", root: "data" },
  },
  services: SERVICES,
});

const kafkaS3 = resolveConfig({
  resources: {
    ticks: { kind: "kafka-queue" },
    metadata: { kind: "kafka-queue" },
    batches: { kind: "kafka-topic" },
    store: { kind: "s3", bucket: "b", prefix: "p/" },
  },
  services: SERVICES,
});

const ENV: Record<string, string> = {
  KAFKA_BOOTSTRAP_SERVERS: "k1.example:9092,k2.example:9093",
  AWS_ENDPOINT: "http://s3.example:8333",
};

function derive(config: typeof filesystem, service: string, env: Record<string, string> = ENV) {
  return derivePermissions({
    config,
    services: [service],
    configPath: "conf/p.config.ts",
    env: (n) => env[n],
    cwd: "/srv",
  });
}

const BASE_READ = ["/srv/conf/p.config.ts", ANCESTOR_PROGRAM];

Deno.test("filesystem: writers read and write only the storage root, with no net or run, and sys only to lower their threads' priority", () => {
  for (const service of ["metadata-persistence", "stats-indexer", "engine"]) {
    // The engine compresses its batches on a zstd worker, the indexer derives its files on the
    // index thread: each loads its thread's modules.
    const threads = service === "engine"
      ? ZSTD_WORKER_MODULES
      : service === "stats-indexer"
      ? INDEX_WORKER_MODULE_DIRS
      : [];
    assert.deepEqual(derive(filesystem, service), {
      // Paths inside a readable directory (the ancestor program, in services/) are not repeated.
      read: [...BASE_READ, "/srv/data", ...threads]
        .filter((r) => !threads.some((d) => r !== d && d.endsWith("/") && r.startsWith(d)))
        .sort(),
      write: ["/srv/data"],
      net: [],
      env: [...LOAD_ENV].sort(),
      sys: threads.length > 0 ? [...WORKER_SYS] : [],
    }, service);
  }
  assert.deepEqual(
    derive(filesystem, "persistence-1").read,
    [
      ...BASE_READ,
      "/srv/data",
      ...ZSTD_WORKER_MODULES,
    ].sort(),
  );
});

Deno.test("filesystem: the API reads its root and the web client, writes nothing, listens on its address", () => {
  assert.deepEqual(derive(filesystem, "http-api"), {
    read: [...BASE_READ, "/srv/data", REPOSITORY_WEB].sort(),
    write: [],
    net: ["127.0.0.1:8081"],
    env: [...LOAD_ENV, "EVOCHORA_API_TOKEN"].sort(),
    sys: [],
  });
});

Deno.test("Kafka + S3: no disk beyond the config, net only the brokers and the endpoint", () => {
  const p = derive(kafkaS3, "persistence-1");
  assert.deepEqual(p.read, [...BASE_READ, ...ZSTD_WORKER_MODULES].sort());
  assert.deepEqual(p.write, []);
  assert.deepEqual(p.net, ["k1.example:9092", "k2.example:9093", "s3.example:8333"]);
  assert.deepEqual(p.env, [...new Set([...LOAD_ENV, ...KAFKA_ENV, ...S3_ENV])].sort());
  assert.deepEqual(p.sys, ["osRelease", ...WORKER_SYS].sort());
});

Deno.test("Kafka + S3: the API gets the endpoint and its listen address, no brokers", () => {
  const p = derive(kafkaS3, "http-api");
  assert.deepEqual(p.net, ["127.0.0.1:8081", "s3.example:8333"]);
  assert.ok(!p.env.includes("KAFKA_BOOTSTRAP_SERVERS"));
  assert.deepEqual(p.write, []);
});

Deno.test("S3 hosts: the endpoint's port or the scheme's default; AWS hosts of the region without one", () => {
  assert.deepEqual(s3Hosts("b", (n) => ({ AWS_ENDPOINT: "https://minio.lan" })[n]), [
    "minio.lan:443",
  ]);
  assert.deepEqual(s3Hosts("b", (n) => ({ AWS_REGION: "eu-west-1" })[n]), [
    "s3.eu-west-1.amazonaws.com:443",
    "b.s3.eu-west-1.amazonaws.com:443",
  ]);
});

Deno.test("Kafka without brokers in the environment is refused, naming the variable", () => {
  assert.throws(() => derive(kafkaS3, "engine", {}), /KAFKA_BOOTSTRAP_SERVERS/);
});

Deno.test("an API on port 0 may listen on any port of its host only", () => {
  const c = resolveConfig({
    resources: { store: { kind: "filesystem", root: "/d" } },
    services: {
      api: { kind: "http-api", storage: "store", port: 0, host: "0.0.0.0", token: "t".repeat(16) },
    },
  });
  const p = derive(c, "api");
  assert.deepEqual(p.net, ["0.0.0.0"]);
  assert.ok(!p.env.includes("EVOCHORA_API_TOKEN"), "a configured token reads no variable");
});

Deno.test("permission flags: one narrowed flag per non-empty list, never -A", () => {
  const flags = permissionFlags(derive(kafkaS3, "http-api"));
  assert.deepEqual(flags.map((f) => f.split("=")[0]), [
    "--allow-read",
    "--allow-net",
    "--allow-env",
    "--allow-sys",
  ]);
  assert.ok(flags.every((f) => f.includes("=")));
  assert.throws(
    () => permissionFlags({ read: ["/a,b"], write: [], net: [], env: [], sys: [] }),
    /Cannot grant --allow-read to '\/a,b'/,
  );
});

Deno.test("a status topic on Kafka lets every process reach the brokers and name its host", () => {
  const c = resolveConfig({
    resources: {
      store: { kind: "filesystem", root: "/d" },
      status: { kind: "kafka-topic" },
    },
    services: { api: { kind: "http-api", storage: "store", port: 8080 } },
    status: "status",
  });
  const p = derive(c, "api");
  assert.deepEqual(p.net, ["127.0.0.1:8080", "k1.example:9092", "k2.example:9093"]);
  assert.ok(p.env.includes("KAFKA_BOOTSTRAP_SERVERS"));
  assert.deepEqual(p.sys, ["hostname"], "heartbeats name their host");
});

Deno.test("variables the config file read are readable in every process, which evaluates it too", () => {
  const p = derivePermissions({
    config: filesystem,
    services: ["persistence-1"],
    configPath: "/c.ts",
    env: () => undefined,
    configEnv: ["EVOCHORA_API_HOST"],
  });
  assert.ok(p.env.includes("EVOCHORA_API_HOST"));
});

Deno.test("Kafka + S3: the engine may read its Kafka producer thread's modules", () => {
  const p = derive(kafkaS3, "engine");
  for (const m of KAFKA_PRODUCER_WORKER_MODULES) assert.ok(p.read.includes(m), m);
  assert.ok(!derive(filesystem, "engine").read.includes(KAFKA_PRODUCER_WORKER_MODULES[0]!));
});

Deno.test("an engine encoding on a worker may read the encoder thread's modules and lower its priority", () => {
  const withEncoder = (on: boolean) => {
    const e = filesystem.services["engine"]!;
    const services = { ...filesystem.services, engine: { ...e, encodeOnWorker: on } };
    return derive({ ...filesystem, services }, "engine");
  };
  const on = withEncoder(true);
  for (const d of ENCODER_WORKER_MODULE_DIRS) assert.ok(on.read.includes(d), d);
  for (const s of WORKER_SYS) assert.ok(on.sys.includes(s), s);
  const off = withEncoder(false);
  assert.ok(!off.read.includes(ENCODER_WORKER_MODULE_DIRS.at(-1)!));
});

/** The local modules a worker's module loads, by `deno info`. */
async function localModules(worker: URL): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(worker)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "deno info");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const local = info.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"));
  assert.ok(local.length > 10, `${local.length} local modules`);
  return local.map((m) => fileURLToPath(m));
}

Deno.test("the indexing thread's local modules all lie in the directories an indexer may read", async () => {
  for (const path of await localModules(new URL("./_index_thread.ts", import.meta.url))) {
    assert.ok(INDEX_WORKER_MODULE_DIRS.some((d) => path.startsWith(d)), `${path} is not readable`);
  }
});

Deno.test("the chunk encoder thread's local modules all lie in the directories its engine may read", async () => {
  const worker = new URL("../simulation_engine/_chunk_encoder_worker.ts", import.meta.url);
  for (const path of await localModules(worker)) {
    assert.ok(
      ENCODER_WORKER_MODULE_DIRS.some((d) => path.startsWith(d)),
      `${path} is not readable`,
    );
  }
});

Deno.test("the Kafka producer thread's local modules are all readable by an engine on Kafka", async () => {
  const worker = new URL("../../resources/kafka/_producer_thread_worker.ts", import.meta.url);
  for (const path of await localModules(worker)) {
    assert.ok(
      KAFKA_PRODUCER_WORKER_MODULES.some((d) => d.endsWith("/") ? path.startsWith(d) : path === d),
      `${path} is not readable`,
    );
  }
});
