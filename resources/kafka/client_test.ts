import assert from "node:assert/strict";
import { parseBrokers, resolveConnection } from "./client.ts";
import { KafkaLogSink, parseLogLevel, toRecord } from "./logger.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("resolveConnection: brokers from options, else KAFKA_ then REDPANDA_ env", () => {
  assert.deepEqual(
    resolveConnection({ brokers: "a:1, b:2" }, env({ KAFKA_BOOTSTRAP_SERVERS: "x:9" })).brokers,
    ["a:1", "b:2"],
  );
  assert.deepEqual(
    resolveConnection(
      {},
      env({ KAFKA_BOOTSTRAP_SERVERS: "x:9", REDPANDA_BOOTSTRAP_SERVERS: "y:9" }),
    )
      .brokers,
    ["x:9"],
  );
  assert.deepEqual(resolveConnection({}, env({ REDPANDA_BOOTSTRAP_SERVERS: "y:9" })).brokers, [
    "y:9",
  ]);
  // Where they came from, for the line that says a broker does not answer ("check ...").
  assert.equal(resolveConnection({ brokers: "a:1" }, env({})).brokersSource, "brokers");
  assert.equal(
    resolveConnection({}, env({ KAFKA_BOOTSTRAP_SERVERS: "x:9" })).brokersSource,
    "KAFKA_BOOTSTRAP_SERVERS",
  );
  assert.equal(
    resolveConnection({}, env({ REDPANDA_BOOTSTRAP_SERVERS: "y:9" })).brokersSource,
    "REDPANDA_BOOTSTRAP_SERVERS",
  );
  assert.throws(() => resolveConnection({}, env({})), /no Kafka brokers: set `brokers`/);
  assert.throws(() => parseBrokers("localhost", "brokers"), /"localhost" is not host:port/);
  assert.deepEqual(parseBrokers(["[::1]:9092"], "b"), ["[::1]:9092"]);
});

Deno.test("resolveConnection: SASL and TLS come from KAFKA_* variables only", () => {
  const c = resolveConnection(
    { brokers: ["a:1"] },
    env({
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "u",
      KAFKA_SASL_PASSWORD: "p",
      KAFKA_SSL: "true",
      KAFKA_SSL_REJECT_UNAUTHORIZED: "false",
    }),
  );
  assert.deepEqual(c.sasl, { mechanism: "scram-sha-512", username: "u", password: "p" });
  assert.deepEqual(c.ssl, { rejectUnauthorized: false });
  const plain = resolveConnection({ brokers: ["a:1"] }, env({}));
  assert.equal(plain.sasl, undefined);
  assert.equal(plain.ssl, false);
  assert.equal(plain.clientId, "evochora");
  assert.throws(
    () =>
      resolveConnection(
        { brokers: ["a:1"] },
        env({ KAFKA_SASL_MECHANISM: "gssapi", KAFKA_SASL_USERNAME: "u" }),
      ),
    /not supported/,
  );
  assert.throws(
    () => resolveConnection({ brokers: ["a:1"] }, env({ KAFKA_SASL_MECHANISM: "plain" })),
    /KAFKA_SASL_USERNAME is unset/,
  );
  assert.throws(
    () =>
      resolveConnection(
        { brokers: ["a:1"] },
        env({ KAFKA_SSL: "1", KAFKA_SSL_CA_FILE: "/nonexistent/ca.pem" }),
      ),
    /KAFKA_SSL_CA_FILE \/nonexistent\/ca.pem/,
  );
});

Deno.test("resolveConnection: EVOCHORA_KAFKA_LOG sets the level and prints; a bad level is named", () => {
  const quiet = resolveConnection({ brokers: "a:1", logLevel: "error" }, env({}));
  assert.deepEqual([quiet.logLevel, quiet.printLog], ["error", false]);
  const loud = resolveConnection({ brokers: "a:1" }, env({ EVOCHORA_KAFKA_LOG: " Info " }));
  assert.deepEqual([loud.logLevel, loud.printLog], ["info", true]);
  assert.throws(
    () => resolveConnection({ brokers: "a:1" }, env({ EVOCHORA_KAFKA_LOG: "loud" })),
    /EVOCHORA_KAFKA_LOG="loud": not a log level; use error, warn, info or debug/,
  );
});

Deno.test("KafkaLogSink: counts errors and warnings quietly, keeps the latest", () => {
  const seen: string[] = [];
  const sink = new KafkaLogSink({ keep: 2, onLog: (r) => seen.push(r.level) });
  const log = sink.logCreator()(parseLogLevel("warn"));
  log({
    namespace: "Connection",
    level: 1,
    label: "ERROR",
    log: { timestamp: "t1", message: "refused", broker: "b:1", error: "ECONNREFUSED" },
  });
  log({
    namespace: "Producer",
    level: 2,
    label: "WARN",
    log: { timestamp: "t2", message: "slow" },
  });
  sink.error("consumer", "mine", new Error("boom"));
  const s = sink.summary();
  assert.equal(s.errors, 2);
  assert.equal(s.warnings, 1);
  assert.equal(s.lastError?.message, "mine");
  assert.equal(s.lastError?.error, "boom");
  assert.equal(s.recent.length, 2);
  assert.deepEqual(seen, ["error", "warn", "error"]);
  assert.equal(
    toRecord({
      namespace: "n",
      level: 1,
      label: "ERROR",
      log: { timestamp: "t", message: "m", broker: "b:1" },
    }).broker,
    "b:1",
  );
  assert.throws(() => parseLogLevel("loud"), /allowed: nothing, error, warn, info, debug/);
});
