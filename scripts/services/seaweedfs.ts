// SeaweedFS as the local S3 server: built once from the Go module proxy into the cache, started as
// `weed server -s3` on loopback ports, checked with real S3 requests through `@aws-sdk/client-s3`.

import {
  allPorts,
  SEAWEEDFS_MODULE,
  SEAWEEDFS_RELEASE,
  SEAWEEDFS_VERSION,
  type ServicesConfig,
} from "./config.ts";
import {
  exists,
  isAlive,
  requireTool,
  run,
  runLogged,
  say,
  seconds,
  ServiceError,
  sleep,
  spawnDetached,
  type StartOptions,
  stopFromPidFile,
  tail,
  writeAtomic,
} from "./_proc.ts";
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";

const COMMIT = SEAWEEDFS_VERSION.slice(SEAWEEDFS_VERSION.lastIndexOf("-") + 1);

export function weedBinary(cfg: ServicesConfig): string {
  return `${cfg.cacheRoot}/bin/weed-${SEAWEEDFS_RELEASE}-${COMMIT}`;
}

export function seaweedRunDir(cfg: ServicesConfig): string {
  return `${cfg.runDir}/seaweedfs`;
}

export function seaweedPidFile(cfg: ServicesConfig): string {
  return `${cfg.runDir}/seaweedfs.pid`;
}

export async function seaweedfsProvisioned(cfg: ServicesConfig): Promise<boolean> {
  return await exists(weedBinary(cfg));
}

/** Go's caches live under the evochora cache, so the build is reused and the repo stays clean. */
function goEnv(cfg: ServicesConfig): Record<string, string> {
  return {
    ...Deno.env.toObject(),
    GO111MODULE: "on",
    GOMODCACHE: `${cfg.cacheRoot}/go/mod`,
    GOCACHE: `${cfg.cacheRoot}/go/build`,
    GOFLAGS: "-buildvcs=false",
    CGO_ENABLED: "0",
  };
}

/**
 * Builds `weed` at the pinned version unless the cache has it. `go install module/weed@version`
 * is refused because SeaweedFS's go.mod has a replace directive, so the module is downloaded
 * from the Go module proxy and built as the main module, with its own go.sum.
 */
export async function provisionSeaweedfs(cfg: ServicesConfig): Promise<boolean> {
  const bin = weedBinary(cfg);
  if (await seaweedfsProvisioned(cfg)) return false;
  const go = requireTool("go");
  const goVersion = (await run(go, ["env", "GOVERSION"])).stdout.trim(); // e.g. go1.26.8
  const [, major, minor] = goVersion.match(/^go(\d+)\.(\d+)/) ?? [];
  if (Number(major) < 1 || (Number(major) === 1 && Number(minor) < 21)) {
    throw new ServiceError(
      `SeaweedFS needs Go 1.26; 'go' on PATH is ${goVersion || "unknown"}, too old to fetch a ` +
        "newer toolchain by itself (Go 1.21+ does, from the Go module proxy). Put Go 1.21 or " +
        "newer on PATH (Debian 12's golang-go package is Go 1.19)",
    );
  }
  const t0 = performance.now();
  const logDir = `${cfg.cacheRoot}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  await Deno.mkdir(`${cfg.cacheRoot}/bin`, { recursive: true });
  const log = `${logDir}/weed-build.log`;
  await Deno.writeTextFile(log, "");
  say(`building SeaweedFS ${SEAWEEDFS_RELEASE} (${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}) ...`);
  const env = goEnv(cfg);
  const scratch = await Deno.makeTempDir({ prefix: "evochora-weed-" });
  try {
    const dl = await run(go, [
      "mod",
      "download",
      "-json",
      `${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION}`,
    ], {
      cwd: scratch,
      env,
    });
    await Deno.writeTextFile(log, dl.stdout + dl.stderr, { append: true });
    let dir: string | undefined;
    try {
      dir = (JSON.parse(dl.stdout) as { Dir?: string }).Dir;
    } catch {
      // reported below
    }
    if (dl.code !== 0 || !dir) {
      throw new ServiceError(
        `downloading ${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION} from the Go module proxy failed; ` +
          `last lines of ${log}:\n${await tail(log, 20)}`,
      );
    }
    const tmpBin = `${bin}.tmp-${Deno.pid}`;
    await runLogged(
      "go build of weed",
      go,
      [
        "build",
        "-trimpath",
        "-ldflags",
        `-s -w -X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${COMMIT}`,
        "-o",
        tmpBin,
        "./weed",
      ],
      log,
      { cwd: dir, env },
    );
    const v = await run(tmpBin, ["version"]);
    if (!v.stdout.includes(SEAWEEDFS_RELEASE)) {
      throw new ServiceError(
        `built weed reports '${v.stdout.trim()}', expected version ${SEAWEEDFS_RELEASE}`,
      );
    }
    await Deno.rename(tmpBin, bin);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
  say(`built ${bin} in ${seconds(t0)}`);
  return true;
}

/**
 * An SDK client for the local gateway. Endpoint, region and credentials come from the config and
 * every setting the SDK would otherwise look up in `AWS_*` or `~/.aws/config` is given, so a
 * developer's real AWS setup never takes part in the check.
 */
function s3Client(cfg: ServicesConfig): S3Client {
  return new S3Client({
    endpoint: s3Endpoint(cfg),
    region: cfg.s3.region,
    credentials: { accessKeyId: cfg.s3.accessKey, secretAccessKey: cfg.s3.secretKey },
    forcePathStyle: true,
    maxAttempts: 1, // waitSeaweedfs repeats the whole check
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      throwOnRequestTimeout: true,
    },
    expectContinueHeader: false,
    // Plain SigV4 requests, no CRC32 headers: the check asks only what every S3 server speaks.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    defaultsMode: "standard",
    retryMode: "standard",
    useDualstackEndpoint: false,
    useFipsEndpoint: false,
    useArnRegion: false,
    disableS3ExpressSessionAuth: true,
    userAgentAppId: "evochora-services",
  });
}

function s3Endpoint(cfg: ServicesConfig): string {
  return `http://${cfg.host}:${cfg.s3.port}`;
}

