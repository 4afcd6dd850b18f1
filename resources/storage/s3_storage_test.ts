import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { FakeS3, type FakeS3Options, networkError, s3Error } from "./s3_fake.ts";
import {
  backoffDelay,
  BackoffRetryStrategy,
  ConditionalWritesUnsupportedError,
  describeS3Error,
  MIN_PART_SIZE,
  multipartEtag,
  resolveS3ClientOptions,
  type RetryErrorInfo,
  S3BucketError,
  S3Storage,
  type S3StorageOptions,
} from "./s3_storage.ts";
import { patternBytes, put, storageContract } from "./storage_contract.ts";
import { NotFoundError } from "./storage.ts";

const MiB = 1024 * 1024;
const text = (s: string) => new TextEncoder().encode(s);

function fixture(fake: FakeS3, options: Partial<S3StorageOptions> = {}) {
  return new S3Storage({
    bucket: "b",
    operations: fake,
    partSize: MIN_PART_SIZE,
    backoff: { baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
}

for (
  const [label, fakeOptions, mode] of [
    ["conditional writes", {}, "auto"],
    ["a server that ignores If-None-Match", { put: "ignore", complete: "ignore" }, "auto"],
    ["a server that rejects If-None-Match", { put: "reject", complete: "reject" }, "auto"],
    ["conditionalWrites: check", {}, "check"],
  ] as const
) {
  storageContract(`S3Storage on a fake S3 (${label})`, () => {
    const fake = new FakeS3(fakeOptions as FakeS3Options);
    const storage = fixture(fake, { prefix: "evochora", conditionalWrites: mode });
    return Promise.resolve({
      storage,
      cleanup: () => {
        assert.deepEqual([...fake.uploads.keys()], [], "no multipart upload is left pending");
        for (const key of fake.objects.keys()) {
          assert.ok(key.startsWith("evochora/"), `object '${key}' outside the prefix`);
        }
        return Promise.resolve();
      },
    });
  });
}

Deno.test("S3Storage: small objects are one PutObject at commit, nothing before", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "required" });
  const w = await s.openWriter("runs/r1/a");
  await w.write(patternBytes(MIN_PART_SIZE - 1));
  assert.deepEqual(fake.calls, [], "no request before the commit");
  assert.deepEqual(await w.commit(), { created: true, bytes: MIN_PART_SIZE - 1 });
  const puts = fake.callsOf("putObject") as { Key: string; IfNoneMatch?: string }[];
  assert.equal(puts.at(-1)!.Key, "runs/r1/a");
  assert.equal(puts.at(-1)!.IfNoneMatch, "*");
  assert.equal(fake.callsOf("createMultipartUpload").length, 1, "only the probe's");
  assert.equal(fake.callsOf("headObject").length, 0, "no check needed with conditional writes");
});

Deno.test("S3Storage: parts are split at partSize, the last one short", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "check" });
  const data = patternBytes(2 * MIN_PART_SIZE + 12345, 3);
  const w = await s.openWriter("big");
  let pos = 0;
  let n = 0;
  while (pos < data.length) {
    const len = Math.min(data.length - pos, [1, 300_001, 4096, 2 * MiB + 7][n++ % 4]!);
    await w.write(data.subarray(pos, pos + len));
    pos += len;
    if (pos < MIN_PART_SIZE) {
      assert.equal(fake.callsOf("createMultipartUpload").length, 0, "no upload before a full part");
    }
  }
  assert.equal(fake.callsOf("completeMultipartUpload").length, 0);
  assert.deepEqual(await w.commit(), { created: true, bytes: data.length });
  const parts = fake.callsOf("uploadPart") as { PartNumber: number; Body: Uint8Array }[];
  assert.deepEqual(parts.map((p) => [p.PartNumber, p.Body.length]), [
    [1, MIN_PART_SIZE],
    [2, MIN_PART_SIZE],
    [3, 12345],
  ]);
  const complete = fake.callsOf("completeMultipartUpload") as {
    MultipartUpload: { Parts: { PartNumber: number }[] };
    IfNoneMatch?: string;
  }[];
  assert.deepEqual(complete[0]!.MultipartUpload.Parts.map((p) => p.PartNumber), [1, 2, 3]);
  assert.equal(complete[0]!.IfNoneMatch, undefined, "check mode sends no condition");
  assert.ok((await s.read("big")).every((b, i) => b === data[i]));
  assert.deepEqual([...fake.uploads.keys()], []);
});

