// `deno task services:up`: provisions (once, cached under ~/.cache/evochora) and starts a
// single-node Apache Kafka broker (KRaft) and a SeaweedFS S3 server on loopback ports, waits until
// both pass a real round trip, creates the test bucket, writes the env file and prints the
// environment as NAME=value lines on stdout. Progress goes to stderr. See docs/services.md.

import { allPorts, envText, HOST, KAFKA_VERSION, loadConfig, SEAWEEDFS_RELEASE } from "./config.ts";
import { requireTool, say, seconds, ServiceError, waitPortsFree, writeAtomic } from "./_proc.ts";
import {
  kafkaProvisioned,
  provisionKafka,
  requireJava,
  startKafka,
  stopKafka,
  waitKafka,
} from "./kafka.ts";
import {
  provisionSeaweedfs,
  seaweedfsProvisioned,
  startSeaweedfs,
  stopSeaweedfs,
  waitSeaweedfs,
  writeFindings,
} from "./seaweedfs.ts";

async function main(): Promise<void> {
  const t0 = performance.now();
  const cfg = loadConfig();
  // Tools first, all at once: java always, mvn and go only for what the cache lacks.
  const needKafka = !(await kafkaProvisioned(cfg));
  const needWeed = !(await seaweedfsProvisioned(cfg));
  const missing: string[] = [];
  for (
    const check of [
      requireJava,
      ...(needKafka ? [() => requireTool("mvn")] : []),
      ...(needWeed ? [() => requireTool("go")] : []),
      () => requireTool("setsid"),
      () => requireTool("ps"),
    ]
  ) {
    try {
      await check();
    } catch (e) {
      missing.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (missing.length > 0) throw new ServiceError(`tools needed:\n  ${missing.join("\n  ")}`);

  // Every start is clean: stop what a previous `up` left running, then wipe its data.
  const [wasKafka, wasWeed] = await Promise.all([stopKafka(cfg), stopSeaweedfs(cfg)]);
  const busy = await waitPortsFree(HOST, allPorts(cfg), wasKafka || wasWeed ? 10_000 : 0);
  if (busy.length > 0) {
    throw new ServiceError(
      `ports already in use on ${HOST}: ${busy.map(([n, p]) => `${p} (${n})`).join(", ")}; ` +
        "stop whatever holds them or choose others (EVOCHORA_KAFKA_PORT, EVOCHORA_S3_PORT, ... " +
        "see docs/services.md)",
    );
  }

  const tProvision = performance.now();
  // allSettled: when one fails the other still finishes (and is cached), no build is orphaned.
  const provisioned = await Promise.allSettled([provisionKafka(cfg), provisionSeaweedfs(cfg)]);
  for (const p of provisioned) if (p.status === "rejected") throw p.reason;
  if (needKafka || needWeed) say(`provisioning took ${seconds(tProvision)}`);

  await Deno.remove(cfg.runDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(cfg.runDir, { recursive: true });

  const tStart = performance.now();
  const started: Array<() => Promise<boolean>> = [];
  try {
    const kafka = (async () => {
      const pid = await startKafka(cfg);
      started.push(() => stopKafka(cfg));
      await waitKafka(cfg, pid);
    })();
    const s3 = (async () => {
      const pid = await startSeaweedfs(cfg);
      started.push(() => stopSeaweedfs(cfg));
      return await waitSeaweedfs(cfg, pid);
    })();
    const [kafkaResult, s3Result] = await Promise.allSettled([kafka, s3]);
    if (kafkaResult.status === "rejected") throw kafkaResult.reason;
    if (s3Result.status === "rejected") throw s3Result.reason;
    const findings = s3Result.value;
    await writeFindings(cfg, findings);
    say(
      `S3 conditional writes (If-None-Match: *): PutObject ${
        findings.putIfNoneMatch ? "honoured" : "IGNORED"
      }, CompleteMultipartUpload ${findings.completeMultipartIfNoneMatch ? "honoured" : "IGNORED"}`,
    );
  } catch (e) {
    say("start failed; stopping what was started (logs stay in " + cfg.runDir + ")");
    for (const stop of started) await stop().catch(() => {});
    throw e;
  }
  say(`servers started and checked in ${seconds(tStart)}`);

  const env = envText(cfg);
  await Deno.mkdir(cfg.envFile.slice(0, cfg.envFile.lastIndexOf("/")), { recursive: true });
  await writeAtomic(cfg.envFile, env);
  say(
    `Kafka ${KAFKA_VERSION} and SeaweedFS ${SEAWEEDFS_RELEASE} are up (${seconds(t0)} in all); ` +
      `environment written to ${cfg.envFile} (use: set -a; . ${cfg.envFile}; set +a); ` +
      "stop with: deno task services:down",
  );
  await Deno.stdout.write(new TextEncoder().encode(env));
}

try {
  await main();
} catch (e) {
  say(`error: ${e instanceof ServiceError ? e.message : e instanceof Error ? e.stack : String(e)}`);
  Deno.exit(1);
}
