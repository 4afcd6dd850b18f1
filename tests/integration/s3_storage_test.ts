/**
 * S3Storage against a real S3 server (SeaweedFS from `deno task services:up`, or any server
 * named by AWS_ENDPOINT / EVOCHORA_S3_BUCKET and credentials in the environment). Without a
 * server every test FAILS, saying how to start one; none is skipped.
 *
 * Each test works under its own prefix `it-<run>/<n>/` and removes everything below it after.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { readMessages, writeMessages } from "../../resources/storage/message_stream.ts";
import { type S3TestServer, s3TestServer } from "../../resources/storage/s3_env.ts";
import {
  createS3Client,
  MIN_PART_SIZE,
  multipartEtag,
  S3BucketError,
  type S3Operations,
  S3Storage,
  type S3StorageOptions,
  sdkOperations,
} from "../../resources/storage/s3_storage.ts";
import {
  listAll,
  patternBytes,
  put,
  storageContract,
} from "../../resources/storage/storage_contract.ts";

const RUN = `it-${Date.now().toString(36)}-${
  Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, "0"))
    .join("")
}`;
let nextPrefix = 0;

function md5hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

function rawClient(server: S3TestServer): S3Client {
  return createS3Client({
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
  });
}

async function pendingUploads(client: S3Client, bucket: string, prefix: string) {
  const out = await client.send(
    new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }),
  );
  return (out.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
}

async function objectsUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function bounded<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Deletes every object and aborts every upload under `prefix`. */
async function removeAll(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (const u of await pendingUploads(client, bucket, prefix)) {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }),
    );
  }
  const keys = await objectsUnder(client, bucket, prefix);
  await bounded(keys, 32, (Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key })));
}

interface Env {
  server: S3TestServer;
  client: S3Client;
  /** This test's prefix in the bucket, ending with "/". */
  prefix: string;
  storage(options?: Partial<S3StorageOptions>): S3Storage;
}

/** Runs `fn` with a fresh prefix; cleans up after, failing if anything is left pending. */
async function withS3(fn: (env: Env) => Promise<void>): Promise<void> {
  const server = await s3TestServer();
  const client = rawClient(server);
  const prefix = `${RUN}/${nextPrefix++}/`;
  const opened: S3Storage[] = [];
  const env: Env = {
    server,
    client,
    prefix,
    storage: (options = {}) => {
      const s = new S3Storage({
        bucket: server.bucket,
        prefix,
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
        ...options,
      });
      opened.push(s);
      return s;
    },
  };
  try {
    await fn(env);
  } finally {
    for (const s of opened) await s.close();
    try {
      await removeAll(client, server.bucket, prefix);
    } finally {
      client.destroy();
    }
  }
}

storageContract("S3Storage on a real S3 server", async () => {
  const server = await s3TestServer();
  const prefix = `${RUN}/${nextPrefix++}/`;
  const storage = new S3Storage({
    bucket: server.bucket,
    prefix,
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
  });
  return {
    storage,
    async cleanup() {
      const client = rawClient(server);
      try {
        const pending = await pendingUploads(client, server.bucket, prefix);
        await removeAll(client, server.bucket, prefix);
        assert.deepEqual(pending, [], "no multipart upload is left pending");
      } finally {
        client.destroy();
      }
    },
  };
});

storageContract("S3Storage on a real S3 server, conditionalWrites: check", async () => {
  const server = await s3TestServer();
  const prefix = `${RUN}/${nextPrefix++}/`;
  const storage = new S3Storage({
    bucket: server.bucket,
    prefix,
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    conditionalWrites: "check",
  });
  return {
    storage,
    async cleanup() {
      const client = rawClient(server);
      try {
        await removeAll(client, server.bucket, prefix);
      } finally {
        client.destroy();
      }
    },
  };
});