Deno.test("S3Storage: an object of exactly one part is a multipart upload of one part", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "check" });
  const w = await s.openWriter("one");
  await w.write(patternBytes(MIN_PART_SIZE));
  assert.deepEqual(await w.commit(), { created: true, bytes: MIN_PART_SIZE });
  assert.equal(fake.callsOf("uploadPart").length, 1);
  assert.equal(await s.size("one"), MIN_PART_SIZE);
});

Deno.test("S3Storage: at most partConcurrency parts are in flight; write() waits", async () => {
  const fake = new FakeS3();
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  fake.delay = (op) => (op === "uploadPart" ? gate : Promise.resolve());
  const s = fixture(fake, { conditionalWrites: "check", partConcurrency: 2 });
  const w = await s.openWriter("k");
  const part = patternBytes(MIN_PART_SIZE);
  await w.write(part);
  await w.write(part);
  let third = false;
  const writing = w.write(part).then(() => (third = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.partsInFlight, 2);
  assert.equal(third, false, "the third part waits for a free slot");
  release();
  gate = Promise.resolve();
  await writing;
  await w.commit();
  assert.equal(fake.maxPartsInFlight, 2);
  assert.equal(await s.size("k"), 3 * MIN_PART_SIZE);
});

Deno.test("S3Storage: a failed part aborts the upload; write and commit report it", async () => {
  const fake = new FakeS3();
  fake.fail = (op, input) =>
    op === "uploadPart" && (input as { PartNumber: number }).PartNumber === 2
      ? s3Error("InternalError", 500, 5)
      : undefined;
  const s = fixture(fake, { conditionalWrites: "check" });
  const w = await s.openWriter("runs/x");
  await w.write(patternBytes(MIN_PART_SIZE));
  await w.write(patternBytes(MIN_PART_SIZE)); // part 2 fails in the background
  await new Promise((r) => setTimeout(r, 10));
  await assert.rejects(
    w.write(text("more")),
    /Cannot write to 'runs\/x': an earlier .* failed .*s3:\/\/b\/runs\/x, upload upload-1\): HTTP 500 InternalError/,
  );
  await assert.rejects(w.commit(), /Cannot commit 'runs\/x'.*HTTP 500/);
  assert.equal(fake.callsOf("abortMultipartUpload").length, 1);
  assert.deepEqual([...fake.uploads.keys()], []);
  assert.equal(await s.exists("runs/x"), false);
  await w.abort(); // safe after a failure
  assert.equal(fake.callsOf("abortMultipartUpload").length, 1);
});

Deno.test("S3Storage: a failed CreateMultipartUpload fails the write that needed it", async () => {
  const fake = new FakeS3();
  fake.fail = (op) => (op === "createMultipartUpload" ? s3Error("AccessDenied", 403) : undefined);
  const s = fixture(fake, { conditionalWrites: "check" });
  const w = await s.openWriter("k");
  await assert.rejects(
    w.write(patternBytes(MIN_PART_SIZE)),
    (e: Error) => /Cannot write to 'k' \(s3:\/\/b\/k\): HTTP 403 AccessDenied/.test(e.message),
  );
  await assert.rejects(w.commit(), /an earlier write or commit failed/);
  await w.abort();
});