/**
 * Starts `weed server` (master, volume, filer, S3 gateway in one process) detached; a restart
 * on the same run directory keeps its data.
 */
export async function startSeaweedfs(
  cfg: ServicesConfig,
  opts: StartOptions = {},
): Promise<number> {
  const dir = seaweedRunDir(cfg);
  const data = `${dir}/data`;
  await Deno.mkdir(data, { recursive: true });
  const identities = {
    identities: [{
      name: "evochora",
      credentials: [{ accessKey: cfg.s3.accessKey, secretKey: cfg.s3.secretKey }],
      actions: ["Admin", "Read", "List", "Tagging", "Write"],
    }],
  };
  const s3Config = `${dir}/s3.json`;
  await Deno.writeTextFile(s3Config, JSON.stringify(identities, null, 2) + "\n");
  const p = allPorts(cfg);
  const args = [
    "server",
    `-dir=${data}`,
    `-ip=${cfg.host}`,
    `-ip.bind=${cfg.host}`,
    `-master.port=${p["weed master"]}`,
    `-master.port.grpc=${p["weed master grpc"]}`,
    "-master.volumeSizeLimitMB=1024",
    "-master.defaultReplication=000",
    `-volume.port=${p["weed volume"]}`,
    `-volume.port.grpc=${p["weed volume grpc"]}`,
    "-volume.max=0", // as many volumes as the free disk holds
    "-volume.preStopSeconds=0", // stop at once on SIGTERM
    "-filer",
    `-filer.port=${p["weed filer"]}`,
    `-filer.port.grpc=${p["weed filer grpc"]}`,
    "-s3",
    `-s3.port=${p["s3"]}`,
    `-s3.port.grpc=${p["s3 grpc"]}`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-s3.config=${s3Config}`,
    "-s3.autoCreateBucket=false", // as on AWS: a PutObject into a missing bucket fails
  ];
  const [cmd, ...prefix] = [...(opts.launcher ?? []), weedBinary(cfg)];
  return await spawnDetached({
    cmd: cmd!,
    args: [...prefix, ...args],
    cwd: dir, // no filer.toml here: the filer keeps its metadata in leveldb under -dir
    logFile: `${dir}/weed.log`,
    pidFile: seaweedPidFile(cfg),
  });
}

export interface S3Findings {
  /** PutObject with `If-None-Match: *` on an existing key answers 412. */
  putIfNoneMatch: boolean;
  /** CompleteMultipartUpload with `If-None-Match: *` on an existing key answers 412. */
  completeMultipartIfNoneMatch: boolean;
}

/** The HTTP status of an SDK error, if the server answered at all. */
function httpStatus(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null || !("$metadata" in e)) return undefined;
  const meta = e.$metadata;
  if (typeof meta !== "object" || meta === null || !("httpStatusCode" in meta)) return undefined;
  return typeof meta.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

/**
 * A 412, or the `PreconditionFailed` error some servers send in a 200 answer to
 * CompleteMultipartUpload (the SDK throws that as the error it names).
 */
function preconditionFailed(e: unknown): boolean {
  return httpStatus(e) === 412 || (e instanceof Error && e.name === "PreconditionFailed");
}

/** An error naming the request and what the server (or the socket) said. */
function failed(what: string, e: unknown): Error {
  const status = httpStatus(e);
  const name = e instanceof Error ? e.name : "Error";
  const message = e instanceof Error ? e.message : String(e);
  const http = status === undefined ? "" : `HTTP ${status} `;
  return new Error(`${what}: ${http}${name}: ${message}`, { cause: e });
}

/** Runs one request; a failure names the request. */
async function step<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    throw failed(what, e);
  }
}

/** A conditional write that the server may refuse: true when it answered 412. */
async function refused(what: string, write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return false;
  } catch (e) {
    if (preconditionFailed(e)) return true;
    throw failed(what, e);
  }
}

/**
 * Uploads `parts` as one multipart object, completing with `If-None-Match: *`. Returns true when
 * the completion was refused with 412; every failure aborts the upload (best effort).
 */
async function multipart(
  s3: S3Client,
  Bucket: string,
  Key: string,
  parts: Uint8Array[],
  what: string,
): Promise<boolean> {
  const created = await step(
    "CreateMultipartUpload",
    () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key })),
  );
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error(`CreateMultipartUpload: no UploadId for ${Key}`);
  let done = false;
  try {
    const etags: CompletedPart[] = [];
    for (const [i, Body] of parts.entries()) {
      const PartNumber = i + 1;
      const up = await step(
        `UploadPart ${PartNumber}`,
        () => s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body })),
      );
      etags.push({ PartNumber, ETag: up.ETag });
    }
    const wasRefused = await refused(
      `CompleteMultipartUpload If-None-Match ${what}`,
      () =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket,
            Key,
            UploadId,
            IfNoneMatch: "*",
            MultipartUpload: { Parts: etags },
          }),
        ),
    );
    done = !wasRefused;
    return wasRefused;
  } finally {
    if (!done) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {});
    }
  }
}

/**
 * Creates the bucket unless this account owns it already. Being the first request, its failure
 * without an HTTP answer means nothing listens at the endpoint.
 */
async function ensureBucket(s3: S3Client, cfg: ServicesConfig): Promise<void> {
  const Bucket = cfg.s3.bucket;
  try {
    await s3.send(new CreateBucketCommand({ Bucket }));
  } catch (e) {
    if (e instanceof Error && e.name === "BucketAlreadyOwnedByYou") return;
    if (httpStatus(e) !== undefined) throw failed(`CreateBucket ${Bucket}`, e);
    throw new Error(
      `Cannot reach S3 at ${s3Endpoint(cfg)}: ${e instanceof Error ? e.message : String(e)} ` +
        "(is SeaweedFS running? deno task services:up starts it)",
      { cause: e },
    );
  }
}

async function getText(s3: S3Client, Bucket: string, Key: string): Promise<string | undefined> {
  const got = await step(`GetObject ${Key}`, () => s3.send(new GetObjectCommand({ Bucket, Key })));
  return await got.Body?.transformToString();
}

/**
 * One real round trip with `@aws-sdk/client-s3`: create the bucket, PutObject, GetObject,
 * ListObjectsV2, multipart upload, and the two conditional writes the project's storage relies
 * on. Cleans up its own objects.
 */
export async function checkS3(cfg: ServicesConfig): Promise<S3Findings> {
  const s3 = s3Client(cfg);
  try {
    await ensureBucket(s3, cfg);
  } catch (e) {
    s3.destroy();
    throw e;
  }
  const prefix = `.evochora-services-health/${crypto.randomUUID()}`;
  const keys = [`${prefix}/a.txt`, `${prefix}/b.txt`, `${prefix}/c.bin`] as const;
  try {
    return await roundTrip(s3, cfg.s3.bucket, prefix, keys);
  } finally {
    for (const Key of keys) {
      await s3.send(new DeleteObjectCommand({ Bucket: cfg.s3.bucket, Key })).catch(() => {});
    }
    s3.destroy();
  }
}

/** The requests of `checkS3` after the bucket exists, on the three `keys` under `prefix`. */
async function roundTrip(
  s3: S3Client,
  Bucket: string,
  prefix: string,
  [a, b, c]: readonly [string, string, string],
): Promise<S3Findings> {
  const body = `hello from services:up ${new Date().toISOString()}`;
  await step("PutObject", () => s3.send(new PutObjectCommand({ Bucket, Key: a, Body: body })));
  if ((await getText(s3, Bucket, a)) !== body) {
    throw new Error("GetObject returned other bytes than PutObject stored");
  }
  const putRefused = await refused(
    "PutObject If-None-Match on an existing key",
    () =>
      s3.send(
        new PutObjectCommand({ Bucket, Key: a, Body: "must not replace", IfNoneMatch: "*" }),
      ),
  );
  await step(
    "PutObject If-None-Match on a new key",
    () => s3.send(new PutObjectCommand({ Bucket, Key: b, Body: body, IfNoneMatch: "*" })),
  );

  const part1 = new Uint8Array(5 * 1024 * 1024).fill(7); // parts but the last need 5 MiB
  const part2 = new TextEncoder().encode("tail");
  if (await multipart(s3, Bucket, c, [part1, part2], "on a new key")) {
    throw new Error("CompleteMultipartUpload If-None-Match on a new key: HTTP 412 (wanted 200)");
  }
  const whole = await step(
    "GetObject of the multipart object",
    () => s3.send(new GetObjectCommand({ Bucket, Key: c })),
  );
  const bytes = await whole.Body?.transformToByteArray() ?? new Uint8Array();
  if (bytes.length !== part1.length + part2.length || bytes[0] !== 7) {
    throw new Error(`multipart object has ${bytes.length} bytes, expected more`);
  }
  const completeRefused = await multipart(s3, Bucket, a, [part2], "on an existing key");

  const list = await step(
    "ListObjectsV2",
    () => s3.send(new ListObjectsV2Command({ Bucket, Prefix: `${prefix}/` })),
  );
  const listed = new Set((list.Contents ?? []).map((o) => o.Key));
  for (const k of [a, b, c]) {
    if (!listed.has(k)) throw new Error(`ListObjectsV2 does not list ${k}: ${[...listed]}`);
  }
  if ((await getText(s3, Bucket, a)) !== body) {
    throw new Error("a conditional write replaced an existing object although it answered");
  }
  return { putIfNoneMatch: putRefused, completeMultipartIfNoneMatch: completeRefused };
}

/** Waits until the S3 gateway answers the full round trip; fails with the log tail. */
export async function waitSeaweedfs(
  cfg: ServicesConfig,
  pid: number,
  timeoutMs = 120_000,
): Promise<S3Findings> {
  const t0 = performance.now();
  const log = `${seaweedRunDir(cfg)}/weed.log`;
  let last = "no answer yet";
  while (performance.now() - t0 < timeoutMs) {
    if (!(await isAlive(pid, seaweedRunDir(cfg)))) {
      throw new ServiceError(
        `SeaweedFS exited during start; last lines of ${log}:\n${await tail(log)}`,
      );
    }
    try {
      const findings = await checkS3(cfg);
      say(
        `S3 (SeaweedFS ${SEAWEEDFS_RELEASE}) healthy at ${s3Endpoint(cfg)} after ${seconds(t0)}`,
      );
      return findings;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(500);
  }
  throw new ServiceError(
    `SeaweedFS did not pass the S3 check at ${s3Endpoint(cfg)} within ${timeoutMs / 1000} s ` +
      `(last: ${last}); last lines of ${log}:\n${await tail(log)}`,
  );
}

export async function stopSeaweedfs(cfg: ServicesConfig): Promise<boolean> {
  // Its filer waits ~15 s on SIGTERM to flush a log to the volume server that already stopped;
  // the data is wiped on the next `up` anyway, so it gets 3 s before SIGKILL.
  return await stopFromPidFile("SeaweedFS", seaweedPidFile(cfg), seaweedRunDir(cfg), 3_000);
}

export async function writeFindings(cfg: ServicesConfig, findings: S3Findings): Promise<void> {
  await writeAtomic(
    `${seaweedRunDir(cfg)}/conditional-writes.json`,
    JSON.stringify({ seaweedfs: SEAWEEDFS_RELEASE, ...findings }, null, 2) + "\n",
  );
}