Deno.test("S3 server: does it honour If-None-Match: * (conditional writes)?", async () => {
  await withS3(async ({ server, client, prefix, storage }) => {
    // By hand first, so that the finding does not depend on the probe's logic.
    const Key = `${prefix}conditional`;
    const Bucket = server.bucket;
    await client.send(new PutObjectCommand({ Bucket, Key, Body: new TextEncoder().encode("one") }));
    let answer: string;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body: new TextEncoder().encode("two"),
          IfNoneMatch: "*",
        }),
      );
      answer = "accepted";
    } catch (e) {
      answer = `${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode} ${
        (e as Error).name
      }`;
    }
    const body = await (await client.send(new GetObjectCommand({ Bucket, Key }))).Body!
      .transformToString();
    const support = await storage().conditionalWriteSupport();
    console.log(
      `  ${server.endpoint}: PutObject If-None-Match on an existing key: ${answer}, object now ` +
        `'${body}'; probe: ${JSON.stringify(support)}`,
    );
    assert.equal(support.putObject, answer.startsWith("412") && body === "one");
  });
});

Deno.test("S3Storage: open() checks the bucket and says what is wrong", async () => {
  const server = await s3TestServer();
  const base = {
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
  };
  const s = await S3Storage.open({ ...base, bucket: server.bucket });
  await s.close();
  const cases: [Partial<S3StorageOptions>, RegExp][] = [
    [{ bucket: `no-such-bucket-${RUN}` }, /bucket 'no-such-bucket-.*' at http.*does not exist/],
    [
      { credentials: { accessKeyId: "nobody", secretAccessKey: "wrong" } },
      /access denied|credentials were refused/,
    ],
    [
      { endpoint: "http://127.0.0.1:1", maxAttempts: 2 },
      /at http:\/\/127\.0\.0\.1:1: the endpoint cannot be reached.*ECONNREFUSED/,
    ],
  ];
  for (const [options, pattern] of cases) {
    await assert.rejects(
      S3Storage.open({ ...base, bucket: server.bucket, ...options }),
      (e: unknown) => {
        assert.ok(e instanceof S3BucketError, String(e));
        assert.match(e.message, pattern);
        return true;
      },
    );
  }
});

Deno.test("S3Storage: an aborted writer leaves no object and no pending upload", async () => {
  await withS3(async ({ server, client, prefix, storage }) => {
    const s = storage({ partSize: MIN_PART_SIZE });
    const w = await s.openWriter("aborted/big");
    await w.write(patternBytes(2 * MIN_PART_SIZE + 100));
    const pending = await pendingUploads(client, server.bucket, prefix);
    assert.equal(pending.length, 1, "the multipart upload exists while writing");
    assert.equal(pending[0]!.key, `${prefix}aborted/big`);
    await w.abort();
    assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
    assert.equal(await s.exists("aborted/big"), false);
    assert.deepEqual(await objectsUnder(client, server.bucket, prefix), []);
  });
});

Deno.test("S3Storage: the sweep aborts the pending upload of a killed writer once it is old enough", async () => {
  await withS3(async ({ server, client, prefix, storage }) => {
    const s = storage({ partSize: MIN_PART_SIZE });
    const killed = await s.openWriter("runs/r1/raw/0000000/batch_x.pb.zst");
    await killed.write(patternBytes(MIN_PART_SIZE + 100)); // its first part is uploaded
    assert.equal((await pendingUploads(client, server.bucket, prefix)).length, 1);
    assert.deepEqual(await s.sweepLeftovers({ olderThanMs: 600_000 }), [], "young: alive");
    await new Promise((r) => setTimeout(r, 1100)); // the server keeps seconds
    const swept = await s.sweepLeftovers({ prefix: "runs/r1/", olderThanMs: 0 });
    assert.equal(swept.length, 1, JSON.stringify(swept));
    assert.equal(swept[0]!.key, "runs/r1/raw/0000000/batch_x.pb.zst");
    assert.equal(swept[0]!.kind, "multipart upload");
    assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
    await assert.rejects(killed.commit()); // its upload is gone
    await killed.abort();
  });
});