Deno.test("S3Storage: a failed commit aborts the upload, no upload is left", async () => {
  for (const op of ["completeMultipartUpload", "putObject"] as const) {
    const fake = new FakeS3();
    fake.fail = (o) => (o === op ? s3Error("ServiceUnavailable", 503, 5) : undefined);
    const s = fixture(fake, { conditionalWrites: "check" });
    const w = await s.openWriter("k");
    await w.write(patternBytes(op === "putObject" ? 10 : MIN_PART_SIZE + 10));
    await assert.rejects(w.commit(), /Cannot commit 'k' \(s3:\/\/b\/k.*HTTP 503/);
    assert.deepEqual([...fake.uploads.keys()], [], op);
    assert.equal(fake.objects.size, 0);
    await assert.rejects(w.commit(), /failed/);
    await w.abort();
  }
});

Deno.test("S3Storage: abort() aborts the multipart upload, after parts in flight", async () => {
  const fake = new FakeS3();
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  fake.delay = (op) => (op === "uploadPart" ? gate : Promise.resolve());
  const s = fixture(fake, { conditionalWrites: "check" });
  const w = await s.openWriter("k");
  await w.write(patternBytes(MIN_PART_SIZE + 5));
  const aborting = w.abort();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.callsOf("abortMultipartUpload").length, 0, "waits for the part in flight");
  release();
  await aborting;
  assert.equal(fake.callsOf("abortMultipartUpload").length, 1);
  assert.deepEqual([...fake.uploads.keys()], []);
  await w.abort();
  assert.equal(fake.callsOf("abortMultipartUpload").length, 1);
});

Deno.test("S3Storage: a failed AbortMultipartUpload is reported and retried by abort()", async () => {
  const fake = new FakeS3();
  let down = true;
  fake.fail = (op) =>
    op === "abortMultipartUpload" && down ? networkError("ECONNREFUSED") : undefined;
  const s = fixture(fake, { conditionalWrites: "check" });
  const w = await s.openWriter("k");
  await w.write(patternBytes(MIN_PART_SIZE));
  await assert.rejects(w.abort(), /Cannot abort the upload of 'k'.*upload upload-1.*ECONNREFUSED/);
  assert.equal(fake.uploads.size, 1);
  down = false;
  await w.abort();
  assert.equal(fake.uploads.size, 0);
});

Deno.test("S3Storage: 412 on CompleteMultipartUpload means created:false, upload aborted", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "required" });
  assert.deepEqual(await put(s, "k", text("first")), { created: true, bytes: 5 });
  const big = patternBytes(MIN_PART_SIZE + 1);
  assert.deepEqual(await put(s, "k", big), { created: false, bytes: big.length });
  assert.deepEqual(await s.read("k"), text("first"));
  assert.deepEqual([...fake.uploads.keys()], []);
  const last = fake.callsOf("completeMultipartUpload").at(-1) as { IfNoneMatch?: string };
  assert.equal(last.IfNoneMatch, "*");
  assert.equal(fake.callsOf("headObject").length, 0);
});

Deno.test("S3Storage: 412 on PutObject means created:false", async () => {
  const fake = new FakeS3();
  const s = fixture(fake);
  assert.equal((await put(s, "k", text("a"))).created, true);
  assert.equal((await put(s, "k", text("b"))).created, false);
  assert.deepEqual(await s.read("k"), text("a"));
});

Deno.test("S3Storage: a 412 after a retry is ours when the object holds our bytes", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "required" });
  await s.conditionalWriteSupport();
  // The first attempt stored the object but its answer was lost; the retry got 412.
  fake.fail = (op, input) => {
    if (op !== "putObject") return undefined;
    const i = input as { Key: string; Body: Uint8Array };
    fake.objects.set(i.Key, { bytes: i.Body.slice(), etag: `"${hex(i.Body)}"` });
    return s3Error("PreconditionFailed", 412, 2);
  };
  assert.equal((await put(s, "mine", text("same"))).created, true);
  // Someone else's different bytes: not ours.
  fake.fail = (op) => (op === "putObject" ? s3Error("PreconditionFailed", 412, 2) : undefined);
  assert.equal((await put(s, "mine", text("other"))).created, false);
});

function hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

Deno.test("S3Storage: NoSuchUpload after a retried complete counts when the object is ours", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "required" });
  await s.conditionalWriteSupport();
  const real = fake.completeMultipartUpload.bind(fake);
  fake.completeMultipartUpload = async (input) => {
    await real(input); // succeeds, answer "lost"; the retry finds no upload
    throw s3Error("NoSuchUpload", 404, 2);
  };
  const data = patternBytes(MIN_PART_SIZE + 3);
  assert.deepEqual(await put(s, "k", data), { created: true, bytes: data.length });
  assert.equal(await s.size("k"), data.length);
});

Deno.test("S3Storage: auto probes once; a server ignoring the header gets a HeadObject check", async () => {
  const fake = new FakeS3({ put: "ignore", complete: "honour" });
  const s = fixture(fake, { prefix: "p/" });
  assert.deepEqual(await s.conditionalWriteSupport(), {
    putObject: false,
    completeMultipartUpload: true,
  });
  const probeCalls = fake.calls.length;
  assert.deepEqual([...fake.objects.keys()], [], "the probe object is deleted");
  assert.deepEqual([...fake.uploads.keys()], [], "the probe leaves no upload");
  const probeKey = (fake.callsOf("putObject")[0] as { Key: string }).Key;
  assert.match(probeKey, /^p\/evochora-probe~[0-9a-f]{16}$/);

  assert.equal((await put(s, "k", text("a"))).created, true);
  assert.equal((await put(s, "k", text("b"))).created, false);
  assert.deepEqual(await s.read("k"), text("a"));
  const puts = fake.callsOf("putObject").slice(2) as { IfNoneMatch?: string }[];
  assert.deepEqual(puts.map((p) => p.IfNoneMatch), [undefined], "no header; the 2nd was checked");
  assert.equal(fake.callsOf("headObject").length, 2);
  // Multipart commits use the server's conditional complete: no HeadObject.
  const big = patternBytes(MIN_PART_SIZE + 1);
  assert.equal((await put(s, "k", big)).created, false);
  assert.equal(fake.callsOf("headObject").length, 2);
  assert.equal(
    fake.calls.slice(probeCalls).filter((c) => (c.input as { Key?: string }).Key?.includes("~"))
      .length,
    0,
    "probed once",
  );
});

Deno.test("S3Storage: a probe object the server could not delete is not listed", async () => {
  const fake = new FakeS3();
  fake.fail = (op) => (op === "deleteObject" ? s3Error("AccessDenied", 403) : undefined);
  const s = fixture(fake);
  await put(s, "a", text("a"));
  assert.equal(fake.objects.size, 2);
  assert.deepEqual(await s.listKeys(""), { keys: ["a"] });
});

Deno.test("S3Storage: required on a server without conditional writes refuses to write", async () => {
  const fake = new FakeS3({ put: "ignore", complete: "ignore" });
  const s = fixture(fake, { conditionalWrites: "required" });
  const w = await s.openWriter("k");
  await w.write(text("x"));
  await assert.rejects(w.commit(), (e: unknown) => {
    assert.ok(e instanceof ConditionalWritesUnsupportedError);
    assert.match(e.message, /PutObject and CompleteMultipartUpload.*"required".*"check"/);
    return true;
  });
  assert.equal(await s.exists("k"), false);
  assert.deepEqual([...fake.uploads.keys()], []);
});

