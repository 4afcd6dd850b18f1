/**
 * An independent reader of a stored run, beside `inspect`: it lists the bucket itself with the
 * AWS SDK, reads every raw batch object, unframes its records (varint lengths) and reads each
 * chunk's ticks field by field with protobuf-es' wire reader (not the project's chunk decoder),
 * and counts the sampled ticks itself: every one from 0
 * to the run's last tick exactly once, batches disjoint and true to their names, and each
 * batch's three index files present. It also collects every dead letter under the prefix.
 *
 * @module
 */

import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type DeadLetter, DeadLetterSchema, fromBinary } from "../../proto/mod.ts";
import { decompressZstd } from "../../resources/storage/zstd.ts";
import { indexFileKey } from "../../services/common/index_coverage.ts";

/** Where the run is. */
export interface StoredRun {
  env: Record<string, string>;
  prefix: string;
  runId: string;
  ticks: number;
  sampling: number;
}

/** What the reader found. */
export interface StoredFindings {
  batches: number;
  chunks: number;
  samples: number;
  /** Index files missing, `kind: key` (empty: complete). */
  missingIndexes: string[];
  /** Everything wrong with the raw batches (empty: every tick once, batches disjoint). */
  problems: string[];
  deadLetters: { key: string; letter: DeadLetter }[];
}

/** An S3 client for the servers `env` names (AWS_ENDPOINT, credentials). */
export function s3Client(env: Record<string, string>): S3Client {
  return new S3Client({
    endpoint: env.AWS_ENDPOINT!,
    region: env.AWS_REGION ?? "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    },
  });
}

/** Every key under `Prefix`. */
export async function listKeys(s3: S3Client, Bucket: string, Prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys;
}

async function getBytes(s3: S3Client, Bucket: string, Key: string): Promise<Uint8Array> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  const body = await got.Body?.transformToByteArray();
  if (body === undefined) throw new Error(`GetObject ${Key}: no body`);
  return body;
}

/** The records of a size-delimited stream. */
function unframe(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) out.push(reader.bytes());
  return out;
}

/** A raw batch's key: its first and last tick. */
const BATCH = /\/raw\/\d{7}\/batch_(\d{19})_(\d{19})\.pb\.zst$/;

/** The run's index files missing for its stored batches (a listing only, no reads). */
export async function missingIndexFiles(run: StoredRun): Promise<string[]> {
  const s3 = s3Client(run.env);
  try {
    const all = await listKeys(s3, run.env.EVOCHORA_S3_BUCKET!, `${run.prefix}runs/${run.runId}/`);
    return indexFilesMissing(run, new Set(all), batchesOf(all));
  } catch (e) {
    return [`cannot list the run: ${(e as Error).message}`];
  } finally {
    s3.destroy();
  }
}

/** The raw batches among `keys`, by first tick. */
function batchesOf(keys: readonly string[]): { key: string; first: number; last: number }[] {
  return keys.flatMap((k) => {
    const m = BATCH.exec(k);
    return m === null ? [] : [{ key: k, first: Number(m[1]), last: Number(m[2]) }];
  }).sort((a, b) => a.first - b.first);
}

/** The index files of `batches` that `keys` lacks, as `kind: key`. */
function indexFilesMissing(
  run: StoredRun,
  keys: ReadonlySet<string>,
  batches: readonly { first: number; last: number }[],
): string[] {
  return batches.flatMap((b) =>
    (["stats", "organisms", "catalog"] as const).flatMap((kind) => {
      const k = run.prefix + indexFileKey(kind, run.runId, b.first, b.last);
      return keys.has(k) ? [] : [`${kind}: ${k}`];
    })
  );
}

/** Reads the run as described in the module doc. */
export async function checkStoredRun(run: StoredRun): Promise<StoredFindings> {
  const s3 = s3Client(run.env);
  const Bucket = run.env.EVOCHORA_S3_BUCKET!;
  try {
    const all = await listKeys(s3, Bucket, run.prefix);
    const keys = new Set(all);
    const runPrefix = `${run.prefix}runs/${run.runId}/`;
    const batches = batchesOf(all.filter((k) => k.startsWith(runPrefix)));
    const f: StoredFindings = {
      batches: batches.length,
      chunks: 0,
      samples: 0,
      missingIndexes: indexFilesMissing(run, keys, batches),
      problems: [],
      deadLetters: [],
    };
    const seen = new Map<number, number>();
    for (const [i, b] of batches.entries()) {
      if (i > 0 && b.first <= batches[i - 1]!.last) {
        f.problems.push(`${b.key} overlaps ${batches[i - 1]!.key}`);
      }
      await readBatch(s3, Bucket, b, seen, f);
    }
    f.samples = seen.size;
    for (let t = 0; t <= run.ticks; t += run.sampling) {
      const n = seen.get(t) ?? 0;
      if (n !== 1) f.problems.push(`tick ${t} stored ${n} times`);
      seen.delete(t);
    }
    for (const t of seen.keys()) f.problems.push(`tick ${t} stored but not sampled`);
    for (const k of all.filter((k) => k.includes("/dead-letter/"))) {
      f.deadLetters.push({
        key: k,
        letter: fromBinary(DeadLetterSchema, await getBytes(s3, Bucket, k)),
      });
    }
    return f;
  } finally {
    s3.destroy();
  }
}

/** Field 1 (the tick) of a TickData or TickDelta, skipping the rest; 0 when absent (proto3). */
function tickOf(message: Uint8Array): number {
  const r = new BinaryReader(message);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1) return Number(r.int64());
    r.skip(wireType);
  }
  return 0;
}

/**
 * A TickDataChunk's first and last tick (fields 2, 3), its snapshot's tick (4) and its deltas'
 * ticks (5), read field by field with protobuf-es' wire reader: the cells are skipped, not
 * decoded, so reading a long run stays cheap.
 */
function chunkTicks(
  bytes: Uint8Array,
): { first: number; last: number; ticks: number[]; snapshot: boolean } {
  const out = { first: 0, last: 0, ticks: [] as number[], snapshot: false };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 2) out.first = Number(r.int64());
    else if (field === 3) out.last = Number(r.int64());
    else if (field === 4 || field === 5) {
      out.ticks.push(tickOf(r.bytes()));
      if (field === 4) out.snapshot = true;
    } else r.skip(wireType);
  }
  return out;
}

/** Reads one batch, counting its ticks into `seen`. */
async function readBatch(
  s3: S3Client,
  Bucket: string,
  b: { key: string; first: number; last: number },
  seen: Map<number, number>,
  f: StoredFindings,
): Promise<void> {
  const records = unframe(decompressZstd(await getBytes(s3, Bucket, b.key)));
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of records) {
    const chunk = chunkTicks(r);
    f.chunks++;
    if (!chunk.snapshot) f.problems.push(`${b.key}: a chunk without a snapshot`);
    for (const t of chunk.ticks) seen.set(t, (seen.get(t) ?? 0) + 1);
    lo = Math.min(lo, chunk.first);
    hi = Math.max(hi, chunk.last);
  }
  if (lo !== b.first || hi !== b.last) {
    f.problems.push(`${b.key} holds ticks ${lo}..${hi}`);
  }
}
