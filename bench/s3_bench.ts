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

/** The aws-sdk alone: one PutObject, or a multipart upload like S3Storage's (same parts). */
async function plainUpload(
  client: S3Client,
  bucket: string,
  key: string,
  data: Uint8Array,
  partSize: number,
  concurrency: number,
): Promise<void> {
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
      const out: Figure[] = [];
      let round = 0;
      try {
        const shapes = [
          { label: "4 MiB objects (one PutObject each)", size: 4 * MiB },
          { label: "24 MiB objects (3 parts of 8 MiB, 2 in flight)", size: 24 * MiB },
        ];
        for (const shape of shapes) {
          const count = Math.max(1, Math.round(totalMB * 1e6 / shape.size));
          const objects = Array.from({ length: count }, (_, i) => patternBytes(shape.size, i + 1));
          const mb = count * shape.size / 1e6;

          // One pass of each way of writing, per round, interleaved so that drift in the
          // server (compactions, warm caches) does not favour one of them.
          const storagePass = (options: Partial<S3StorageOptions>) => async () => {
            const storage = new S3Storage({ ...base, prefix: `${prefix}${round++}`, ...options });
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
          };
          const plainPass = async () => {
            const p = `${prefix}${round++}/`;
            const t = performance.now();
            for (const [i, data] of objects.entries()) {
              await plainUpload(
                client,
                server.bucket,
                `${p}batch_${i}.pb.zst`,
                data,
                DEFAULT_PART_SIZE,
                DEFAULT_PART_CONCURRENCY,
              );
            }
            return performance.now() - t;
          };
          const passes = [
            plainPass,
            storagePass({}),
            storagePass({ conditionalWrites: "check" }),
            storagePass({ checksums: "when-required" }),
          ];
          const times = passes.map((): number[] => []);
          await plainPass(); // warm-up: connections, server caches
          for (let r = 0; r < rounds; r++) {
            for (const [i, pass] of passes.entries()) times[i]!.push(await pass());
            await removeAll(client, server.bucket, prefix);
          }
          const [plain, storage, checked, noCrc] = times.map((ms) => mb / (median(ms) / 1000)) as [
            number,
            number,
            number,
            number,
          ];
          out.push(
            {
              name: `aws-sdk alone, ${count} × ${shape.label}`,
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
          );
        }

        // All the bytes as one multipart upload, and reading batch objects back.
        const size = 24 * MiB;
        const count = Math.max(1, Math.round(totalMB * 1e6 / size));
        const all = patternBytes(count * size, 5);
        const ms: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const t = performance.now();
          await plainUpload(
            client,
            server.bucket,
            `${prefix}one/${r}`,
            all,
            DEFAULT_PART_SIZE,
            DEFAULT_PART_CONCURRENCY,
          );
          ms.push(performance.now() - t);
        }
        out.push({
          name: `aws-sdk alone, one ${(all.length / 1e6).toFixed(0)} MB multipart upload ` +
            `(8 MiB parts, 2 in flight)`,
          value: all.length / 1e6 / (median(ms) / 1000),
          unit: "MB/s",
        });
        const storage = new S3Storage({ ...base, prefix: `${prefix}read` });
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
          for (let r = 0; r < rounds; r++) {
            const t = performance.now();
            for (let i = 0; i < count; i++) await storage.read(`b_${i}`);
            readMs.push(performance.now() - t);
          }
          out.push({
            name: `S3Storage read(), ${count} × 24 MiB objects`,
            value: all.length / 1e6 / (median(readMs) / 1000),
            unit: "MB/s",
          });
        } finally {
          await storage.close();
        }
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