Deno.test("S3Storage: check mode never probes and never sends the header", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { conditionalWrites: "check" });
  await put(s, "k", text("x"));
  await put(s, "k", patternBytes(MIN_PART_SIZE + 1));
  for (const c of fake.calls) {
    assert.equal((c.input as { IfNoneMatch?: string }).IfNoneMatch, undefined);
    assert.ok(!(c.input as { Key?: string }).Key?.includes("~"));
  }
  assert.deepEqual(await s.conditionalWriteSupport(), {
    putObject: false,
    completeMultipartUpload: false,
  });
});

Deno.test("S3Storage: a failing probe fails the commit and is tried again", async () => {
  const fake = new FakeS3();
  let down = true;
  fake.fail = (op) => (down && op === "putObject" ? networkError("ECONNRESET") : undefined);
  const s = fixture(fake);
  await assert.rejects(put(s, "k", text("x")), /conditional-write probe.*ECONNRESET/);
  down = false;
  assert.equal((await put(s, "k", text("x"))).created, true);
});

Deno.test("S3Storage: listKeys maps prefix, pageSize and cursor onto ListObjectsV2", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { prefix: "root/", conditionalWrites: "check" });
  for (let i = 0; i < 5; i++) await put(s, `runs/k${i}`, text("x"));
  // Foreign objects that are not valid keys are skipped.
  fake.objects.set("root/runs/dir/", { bytes: new Uint8Array(0), etag: '""' });
  fake.objects.set("root/runs/k2 copy", { bytes: new Uint8Array(0), etag: '""' });
  fake.objects.set("other/runs/k9", { bytes: new Uint8Array(0), etag: '""' });
  fake.calls.length = 0;
  const first = await s.listKeys("runs/", { pageSize: 2 });
  assert.deepEqual(first, { keys: ["runs/k0", "runs/k1"], cursor: "runs/k1" });
  assert.deepEqual(fake.callsOf("listObjectsV2"), [
    { Bucket: "b", Prefix: "root/runs/", MaxKeys: 3 },
  ]);
  fake.calls.length = 0;
  const second = await s.listKeys("runs/", { pageSize: 2, cursor: first.cursor! });
  assert.deepEqual(second, { keys: ["runs/k2", "runs/k3"], cursor: "runs/k3" });
  assert.deepEqual(fake.callsOf("listObjectsV2")[0], {
    Bucket: "b",
    Prefix: "root/runs/",
    MaxKeys: 3,
    StartAfter: "root/runs/k1",
  });
  const last = await s.listKeys("runs/", { pageSize: 2, cursor: second.cursor! });
  assert.deepEqual(last, { keys: ["runs/k4"] });
  await assert.rejects(s.listKeys("runs/", { cursor: "bad cursor" }), /Invalid listKeys cursor/);
});

Deno.test("S3Storage: listKeys pages past S3's 1000 keys with continuation tokens", async () => {
  const fake = new FakeS3();
  const s = fixture(fake);
  for (let i = 0; i < 2500; i++) {
    const k = `k${String(i).padStart(5, "0")}`;
    fake.objects.set(k, { bytes: new Uint8Array(0), etag: '""' });
  }
  fake.calls.length = 0;
  const page = await s.listKeys("", { pageSize: 2200 });
  assert.equal(page.keys.length, 2200);
  assert.equal(page.cursor, "k02199");
  const inputs = fake.callsOf("listObjectsV2") as { MaxKeys: number; ContinuationToken?: string }[];
  assert.deepEqual(inputs.map((i) => i.MaxKeys), [1000, 1000, 201]);
  assert.equal(inputs[1]!.ContinuationToken, "k00999");
  fake.calls.length = 0;
  const rest = await s.listKeys("", { pageSize: 1000, cursor: page.cursor! });
  assert.deepEqual(rest.keys.length, 300);
  assert.equal(rest.cursor, undefined);
  // The default page of 1000 takes one request; S3's truncation flag tells a next page exists.
  fake.calls.length = 0;
  const d = await s.listKeys("");
  assert.equal(d.keys.length, 1000);
  assert.equal(d.cursor, "k00999");
  assert.equal(fake.callsOf("listObjectsV2").length, 1);
});

