import assert from "node:assert/strict";
import { amzDate, sha256Hex, signV4, uriEncode } from "./s3_client.ts";

// The examples of AWS's "Signature Calculations for the Authorization Header" (Amazon S3 docs).
const ACCESS = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const base = {
  accessKey: ACCESS,
  secretKey: SECRET,
  region: "us-east-1",
  service: "s3",
  amzDate: "20130524T000000Z",
  payloadHash: EMPTY,
};

Deno.test("signV4 matches AWS's GET object example", async () => {
  const auth = await signV4({
    ...base,
    method: "GET",
    path: "/test.txt",
    query: {},
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
    },
  });
  assert.equal(
    auth,
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

Deno.test("signV4 matches AWS's GET bucket list example (query string)", async () => {
  const auth = await signV4({
    ...base,
    method: "GET",
    path: "/",
    query: { "max-keys": "2", prefix: "J" },
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
    },
  });
  assert.ok(
    auth.endsWith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    auth,
  );
});

Deno.test("uriEncode, sha256Hex and amzDate", async () => {
  assert.equal(uriEncode("a b/c~d$"), "a%20b%2Fc~d%24");
  assert.equal(uriEncode("a b/c", true), "a%20b/c");
  assert.equal(uriEncode("é"), "%C3%A9");
  assert.equal(await sha256Hex(""), EMPTY);
  assert.equal(amzDate(new Date(Date.UTC(2013, 4, 24, 1, 2, 3, 456))), "20130524T010203Z");
});