Deno.test("S3Storage: a failed commit aborts the upload", async () => {
  await withS3(async ({ server, client, prefix, storage }) => {
    const real = sdkOperations(client, false);
    const failing: S3Operations = {
      ...real,
      completeMultipartUpload: () =>
        Promise.reject(
          Object.assign(new Error("injected"), {
            name: "InternalError",
            $metadata: { httpStatusCode: 500, attempts: 5 },
          }),
        ),
    };
    const s = storage({ partSize: MIN_PART_SIZE, operations: failing });
    const w = await s.openWriter("failed/commit");
    await w.write(patternBytes(MIN_PART_SIZE + 7));
    assert.equal((await pendingUploads(client, server.bucket, prefix)).length, 1);
    await assert.rejects(w.commit(), /Cannot commit 'failed\/commit'.*HTTP 500 InternalError/);
    assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
    assert.deepEqual(await objectsUnder(client, server.bucket, prefix), []);
  });
});

Deno.test("S3Storage: no-clobber on an existing key, for PutObject and multipart commits", async () => {
  for (const mode of ["auto", "check"] as const) {
    await withS3(async ({ server, client, prefix, storage }) => {
      const s = storage({ partSize: MIN_PART_SIZE, conditionalWrites: mode });
      const first = patternBytes(1000, 1);
      assert.deepEqual(await put(s, "k", first), { created: true, bytes: 1000 });
      assert.deepEqual(await put(s, "k", patternBytes(999, 2)), { created: false, bytes: 999 });
      const big = patternBytes(MIN_PART_SIZE + 5, 3);
      assert.deepEqual(await put(s, "k", big), { created: false, bytes: big.length });
      assert.deepEqual(await s.read("k"), first, mode);
      assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
      // And the other way round: a multipart object first.
      assert.equal((await put(s, "m", big)).created, true);
      assert.equal((await put(s, "m", first)).created, false);
      assert.equal((await put(s, "m", patternBytes(MIN_PART_SIZE + 9, 4))).created, false);
      assert.deepEqual(await s.read("m"), big);
      const head = await client.send(
        new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}m` }),
      );
      assert.equal(head.ContentLength, big.length);
      assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
    });
  }
});

Deno.test("S3Storage: writers racing for one key: exactly one commit creates it", async () => {
  for (const mode of ["auto", "check"] as const) {
    await withS3(async ({ server, client, prefix, storage }) => {
      const s = storage({ partSize: MIN_PART_SIZE, conditionalWrites: mode });
      await s.conditionalWriteSupport();
      for (const size of [1000, MIN_PART_SIZE + 1000]) {
        const key = `race/${size}`;
        const writers = await Promise.all(Array.from({ length: 8 }, () => s.openWriter(key)));
        const bodies = writers.map((_, i) => patternBytes(size, 100 + i));
        await Promise.all(writers.map((w, i) => w.write(bodies[i]!)));
        const results = await Promise.all(writers.map((w) => w.commit()));
        const winners = results.flatMap((r, i) => (r.created ? [i] : []));
        const stored = await s.read(key);
        const holder = bodies.findIndex((b) => b.every((x, j) => x === stored[j]));
        if (mode === "auto") {
          assert.equal(winners.length, 1, `${mode}, ${size} B: one winner, got ${winners}`);
          assert.equal(holder, winners[0], "the object holds the winner's bytes");
        } else {
          // Without the server's condition the check-then-write race can let several win;
          // the object is still one writer's complete bytes.
          assert.ok(winners.length >= 1);
          assert.ok(winners.includes(holder), `${mode}: the object holds a winner's bytes`);
          if (winners.length > 1) {
            console.log(`  check mode, ${size} B: ${winners.length} of 8 writers "won" the race`);
          }
        }
      }
      assert.deepEqual(await pendingUploads(client, server.bucket, prefix), []);
    });
  }
});