Deno.test("S3Storage: keys live under the prefix; description names bucket and endpoint", async () => {
  const fake = new FakeS3();
  const s = fixture(fake, { prefix: "evochora/", endpoint: "http://127.0.0.1:9" });
  assert.equal(s.description, "s3://b/evochora/ at http://127.0.0.1:9");
  assert.equal(fixture(fake, { prefix: "a/b" }).prefix, "a/b/");
  assert.equal(fixture(fake).description.startsWith("s3://b/"), true);
  await put(s, "runs/x", text("1"));
  assert.ok(fake.objects.has("evochora/runs/x"));
  for (const prefix of ["/a", "a//b", "../x", "a b", "a/./b"]) {
    assert.throws(() => fixture(fake, { prefix }), /Invalid S3 prefix/);
  }
});

Deno.test("S3Storage: options are checked", () => {
  const fake = new FakeS3();
  assert.throws(() => fixture(fake, { partSize: MIN_PART_SIZE - 1 }), /partSize.*5 MiB/);
  assert.throws(() => fixture(fake, { partConcurrency: 0 }), /partConcurrency/);
  assert.throws(
    () => fixture(fake, { conditionalWrites: "maybe" as "auto" }),
    /"auto", "required" or "check"/,
  );
  assert.throws(() => fixture(fake, { bucket: "" }), /bucket/);
  assert.throws(() => fixture(fake, { endpoint: "localhost:9000" }), /Invalid S3 endpoint/);
});

Deno.test("S3Storage: HEAD and GET errors other than 404 name the key", async () => {
  const fake = new FakeS3();
  fake.fail = (op) =>
    op === "headObject" || op === "getObject" ? s3Error("AccessDenied", 403) : undefined;
  const s = fixture(fake, { prefix: "p" });
  await assert.rejects(s.size("a/b"), /Cannot read 'a\/b' \(s3:\/\/b\/p\/a\/b\): HTTP 403/);
  await assert.rejects(s.exists("a/b"), /Cannot read 'a\/b'/);
  await assert.rejects(s.read("a/b"), /Cannot read 'a\/b'.*AccessDenied/);
  await assert.rejects(s.openReader("a/b"), /Cannot read 'a\/b'/);
  fake.fail = undefined;
  await assert.rejects(s.read("a/b"), NotFoundError);
});

Deno.test("S3Storage: read() retries a body that breaks off; stream errors name the key", async () => {
  const fake = new FakeS3();
  const s = fixture(fake);
  await put(s, "k", text("data"));
  const real = fake.getObject.bind(fake);
  let breaks = 2;
  fake.getObject = async (input) => {
    const out = await real(input);
    if (breaks-- <= 0) return out;
    const reset = () => Promise.reject(networkError("ECONNRESET"));
    return {
      Body: {
        transformToByteArray: reset,
        transformToWebStream: () =>
          new ReadableStream({ pull: (c) => c.error(networkError("ECONNRESET")) }),
      },
    };
  };
  assert.deepEqual(await s.read("k"), text("data"));
  breaks = 1;
  const stream = await s.openReader("k");
  await assert.rejects(
    (async () => {
      for await (const _ of stream) { /* drain */ }
    })(),
    /Cannot read 'k' \(s3:\/\/b\/k\): .*ECONNRESET/,
  );
});

