import assert from "node:assert/strict";
import { parseEnvFile, S3ServerMissingError, s3TestServer } from "./s3_env.ts";

Deno.test("parseEnvFile: NAME=value lines, export, quotes, comments", () => {
  const env = parseEnvFile(
    "# services\nAWS_ENDPOINT=http://127.0.0.1:18333\nexport AWS_REGION='us-east-1'\n" +
      'EVOCHORA_S3_BUCKET="b"\n\nnot a line\nEMPTY=\n',
  );
  assert.deepEqual(Object.fromEntries(env), {
    AWS_ENDPOINT: "http://127.0.0.1:18333",
    AWS_REGION: "us-east-1",
    EVOCHORA_S3_BUCKET: "b",
    EMPTY: "",
  });
});

Deno.test("s3TestServer: the environment first; missing settings say how to start a server", async () => {
  const names = [
    "AWS_ENDPOINT",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "EVOCHORA_S3_BUCKET",
    "HOME",
  ];
  const saved = new Map(names.map((n) => [n, Deno.env.get(n)]));
  const home = await Deno.makeTempDir({ prefix: "evochora-s3-env-" });
  try {
    Deno.env.set("AWS_ENDPOINT", "http://h:1");
    Deno.env.set("AWS_ACCESS_KEY_ID", "a");
    Deno.env.set("AWS_SECRET_ACCESS_KEY", "s");
    Deno.env.set("EVOCHORA_S3_BUCKET", "b");
    Deno.env.delete("AWS_REGION");
    assert.deepEqual(await s3TestServer(), {
      endpoint: "http://h:1",
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "s" },
      bucket: "b",
      source: "the environment",
    });
    Deno.env.delete("EVOCHORA_S3_BUCKET");
    await assert.rejects(s3TestServer(), /lack EVOCHORA_S3_BUCKET.*deno task services:up/);
    Deno.env.delete("AWS_ENDPOINT");
    Deno.env.set("HOME", home);
    await assert.rejects(s3TestServer(), (e: unknown) => {
      assert.ok(e instanceof S3ServerMissingError);
      assert.match(e.message, /start the S3 server with `deno task services:up`/);
      return true;
    });
    await Deno.mkdir(`${home}/.cache/evochora/services`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.cache/evochora/services/env`,
      "AWS_ENDPOINT=http://f:2\nAWS_ACCESS_KEY_ID=k\nAWS_SECRET_ACCESS_KEY=z\nEVOCHORA_S3_BUCKET=fb\n",
    );
    const fromFile = await s3TestServer();
    assert.equal(fromFile.endpoint, "http://f:2");
    assert.equal(fromFile.bucket, "fb");
    assert.match(fromFile.source, /services\/env$/);
  } finally {
    for (const [n, v] of saved) v === undefined ? Deno.env.delete(n) : Deno.env.set(n, v);
    await Deno.remove(home, { recursive: true });
  }
});
