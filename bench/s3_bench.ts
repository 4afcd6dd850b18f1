/**
 * S3 benchmark against the server of `deno task services:up` (or AWS_ENDPOINT and friends):
 * S3Storage writing ~100 MB of batch-like objects (incompressible bytes, as zstd output is,
 * handed over in 128 KiB writes) beside the aws-sdk alone writing the same bytes, in the same
 * run, with the same client settings. Run alone with `deno run -A bench/s3_bench.ts`,
 * or add {@link s3Throughput} to bench/main.ts.
 *
 * @module
 */

import {
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { type Figure, runSuites, type Suite } from "./_harness.ts";
import { s3TestServer } from "../resources/storage/s3_env.ts";
import {
  createS3Client,
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  S3Storage,
  type S3StorageOptions,
} from "../resources/storage/s3_storage.ts";
import { patternBytes } from "../resources/storage/storage_contract.ts";

const MiB = 1024 * 1024;
const WRITE = 128 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One object for {@link plainUpload}, and the parts it is cut into above `partSize`. */
interface PlainUpload {
  bucket: string;
  key: string;
  data: Uint8Array;
  partSize: number;
  /** Parts in flight at once. */
  concurrency: number;
}

/** The part settings S3Storage uses by default, so that both ways upload the same parts. */
const STORAGE_PARTS = { partSize: DEFAULT_PART_SIZE, concurrency: DEFAULT_PART_CONCURRENCY };

/** The aws-sdk alone: one PutObject, or a multipart upload like S3Storage's (same parts). */
async function plainUpload(client: S3Client, upload: PlainUpload): Promise<void> {
  const { bucket, key, data, partSize, concurrency } = upload;
  if (data.length < partSize) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
    return;
  }
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: "CRC32" }),
  );
  const parts: CompletedPart[] = [];
  let next = 0;
  const count = Math.ceil(data.length / partSize);
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const body = data.subarray(i * partSize, Math.min(data.length, (i + 1) * partSize));
      const out = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body: body,
          ChecksumAlgorithm: "CRC32",
        }),
      );
      parts[i] = { PartNumber: i + 1, ETag: out.ETag!, ChecksumCRC32: out.ChecksumCRC32! };
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