Deno.test("S3Storage.open: a bucket problem is an S3BucketError saying what to do", async () => {
  const cases: [Error, RegExp][] = [
    [
      s3Error("NotFound", 404),
      /bucket .b. at http:\/\/h:1: the bucket does not exist.*aws s3 mb s3:\/\/b`/,
    ],
    [s3Error("Forbidden", 403), /access denied.*AWS_ACCESS_KEY_ID/],
    [networkError("ECONNREFUSED"), /cannot be reached.*ECONNREFUSED.*services:up/],
    [s3Error("PermanentRedirect", 301), /another region.*AWS_REGION/],
  ];
  for (const [error, pattern] of cases) {
    const fake = new FakeS3();
    fake.fail = (op) => (op === "headBucket" ? error : undefined);
    await assert.rejects(
      S3Storage.open({ bucket: "b", operations: fake, endpoint: "http://h:1" }),
      (e: unknown) => {
        assert.ok(e instanceof S3BucketError);
        assert.match(e.message, pattern);
        return true;
      },
    );
    assert.equal(fake.destroyed, true, "the failed storage is closed");
  }
  const ok = await S3Storage.open({ bucket: "b", operations: new FakeS3() });
  await ok.close();
});

Deno.test("S3Storage: a closed storage refuses calls", async () => {
  const fake = new FakeS3();
  const s = fixture(fake);
  await s.close();
  assert.equal(fake.destroyed, true);
  await assert.rejects(s.openWriter("k"), /closed/);
  await assert.rejects(s.read("k"), /closed/);
  await assert.rejects(s.listKeys(""), /closed/);
});

Deno.test("resolveS3ClientOptions: environment defaults, never config files", () => {
  const names = [
    "AWS_ENDPOINT",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
  ];
  const saved = new Map(names.map((n) => [n, Deno.env.get(n)]));
  try {
    for (const n of names) Deno.env.delete(n);
    assert.deepEqual(resolveS3ClientOptions(), {
      endpoint: undefined,
      endpointSource: "AWS_ENDPOINT",
      region: "us-east-1",
      credentials: undefined,
      forcePathStyle: false,
    });
    Deno.env.set("AWS_ENDPOINT", "http://127.0.0.1:18333");
    Deno.env.set("AWS_REGION", "eu-central-1");
    Deno.env.set("AWS_ACCESS_KEY_ID", "ak");
    Deno.env.set("AWS_SECRET_ACCESS_KEY", "sk");
    assert.deepEqual(resolveS3ClientOptions(), {
      endpoint: "http://127.0.0.1:18333",
      endpointSource: "AWS_ENDPOINT",
      region: "eu-central-1",
      credentials: { accessKeyId: "ak", secretAccessKey: "sk" },
      forcePathStyle: true,
    });
    assert.equal(resolveS3ClientOptions({ forcePathStyle: false }).forcePathStyle, false);
    assert.equal(resolveS3ClientOptions({ region: "x" }).region, "x");
    Deno.env.delete("AWS_ENDPOINT");
    Deno.env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9000");
    assert.equal(resolveS3ClientOptions().endpointSource, "AWS_ENDPOINT_URL");
    assert.equal(resolveS3ClientOptions({ endpoint: "http://h:1" }).endpointSource, "endpoint");
    Deno.env.delete("AWS_SECRET_ACCESS_KEY");
    assert.equal(resolveS3ClientOptions().credentials, undefined);
    assert.throws(() => new S3Storage({ bucket: "b" }), /No S3 credentials.*not read/);
  } finally {
    for (const [n, v] of saved) v === undefined ? Deno.env.delete(n) : Deno.env.set(n, v);
  }
});

Deno.test("backoffDelay: doubles from the base within [cap/2, cap], capped", () => {
  assert.equal(backoffDelay(0, 100, 5000, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 5000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 5000, () => 1), 800);
  assert.equal(backoffDelay(20, 100, 5000, () => 1), 5000);
  assert.equal(backoffDelay(20, 100, 5000, () => 0), 2500);
});

Deno.test("BackoffRetryStrategy: retries throttling, transient and 5xx but not 501 or 4xx", async () => {
  const strategy = new BackoffRetryStrategy(3, { baseDelayMs: 100, maxDelayMs: 1000 }, () => 1);
  const first = await strategy.acquireInitialRetryToken("");
  const info = (errorType: RetryErrorInfo["errorType"], status?: number): RetryErrorInfo => ({
    errorType,
    error: s3Error("E", status) as NonNullable<RetryErrorInfo["error"]>,
  });
  const t1 = await strategy.refreshRetryTokenForRetry(first, info("TRANSIENT", 503));
  assert.equal(t1.getRetryCount(), 1);
  assert.equal(t1.getRetryDelay(), 100);
  const t2 = await strategy.refreshRetryTokenForRetry(t1, info("THROTTLING", 503));
  assert.equal(t2.getRetryDelay(), 1000, "throttling: 5x base, doubled, capped");
  await assert.rejects(strategy.refreshRetryTokenForRetry(t2, info("TRANSIENT")), "3 attempts");
  assert.equal(
    (await strategy.refreshRetryTokenForRetry(first, info("SERVER_ERROR", 505))).getRetryCount(),
    1,
  );
  await assert.rejects(strategy.refreshRetryTokenForRetry(first, info("SERVER_ERROR", 501)));
  await assert.rejects(strategy.refreshRetryTokenForRetry(first, info("CLIENT_ERROR", 403)));
  const hinted = await strategy.refreshRetryTokenForRetry(first, {
    ...info("THROTTLING", 503),
    retryAfterHint: new Date(Date.now() + 700),
  });
  assert.ok(hinted.getRetryDelay() >= 600 && hinted.getRetryDelay() <= 700, "Retry-After");
});

/** A request handler that answers from a script, for the SDK's own retry loop. */
function scriptedHandler(answers: { status: number; headers?: Record<string, string> }[]) {
  const seen: string[] = [];
  return {
    seen,
    handler: {
      handle(request: { method: string; path: string }) {
        seen.push(`${request.method} ${request.path}`);
        const a = answers.shift() ?? { status: 500 };
        return Promise.resolve({
          response: {
            statusCode: a.status,
            headers: a.headers ?? {},
            body: new Uint8Array(0),
          },
        });
      },
    },
  };
}

Deno.test("BackoffRetryStrategy in the SDK: 503 SlowDown and 500 are retried, 403 is not", async () => {
  const script = scriptedHandler([
    { status: 503 },
    { status: 500 },
    { status: 200, headers: { "content-length": "3", etag: '"e"' } },
    { status: 403 },
  ]);
  const client = new S3Client({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:9",
    forcePathStyle: true,
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    maxAttempts: 4,
    retryStrategy: new BackoffRetryStrategy(4, { baseDelayMs: 1, maxDelayMs: 2 }),
    requestHandler: script.handler as unknown as S3Client["config"]["requestHandler"],
  });
  try {
    const out = await client.send(new HeadObjectCommand({ Bucket: "b", Key: "k" }));
    assert.equal(out.ContentLength, 3);
    assert.equal(out.$metadata.attempts, 3);
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: "b", Key: "k" })), (e) => {
      assert.equal(describeS3Error(e), "HTTP 403 Forbidden");
      return true;
    });
    assert.equal(script.seen.length, 4);
    assert.equal(script.seen[0], "HEAD /b/k");
  } finally {
    client.destroy();
  }
});

Deno.test("multipartEtag: md5 of the part md5s and the part count", () => {
  assert.equal(
    multipartEtag(['"d41d8cd98f00b204e9800998ecf8427e"']),
    "59adb24ef3cdbe0297f05b395827453f-1",
  );
  assert.equal(multipartEtag(["not-an-md5"]), undefined);
});

Deno.test("describeS3Error: status, name and message, or the network code", () => {
  assert.equal(
    describeS3Error(s3Error("NoSuchBucket", 404)),
    "HTTP 404 NoSuchBucket: NoSuchBucket (fake S3)",
  );
  assert.equal(
    describeS3Error(networkError("ECONNREFUSED")),
    "connect ECONNREFUSED 127.0.0.1:1",
  );
  assert.equal(describeS3Error("x"), "x");
});
