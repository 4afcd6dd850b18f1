import assert from "node:assert/strict";
import { s3NetworkFailure } from "./_s3_endpoint_watch.ts";

function timeout(message: string, code?: string): Error {
  return Object.assign(new Error(message), { name: "TimeoutError" }, code ? { code } : {});
}

Deno.test("S3 attempts without an answer are named; HTTP errors are answers", () => {
  assert.equal(
    s3NetworkFailure(timeout(
      "@smithy/node-http-handler - the request socket did not establish a connection with the " +
        "server within the configured timeout of 5000 ms.",
    )),
    "connection timed out after 5 s",
  );
  assert.equal(
    s3NetworkFailure(timeout(
      "@smithy/node-http-handler - [ERROR] a request has exceeded the configured 120000 ms requestTimeout.",
      "ETIMEDOUT",
    )),
    "no answer after 120 s",
  );
  assert.equal(
    s3NetworkFailure(
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    ),
    "connection refused",
  );
  const notFound = Object.assign(new Error("NotFound"), { $metadata: { httpStatusCode: 404 } });
  assert.equal(s3NetworkFailure(notFound), undefined);
  assert.equal(s3NetworkFailure(new Error("checksum mismatch")), undefined);
});
