/**
 * compose.yaml against config/kafka-s3.config.ts, service by service: every service of the
 * config runs in a container of its own name with the command `deno task service <name>
 * --config config/kafka-s3.config.ts` (permissions come from the task, none are written in
 * compose), with the Kafka and S3 settings, after Redpanda and the bucket are ready; compose
 * runs no service the config lacks; the API publishes its port, may be reached from outside
 * its container only with a token, and has a health check on a route the API answers.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import kafkaS3 from "../config/kafka-s3.config.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { createApp } from "../services/api/app.ts";
import { resolveConfig, type ResolvedConfig } from "../services/runner/mod.ts";

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
}

interface Compose {
  services: Record<string, ComposeService>;
}

const CONFIG_FILE = "config/kafka-s3.config.ts";
/** What every service container needs: the broker, the S3 server and the bucket. */
const SETTINGS = [
  "REDPANDA_BOOTSTRAP_SERVERS",
  "AWS_ENDPOINT",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "EVOCHORA_S3_BUCKET",
];

async function compose(): Promise<Compose> {
  const text = await Deno.readTextFile(new URL("../compose.yaml", import.meta.url));
  return parse(text, { merge: true }) as Compose;
}

/** The shipped config resolved; the bucket normally comes from EVOCHORA_S3_BUCKET. */
function config(): ResolvedConfig {
  const cfg = structuredClone(kafkaS3);
  const storage = cfg.resources["tick-storage"];
  if (storage?.kind === "s3") storage.bucket = "evochora";
  return resolveConfig(cfg);
}

/** The compose services that run an Evochora service: compose name -> its command. */
function serviceContainers(c: Compose): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, s] of Object.entries(c.services)) {
    const cmd = typeof s.command === "string" ? s.command.split(/\s+/) : s.command ?? [];
    if (cmd.includes("service") || cmd.includes(CONFIG_FILE)) out.set(name, cmd);
  }
  return out;
}

Deno.test("compose.yaml runs every service of config/kafka-s3.config.ts, each as `deno task service <name>`, and nothing else", async () => {
  const c = await compose();
  const cfg = config();
  const containers = serviceContainers(c);
  assert.deepEqual([...containers.keys()].sort(), Object.keys(cfg.services).sort());
  for (const [name, cmd] of containers) {
    assert.deepEqual(
      cmd,
      ["deno", "task", "service", name, "--config", CONFIG_FILE],
      `${name}: the task applies the permissions; no flags of its own`,
    );
    const s = c.services[name]!;
    assert.match(s.image ?? "", /^denoland\/deno:/, `${name} runs on the Deno image`);
    for (const v of SETTINGS) assert.ok(s.environment?.[v], `${name} lacks ${v}`);
    assert.equal(
      s.depends_on?.redpanda?.condition,
      "service_healthy",
      `${name} waits for Redpanda`,
    );
    assert.equal(
      s.depends_on?.["minio-init"]?.condition,
      "service_completed_successfully",
      `${name} waits for the bucket`,
    );
  }
  const kinds = new Set(Object.values(cfg.services).map((s) => s.kind));
  assert.deepEqual([...kinds].sort(), [
    "http-api",
    "indexer",
    "metadata-persistence",
    "persistence",
    "simulation-engine",
  ]);
  assert.ok(
    Object.values(cfg.services).filter((s) => s.kind === "persistence").length > 1,
    "competing persistence workers",
  );
});

Deno.test("compose.yaml starts the engine after the services the config starts before it", async () => {
  const c = await compose();
  const cfg = config();
  const engine = cfg.startupSequence.find((n) => cfg.services[n]!.kind === "simulation-engine")!;
  const before = cfg.startupSequence.slice(0, cfg.startupSequence.indexOf(engine));
  const deps = c.services[engine]?.depends_on ?? {};
  for (const n of before) assert.ok(deps[n], `${engine} does not wait for ${n}`);
});

Deno.test("compose.yaml publishes the API's port, needs its token, and health-checks a route the API answers", async () => {
  const c = await compose();
  const cfg = config();
  const [name, api] = Object.entries(cfg.services).find(([, s]) => s.kind === "http-api")!;
  assert.equal(api.kind, "http-api");
  const s = c.services[name]!;
  assert.ok(s.ports?.includes(`${api.port}:${api.port}`), `${name} publishes port ${api.port}`);
  assert.equal(s.environment?.EVOCHORA_API_HOST, "0.0.0.0", "reachable through the port");
  assert.match(s.environment?.EVOCHORA_API_TOKEN ?? "", /^\$\{EVOCHORA_API_TOKEN:\?/);
  const check = (s.healthcheck?.test ?? []).join(" ");
  const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[^\s"']*)/.exec(check);
  assert.ok(url, `${name}'s health check requests no local URL: ${check}`);
  assert.equal(Number(url[1]), api.port);
  const dir = await Deno.makeTempDir({ prefix: "evochora-compose-" });
  const storage = new FilesystemStorage({ root: dir });
  try {
    const res = await createApp({ storage }).request(url[2]!);
    await res.body?.cancel();
    assert.equal(res.status, 200, `the API answers ${url[2]}`);
  } finally {
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compose.yaml has Redpanda and MinIO with health checks and creates the bucket", async () => {
  const c = await compose();
  for (const name of ["redpanda", "minio"]) {
    assert.ok(c.services[name]?.healthcheck?.test?.length, `${name} has a health check`);
  }
  const init = c.services["minio-init"] as ComposeService & { entrypoint?: string[] };
  assert.match((init.entrypoint ?? []).join(" "), /mc mb --ignore-existing local\/evochora/);
});