async function removeAll(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (out.Contents ?? []).map((o) => o.Key!);
    if (keys.length === 0) return;
    await Promise.all(
      keys.map((Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
    );
  }
}

/** What every step of one run shares. */
interface S3Bench {
  /** The settings of every S3Storage, before its prefix and the options a pass varies. */
  base: S3StorageOptions;
  client: S3Client;
  bucket: string;
  /** The run's own prefix, under which every object goes (and is removed from). */
  prefix: string;
  totalMB: number;
  rounds: number;
  /** A fresh prefix under `prefix` (no trailing slash) for one pass. */
  nextPrefix(): string;
}

/** One object size: its row label and bytes per object. */
interface Shape {
  label: string;
  size: number;
}

/** The object sizes compared: below S3Storage's part size, and a multipart one. */
const SHAPES: readonly Shape[] = [
  { label: "4 MiB objects (one PutObject each)", size: 4 * MiB },
  { label: "24 MiB objects (3 parts of 8 MiB, 2 in flight)", size: 24 * MiB },
];

/** Size of the objects the whole-run upload and the reads are cut into. */
const READ_OBJECT = 24 * MiB;

/**
 * S3Storage writing `objects` in 128 KiB writes, as batches are handed over; wall ms. Each pass
 * writes under a fresh prefix, so it never meets another pass's objects.
 */
async function storagePass(
  bench: S3Bench,
  objects: readonly Uint8Array[],
  options: Partial<S3StorageOptions>,
): Promise<number> {
  const storage = new S3Storage({ ...bench.base, prefix: bench.nextPrefix(), ...options });
  await storage.conditionalWriteSupport(); // the one-off probe is not timed
  const t = performance.now();
  for (const [i, data] of objects.entries()) {
    const w = await storage.openWriter(`batch_${i}.pb.zst`);
    for (let p = 0; p < data.length; p += WRITE) {
      await w.write(data.subarray(p, Math.min(data.length, p + WRITE)));
    }
    await w.commit();
  }
  const ms = performance.now() - t;
  await storage.close();
  return ms;
}

/** The aws-sdk alone writing the same objects under a fresh prefix; wall ms. */
async function plainPass(bench: S3Bench, objects: readonly Uint8Array[]): Promise<number> {
  const p = `${bench.nextPrefix()}/`;
  const t = performance.now();
  for (const [i, data] of objects.entries()) {
    await plainUpload(bench.client, {
      bucket: bench.bucket,
      key: `${p}batch_${i}.pb.zst`,
      data,
      ...STORAGE_PARTS,
    });
  }
  return performance.now() - t;
}

/** MB/s of each way of writing one shape's objects. */
interface ShapeRates {
  plain: number;
  storage: number;
  checked: number;
  noCrc: number;
}

/**
 * ~`totalMB` of `shape`'s objects written four ways: one pass of each per round, interleaved so
 * that drift in the server (compactions, warm caches) does not favour one of them.
 */
async function measureShape(bench: S3Bench, shape: Shape): Promise<Figure[]> {
  const count = Math.max(1, Math.round(bench.totalMB * 1e6 / shape.size));
  const objects = Array.from({ length: count }, (_, i) => patternBytes(shape.size, i + 1));
  const mb = count * shape.size / 1e6;
  const passes = [
    () => plainPass(bench, objects),
    () => storagePass(bench, objects, {}),
    () => storagePass(bench, objects, { conditionalWrites: "check" }),
    () => storagePass(bench, objects, { checksums: "when-required" }),
  ];
  const times = passes.map((): number[] => []);
  await plainPass(bench, objects); // warm-up: connections, server caches
  for (let r = 0; r < bench.rounds; r++) {
    for (const [i, pass] of passes.entries()) times[i]!.push(await pass());
    await removeAll(bench.client, bench.bucket, bench.prefix);
  }
  const [plain, storage, checked, noCrc] = times.map((ms) => mb / (median(ms) / 1000)) as [
    number,
    number,
    number,
    number,
  ];
  return shapeFigures(`${count} × ${shape.label}`, { plain, storage, checked, noCrc });
}

/** One shape's rows: the aws-sdk alone (labelled with `objects`), then S3Storage's three ways. */
function shapeFigures(objects: string, rates: ShapeRates): Figure[] {
  const { plain, storage, checked, noCrc } = rates;
  return [
    {
      name: `aws-sdk alone, ${objects}`,
      value: plain,
      unit: "MB/s",
    },
    {
      name: `S3Storage, same objects (If-None-Match)`,
      value: storage,
      unit: "MB/s",
      ratio: storage / plain,
      ratioOf: "of aws-sdk alone",
    },
    {
      name: `S3Storage, conditionalWrites "check" (HeadObject first)`,
      value: checked,
      unit: "MB/s",
      ratio: checked / plain,
      ratioOf: "of aws-sdk alone",
    },
    {
      name: `S3Storage, checksums "when-required" (no CRC32)`,
      value: noCrc,
      unit: "MB/s",
      ratio: noCrc / plain,
      ratioOf: "of aws-sdk alone",
    },
  ];
}

/** All of `all` as one multipart upload through the aws-sdk alone, once per round. */
async function measureOneUpload(bench: S3Bench, all: Uint8Array): Promise<Figure> {
  const ms: number[] = [];
  for (let r = 0; r < bench.rounds; r++) {
    const t = performance.now();
    await plainUpload(bench.client, {
      bucket: bench.bucket,
      key: `${bench.prefix}one/${r}`,
      data: all,
      ...STORAGE_PARTS,
    });
    ms.push(performance.now() - t);
  }
  return {
    name: `aws-sdk alone, one ${(all.length / 1e6).toFixed(0)} MB multipart upload ` +
      `(8 MiB parts, 2 in flight)`,
    value: all.length / 1e6 / (median(ms) / 1000),
    unit: "MB/s",
  };
}

/** S3Storage read() of `all` stored as `count` batch objects (written untimed first). */
async function measureReads(bench: S3Bench, all: Uint8Array, count: number): Promise<Figure> {
  const size = READ_OBJECT;
  const storage = new S3Storage({ ...bench.base, prefix: `${bench.prefix}read` });
  try {
    const objects = Array.from(
      { length: count },
      (_, i) => all.subarray(i * size, (i + 1) * size),
    );
    for (const [i, data] of objects.entries()) {
      const w = await storage.openWriter(`b_${i}`);
      await w.write(data);
      await w.commit();
    }
    const readMs: number[] = [];
    for (let r = 0; r < bench.rounds; r++) {
      const t = performance.now();
      for (let i = 0; i < count; i++) await storage.read(`b_${i}`);
      readMs.push(performance.now() - t);
    }
    return {
      name: `S3Storage read(), ${count} × 24 MiB objects`,
      value: all.length / 1e6 / (median(readMs) / 1000),
      unit: "MB/s",
    };
  } finally {
    await storage.close();
  }
}

/** S3Storage vs the aws-sdk alone, ~`totalMB` MB per case, median of `rounds`. */
export function s3Benchmark(totalMB = 100, rounds = 5): Suite {
  return {
    name: `storage: S3 (SeaweedFS or AWS_ENDPOINT), ~${totalMB} MB of batch-like objects`,
    async run(): Promise<Figure[]> {
      const server = await s3TestServer();
      const base: S3StorageOptions = {
        bucket: server.bucket,
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
      };
      const prefix = `bench-${Date.now().toString(36)}/`;
      const client = createS3Client(base);
      let round = 0;
      const bench: S3Bench = {
        base,
        client,
        bucket: server.bucket,
        prefix,
        totalMB,
        rounds,
        nextPrefix: () => `${prefix}${round++}`,
      };
      const out: Figure[] = [];
      try {
        for (const shape of SHAPES) out.push(...await measureShape(bench, shape));
        // All the bytes as one multipart upload, and reading batch objects back.
        const count = Math.max(1, Math.round(totalMB * 1e6 / READ_OBJECT));
        const all = patternBytes(count * READ_OBJECT, 5);
        out.push(await measureOneUpload(bench, all));
        out.push(await measureReads(bench, all, count));
      } finally {
        await removeAll(client, server.bucket, prefix).catch(() => {});
        client.destroy();
      }
      return out;
    },
  };
}

/** The default S3 suite, for bench/main.ts (needs the S3 server). */
export const s3Throughput: Suite = s3Benchmark();

if (import.meta.main) {
  const mb = Deno.args[0] === undefined ? undefined : Number(Deno.args[0]);
  await runSuites([s3Benchmark(mb)]);
}
