// `deno task services:env`: prints the NAME=value lines of the running services (the file that
// `services:up` wrote), or fails when they are not running.

import { loadConfig } from "./config.ts";
import { isAlive, readPid, say, ServiceError } from "./_proc.ts";
import { kafkaPidFile, kafkaRunDir } from "./kafka.ts";
import { seaweedPidFile, seaweedRunDir } from "./seaweedfs.ts";

async function main(): Promise<void> {
  const cfg = loadConfig();
  const kafkaPid = readPid(kafkaPidFile(cfg));
  const weedPid = readPid(seaweedPidFile(cfg));
  const down: string[] = [];
  if (kafkaPid === undefined || !(await isAlive(kafkaPid, kafkaRunDir(cfg)))) down.push("Kafka");
  if (weedPid === undefined || !(await isAlive(weedPid, seaweedRunDir(cfg)))) {
    down.push("SeaweedFS");
  }
  let env: string | undefined;
  try {
    env = await Deno.readTextFile(cfg.envFile);
  } catch {
    down.push(`no ${cfg.envFile}`);
  }
  if (down.length > 0 || env === undefined) {
    throw new ServiceError(
      `services are not running (${down.join(", ")}); start them with: deno task services:up`,
    );
  }
  await Deno.stdout.write(new TextEncoder().encode(env));
}

try {
  await main();
} catch (e) {
  say(`error: ${e instanceof ServiceError ? e.message : e instanceof Error ? e.stack : String(e)}`);
  Deno.exit(1);
}
