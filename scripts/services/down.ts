// `deno task services:down`: stops the Kafka broker and the SeaweedFS server that
// `services:up` started (by their PID files). Idempotent: nothing running is not an error.

import { allPorts, HOST, loadConfig } from "./config.ts";
import { say, ServiceError, waitPortsFree } from "./_proc.ts";
import { stopKafka } from "./kafka.ts";
import { stopSeaweedfs } from "./seaweedfs.ts";

try {
  const cfg = loadConfig();
  const [kafka, s3] = await Promise.all([stopKafka(cfg), stopSeaweedfs(cfg)]);
  await Deno.remove(cfg.envFile).catch(() => {});
  if (kafka || s3) {
    const busy = await waitPortsFree(HOST, allPorts(cfg), 10_000);
    if (busy.length > 0) {
      throw new ServiceError(
        `stopped, but still in use: ${busy.map(([n, p]) => `${p} (${n})`).join(", ")}`,
      );
    }
  }
  say(kafka || s3 ? "stopped" : "nothing was running");
} catch (e) {
  say(`error: ${e instanceof ServiceError ? e.message : e instanceof Error ? e.stack : String(e)}`);
  Deno.exit(1);
}
