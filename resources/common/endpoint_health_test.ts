import assert from "node:assert/strict";
import {
  EndpointHealth,
  type EndpointReport,
  formatDuration,
  networkFailure,
  waitingDetail,
} from "./endpoint_health.ts";

function clock() {
  const c = { now: 1_000_000, tick: (ms: number) => c.now += ms };
  return c;
}

Deno.test("a failed endpoint is a problem once it has not answered for the grace period", () => {
  const c = clock();
  const h = new EndpointHealth({ failGraceMs: 2000, noAnswerMs: 5000, now: () => c.now });
  h.failed("broker", "127.0.0.1:1", "connection refused", "check KAFKA_BOOTSTRAP_SERVERS");
  assert.deepEqual(h.problems(), []);
  assert.ok(h.anyUnanswered());
  c.tick(2000);
  assert.deepEqual(h.problems(), [{
    kind: "broker",
    address: "127.0.0.1:1",
    reason: "connection refused",
    hint: "check KAFKA_BOOTSTRAP_SERVERS",
    since: 1_000_000,
  }]);
  // The latest reason wins; the start of the wait stays.
  h.failed("broker", "127.0.0.1:1", "connection timed out after 3 s", "check X");
  assert.equal(h.problems()[0]!.reason, "connection timed out after 3 s");
  assert.equal(h.problems()[0]!.since, 1_000_000);
  h.answered("broker", "127.0.0.1:1");
  assert.deepEqual(h.problems(), []);
  assert.equal(h.anyUnanswered(), false);
});

Deno.test("an endpoint tried and never answering is a problem after noAnswerMs, saying how long", () => {
  const c = clock();
  const h = new EndpointHealth({ failGraceMs: 2000, noAnswerMs: 5000, now: () => c.now });
  h.attempt("S3 endpoint", "http://10.0.0.9:9000", "check AWS_ENDPOINT");
  c.tick(4999);
  assert.deepEqual(h.problems(), []);
  assert.ok(h.unanswered("S3 endpoint", "http://10.0.0.9:9000"));
  c.tick(2001);
  const [p] = h.problems();
  assert.equal(p!.reason, "no answer for 7 s");
  assert.equal(p!.kind, "S3 endpoint");
  // Another attempt does not restart the wait.
  h.attempt("S3 endpoint", "http://10.0.0.9:9000", "check AWS_ENDPOINT");
  assert.equal(h.problems()[0]!.since, 1_000_000);
});

Deno.test("problems are listed oldest first; endpoints are told apart by kind and address", () => {
  const c = clock();
  const h = new EndpointHealth({ failGraceMs: 0, now: () => c.now });
  h.failed("broker", "b:2", "connection refused", "h");
  c.tick(10);
  h.failed("broker", "b:1", "connection refused", "h");
  h.failed("S3 endpoint", "b:1", "host not found", "h");
  c.tick(10);
  assert.deepEqual(h.problems().map((p) => `${p.kind} ${p.address}`), [
    "broker b:2",
    "broker b:1",
    "S3 endpoint b:1",
  ]);
  assert.equal(
    waitingDetail(h.problems().slice(0, 2)),
    "waiting for broker b:2 (connection refused); waiting for broker b:1 (connection refused)",
  );
  assert.throws(() => new EndpointHealth({ noAnswerMs: 0 }), RangeError);
});

Deno.test("network failures are named from the error code, also in a cause", () => {
  assert.equal(
    networkFailure(Object.assign(new Error("x"), { code: "ECONNREFUSED" })),
    "connection refused",
  );
  assert.equal(
    networkFailure(
      new Error("wrapped", { cause: Object.assign(new Error("y"), { code: "ENOTFOUND" }) }),
    ),
    "host not found",
  );
  const denied = Object.assign(new Error('Requires net access to "10.0.0.5:9092"'), {
    name: "NotCapable",
  });
  assert.equal(
    networkFailure(denied),
    "this process may not connect to it: not in its --allow-net",
  );
  assert.equal(networkFailure(new Error("HTTP 404")), undefined);
  assert.equal(networkFailure(undefined), undefined);
});

Deno.test("durations read as seconds, minutes and hours", () => {
  assert.equal(formatDuration(999), "0 s");
  assert.equal(formatDuration(45_400), "45 s");
  assert.equal(formatDuration(120_000), "2 min");
  assert.equal(formatDuration(125_000), "2 min 5 s");
  assert.equal(formatDuration(3_780_000), "1 h 3 min");
  assert.equal(formatDuration(7_200_000), "2 h");
});

Deno.test("reports forwarded from another registry are applied as that registry's own", () => {
  let now = 1000;
  const worker = new EndpointHealth({ failGraceMs: 0, now: () => now });
  const main = new EndpointHealth({ failGraceMs: 0, now: () => now });
  const reports: EndpointReport[] = [];
  worker.forward((r) => {
    reports.push(r);
    main.apply(r);
  });
  worker.attempt("broker", "b:9092", "start it");
  worker.failed("broker", "b:9092", "connection refused", "start it");
  assert.deepEqual(main.problems(), worker.problems());
  assert.equal(main.problems()[0]?.reason, "connection refused");
  now += 10;
  worker.answered("broker", "b:9092");
  assert.equal(main.anyUnanswered(), false);
  assert.deepEqual(reports.map((r) => r.op), ["attempt", "failed", "answered"]);
  worker.forward(undefined);
  worker.attempt("broker", "c:9092", "start it");
  assert.equal(main.anyUnanswered(), false);
});