Deno.test("S3Storage: a 20 MB object in 5 MiB parts round-trips", async () => {
  await withS3(async ({ server, client, prefix, storage }) => {
    const s = storage({ partSize: MIN_PART_SIZE, partConcurrency: 3 });
    const data = patternBytes(20_000_000, 11);
    const w = await s.openWriter("runs/r/raw/big.bin");
    for (let pos = 0; pos < data.length; pos += 1_000_003) {
      await w.write(data.subarray(pos, Math.min(data.length, pos + 1_000_003)));
    }
    assert.deepEqual(await w.commit(), { created: true, bytes: data.length });
    assert.equal(await s.size("runs/r/raw/big.bin"), data.length);
    const head = await client.send(
      new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}runs/r/raw/big.bin` }),
    );
    assert.match(head.ETag ?? "", /-4"?$/, "four parts");
    // The ETag S3Storage expects after an ambiguous retry is the one this server computes.
    const parts = Array.from(
      { length: 4 },
      (_, i) => `"${md5hex(data.subarray(i * MIN_PART_SIZE, (i + 1) * MIN_PART_SIZE))}"`,
    );
    assert.equal(head.ETag, `"${multipartEtag(parts)}"`);
    const back = await s.read("runs/r/raw/big.bin");
    assert.equal(back.length, data.length);
    assert.ok(back.every((b, i) => b === data[i]));
    let pos = 0;
    for await (const chunk of await s.openReader("runs/r/raw/big.bin")) {
      assert.ok(chunk.every((b, i) => b === data[pos + i]), `bytes at ${pos}`);
      pos += chunk.length;
    }
    assert.equal(pos, data.length);
  });
});

Deno.test("S3Storage: listKeys pages over 2100 keys written concurrently", async () => {
  await withS3(async ({ storage }) => {
    const s = storage();
    const keys = Array.from(
      { length: 2100 },
      (_, i) => `runs/r/raw/${["a", "b", "b-c", "b0"][i % 4]}/batch_${String(i).padStart(6, "0")}`,
    );
    await bounded(keys, 48, (k) => put(s, k, new TextEncoder().encode(k)));
    const want = [...keys].sort();
    assert.deepEqual((await listAll(s, "runs/r/raw/")).keys, want);
    const big = await s.listKeys("runs/r/raw/", { pageSize: 1500 });
    assert.equal(big.keys.length, 1500);
    const rest = await s.listKeys("runs/r/raw/", { pageSize: 1500, cursor: big.cursor! });
    assert.deepEqual([...big.keys, ...rest.keys], want);
    assert.equal(rest.cursor, undefined);
    assert.deepEqual(
      (await listAll(s, "runs/r/raw/b", 333)).keys,
      want.filter((k) => k.startsWith("runs/r/raw/b")),
    );
  });
});

Deno.test("S3Storage: writeMessages / readMessages round-trip over S3", async () => {
  await withS3(async ({ storage }) => {
    const s = storage({ partSize: MIN_PART_SIZE });
    const messages = Array.from({ length: 300 }, (_, i) => patternBytes(1000 + i * 97, i + 1));
    // Incompressible messages: the stored object is larger than one part.
    messages.push(patternBytes(6 * 1024 * 1024, 999));
    const key = "runs/r/raw/0/batch_0000000000000000000_0000000000000000299.pb.zst";
    const written = await writeMessages(s, key, messages);
    assert.equal(written.created, true);
    assert.ok(written.storedBytes > MIN_PART_SIZE);
    assert.equal(await s.size(key), written.storedBytes);
    const back = await readMessages(s, key);
    assert.equal(back.messages.length, messages.length);
    back.messages.forEach((m, i) => assert.deepEqual(m, messages[i], `message ${i}`));
    // A replay writes the same bytes and is a no-op.
    const again = await writeMessages(s, key, messages);
    assert.equal(again.created, false);
    assert.equal(again.storedBytes, written.storedBytes);
  });
});
