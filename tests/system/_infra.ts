/**
 * The `infra` host's servers: a Kafka broker (KRaft) and SeaweedFS S3, provisioned and started
 * by scripts/services (the code of `deno task services:up`), bound to and advertised at the
 * host's own address, with data under a directory of this run. Either can be stopped and
 * started again on the same data (the broker and S3 outages).
 *
 * @module
 */

import { loadConfig, type ServicesConfig } from "../../scripts/services/config.ts";
import { provisionKafka, startKafka, stopKafka, waitKafka } from "../../scripts/services/kafka.ts";
import {
  provisionSeaweedfs,
  startSeaweedfs,
  stopSeaweedfs,
  waitSeaweedfs,
} from "../../scripts/services/seaweedfs.ts";

/** The two servers on one host. */
export class Infra {
  readonly cfg: ServicesConfig;
  readonly #launcher: string[];

  /**
   * `host`: the address to bind and advertise; `runDir`: data, logs and PID files;
   * `launcher`: the command prefix that runs a command on the host.
   */
  constructor(o: { host: string; runDir: string; launcher: string[] }) {
    const base = loadConfig({ ...Deno.env.toObject(), EVOCHORA_SERVICES_ENV_FILE: "/dev/null" });
    this.cfg = {
      ...base,
      host: o.host,
      runDir: o.runDir,
      envFile: `${o.runDir}/env`,
      // The host has its own address, so its ports never meet the loopback servers' ones; but
      // SeaweedFS also opens a unix socket per port under /tmp (seaweedfs-s3-18333.sock, ...),
      // which every namespace shares: with the loopback servers of `services:up` running (as in
      // CI), the same ports would make both SeaweedFS take over each other's sockets. Ports of
      // their own (100 above the defaults) keep the sockets apart.
      kafka: { ...base.kafka, heap: "512m" },
      s3: {
        ...base.s3,
        bucket: "evochora-system",
        port: base.s3.port + 100,
        masterPort: base.s3.masterPort + 100,
        volumePort: base.s3.volumePort + 100,
        filerPort: base.s3.filerPort + 100,
      },
    };
    this.#launcher = o.launcher;
  }

  /** The environment the services use to reach both servers. */
  get env(): Record<string, string> {
    const { host, kafka, s3 } = this.cfg;
    return {
      KAFKA_BOOTSTRAP_SERVERS: `${host}:${kafka.port}`,
      AWS_ENDPOINT: `http://${host}:${s3.port}`,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.secretKey,
      EVOCHORA_S3_BUCKET: s3.bucket,
    };
  }

  /** Fetches and builds what the cache lacks (once per machine). */
  async provision(): Promise<void> {
    await Deno.mkdir(this.cfg.runDir, { recursive: true });
    await Promise.all([provisionKafka(this.cfg), provisionSeaweedfs(this.cfg)]);
  }

  /** Starts the broker; `check`: wait until it passes the round trip of services:up. */
  async startKafka(o: { check: boolean } = { check: true }): Promise<void> {
    const pid = await startKafka(this.cfg, { launcher: this.#launcher });
    if (o.check) await waitKafka(this.cfg, pid);
  }

  async stopKafka(): Promise<void> {
    await stopKafka(this.cfg);
  }

  /** Starts SeaweedFS; `check`: wait until it passes the round trip of services:up. */
  async startS3(o: { check: boolean } = { check: true }): Promise<void> {
    const pid = await startSeaweedfs(this.cfg, { launcher: this.#launcher });
    if (o.check) await waitSeaweedfs(this.cfg, pid);
  }

  async stopS3(): Promise<void> {
    await stopSeaweedfs(this.cfg);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.stopKafka(), this.stopS3()]);
  }
}
