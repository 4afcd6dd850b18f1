import assert from "node:assert/strict";
import { EndpointHealth } from "../resources/common/endpoint_health.ts";
import { WaitingReport } from "./waiting_report.ts";

function setUp() {
  const c = { now: 0 };
  const health = new EndpointHealth({ failGraceMs: 2000, noAnswerMs: 5000, now: () => c.now });
  const lines: string[] = [];
  const report = new WaitingReport({
    health,
    who: "persistence-1",
    log: (l) => lines.push(l),
    repeatMs: 30_000,
    now: () => c.now,
  });
  return { c, health, lines, report };
}

Deno.test("one line when an endpoint starts failing, again only every 30 s with how long, one when it answers", () => {
  const { c, health, lines, report } = setUp();
  health.failed(
    "broker",
    "10.0.0.5:9092",
    "connection timed out after 3 s",
    "check KAFKA_BOOTSTRAP_SERVERS",
  );
  report.check();
  assert.deepEqual(lines, [], "not within the grace period");
  for (let t = 0; t < 40; t++) {
    c.now += 1000;
    health.failed(
      "broker",
      "10.0.0.5:9092",
      "connection timed out after 3 s",
      "check KAFKA_BOOTSTRAP_SERVERS",
    );
    report.check();
  }
  assert.deepEqual(lines, [
    "evochora service: persistence-1: waiting for broker 10.0.0.5:9092 (connection timed out after 3 s); " +
    "still retrying — check KAFKA_BOOTSTRAP_SERVERS",
    "evochora service: persistence-1: still waiting for broker 10.0.0.5:9092 after 32 s (connection timed out " +
    "after 3 s); check KAFKA_BOOTSTRAP_SERVERS",
  ]);
  c.now += 5000;
  health.answered("broker", "10.0.0.5:9092");
  report.check();
  report.check();
  assert.equal(lines.length, 3);
  assert.equal(
    lines[2],
    "evochora service: persistence-1: broker 10.0.0.5:9092 answers again after 45 s",
  );
});

Deno.test("a blip shorter than the grace period prints nothing; each endpoint has its own line", () => {
  const { c, health, lines, report } = setUp();
  health.failed("broker", "a:1", "connection refused", "check KAFKA_BOOTSTRAP_SERVERS");
  c.now += 1000;
  report.check();
  health.answered("broker", "a:1");
  c.now += 5000;
  report.check();
  assert.deepEqual(lines, []);
  health.attempt("S3 endpoint", "http://s3:9000", "check AWS_ENDPOINT");
  health.failed("broker", "a:1", "connection refused", "check KAFKA_BOOTSTRAP_SERVERS");
  c.now += 6000;
  report.check();
  assert.deepEqual(lines, [
    "evochora service: persistence-1: waiting for S3 endpoint http://s3:9000 (no answer for 6 s); still " +
    "retrying — check AWS_ENDPOINT",
    "evochora service: persistence-1: waiting for broker a:1 (connection refused); still retrying — " +
    "check KAFKA_BOOTSTRAP_SERVERS",
  ]);
});
