import assert from "node:assert/strict";
import { parse } from "yaml";
import kafkaS3 from "../config/kafka-s3.config.ts";
import { resolveConfig } from "../services/runner/mod.ts";

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  depends_on?: Record<string, unknown>;
}

Deno.test("compose.yaml runs services of config/kafka-s3.config.ts with the seed's variables", async () => {
  const text = await Deno.readTextFile(new URL("../compose.yaml", import.meta.url));
  const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService> };
  // The bucket normally comes from EVOCHORA_S3_BUCKET; name one so this test needs no env.
  const cfg = structuredClone(kafkaS3);
  const storage = cfg.resources["tick-storage"];
  if (storage?.kind === "s3") storage.bucket = "evochora";
  const config = resolveConfig(cfg);
  const started = new Set<string>();
  for (const [name, s] of Object.entries(compose.services)) {
    const cmd = s.command ?? [];
    if (cmd[0] !== "task" || cmd[1] !== "service") continue;
    const service = cmd[2]!;
    assert.ok(config.services[service], `${name} runs unknown service '${service}'`);
    assert.equal(cmd[cmd.indexOf("--config") + 1], "config/kafka-s3.config.ts");
    for (
      const v of [
        "REDPANDA_BOOTSTRAP_SERVERS",
        "AWS_ENDPOINT",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
      ]
    ) {
      assert.ok(s.environment?.[v], `${name} lacks ${v}`);
    }
    started.add(config.services[service]!.kind);
  }
  assert.deepEqual([...started].sort(), [
    "metadata-persistence",
    "persistence",
    "simulation-engine",
  ]);
  assert.ok(
    (compose.services.persistence?.deploy?.replicas ?? 1) > 1,
    "competing persistence replicas",
  );
  assert.ok(compose.services.redpanda && compose.services.minio);
});
