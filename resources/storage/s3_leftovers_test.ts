import assert from "node:assert/strict";
import { FakeS3, s3Error } from "./s3_fake.ts";
import { MIN_PART_SIZE, S3Storage } from "./s3_storage.ts";
import { patternBytes } from "./storage_contract.ts";

function storage(fake: FakeS3): S3Storage {
  return new S3Storage({
    bucket: "b",
    prefix: "evochora",
    operations: fake,
    partSize: MIN_PART_SIZE,
    conditionalWrites: "check",
    backoff: { baseDelayMs: 1, maxDelayMs: 2 },
  });
}

/** A writer that started its multipart upload and was then abandoned (its process killed). */
async function abandonUpload(s: S3Storage, key: string): Promise<void> {
  const w = await s.openWriter(key);
  await w.write(patternBytes(MIN_PART_SIZE + 1)); // the first part goes out
}

Deno.test("S3Storage: the sweep aborts multipart uploads begun longer ago than its age", async () => {
  const fake = new FakeS3();
  const s = storage(fake);
  const hourAgo = new Date(Date.now() - 3_600_000);
  fake.now = () => hourAgo;
  await abandonUpload(s, "runs/r1/raw/0000000/batch_old.pb.zst");
  fake.now = () => new Date();
  await abandonUpload(s, "runs/r1/raw/0000000/batch_young.pb.zst");
  await abandonUpload(s, "runs/r2/raw/0000000/batch_other.pb.zst");
  const swept = await s.sweepLeftovers({ prefix: "runs/r1/", olderThanMs: 600_000 });
  assert.equal(swept.length, 1);
  assert.equal(swept[0]!.key, "runs/r1/raw/0000000/batch_old.pb.zst");
  assert.equal(swept[0]!.kind, "multipart upload");
  assert.ok(swept[0]!.ageMs >= 3_600_000);
  assert.deepEqual(
    [...fake.uploads.values()].map((u) => u.key).sort(),
    [
      "evochora/runs/r1/raw/0000000/batch_young.pb.zst",
      "evochora/runs/r2/raw/0000000/batch_other.pb.zst",
    ],
  );
  const all = await s.sweepLeftovers({ olderThanMs: 0 });
  assert.equal(all.length, 2);
  assert.equal(fake.uploads.size, 0);
});

Deno.test("S3Storage: the sweep pages through more than one listing of uploads", async () => {
  const fake = new FakeS3();
  const s = storage(fake);
  fake.now = () => new Date(Date.now() - 3_600_000);
  for (let i = 0; i < 1003; i++) {
    await fake.createMultipartUpload({ Bucket: "b", Key: `evochora/runs/r/k${i}` });
  }
  fake.now = () => new Date();
  const swept = await s.sweepLeftovers({ olderThanMs: 60_000 });
  assert.equal(swept.length, 1003);
  assert.equal(fake.callsOf("listMultipartUploads").length, 2);
  assert.equal(fake.uploads.size, 0);
});

Deno.test("S3Storage: a server that cannot list uploads sweeps nothing and fails nothing", async () => {
  const fake = new FakeS3();
  const s = storage(fake);
  fake.fail = (op) => op === "listMultipartUploads" ? s3Error("NotImplemented", 501) : undefined;
  assert.deepEqual(await s.sweepLeftovers({ olderThanMs: 0 }), []);
  fake.fail = (op) => op === "listMultipartUploads" ? s3Error("AccessDenied", 403) : undefined;
  await assert.rejects(
    s.sweepLeftovers({ olderThanMs: 0 }),
    // The description names the endpoint too when the environment gives one.
    /Cannot list pending uploads under '' in s3:\/\/b\/evochora\/( at \S+)?: .*403/,
  );
});
