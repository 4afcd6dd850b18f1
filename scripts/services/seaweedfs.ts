// SeaweedFS as the local S3 server: built once from the Go module proxy into the cache, started as
// `weed server -s3` on loopback ports, checked with real signed S3 requests.

import {
  allPorts,
  HOST,
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
  stopFromPidFile,
  tail,
  writeAtomic,
} from "./_proc.ts";
import { S3Client, xmlTag } from "./s3_client.ts";

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

function s3Client(cfg: ServicesConfig): S3Client {
  return new S3Client({
    endpoint: `http://${HOST}:${cfg.s3.port}`,
    region: cfg.s3.region,
    accessKey: cfg.s3.accessKey,
    secretKey: cfg.s3.secretKey,
  });
}

/** Starts `weed server` (master, volume, filer, S3 gateway in one process) detached. */
export async function startSeaweedfs(cfg: ServicesConfig): Promise<number> {
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
    `-ip=${HOST}`,
    `-ip.bind=${HOST}`,
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
  return await spawnDetached({
    cmd: weedBinary(cfg),
    args,
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

function expect(what: string, status: number, want: number[], body: string): void {
  if (!want.includes(status)) {
    throw new Error(`${what}: HTTP ${status} (wanted ${want.join(" or ")}) ${body.slice(0, 300)}`);
  }
}

async function multipart(
  s3: S3Client,
  bucket: string,
  key: string,
  parts: Uint8Array[],
  completeHeaders: Record<string, string>,
): Promise<number> {
  const created = await s3.send("POST", bucket, key, { query: { uploads: "" } });
  expect("CreateMultipartUpload", created.status, [200], created.text());
  const uploadId = xmlTag(created.text(), "UploadId");
  if (!uploadId) throw new Error(`CreateMultipartUpload: no UploadId in ${created.text()}`);
  const etags: string[] = [];
  for (const [i, body] of parts.entries()) {
    const up = await s3.send("PUT", bucket, key, {
      query: { partNumber: String(i + 1), uploadId },
      body,
    });
    expect(`UploadPart ${i + 1}`, up.status, [200], up.text());
    etags.push(up.headers.get("etag") ?? "");
  }
  const xml = `<CompleteMultipartUpload>${
    etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")
  }</CompleteMultipartUpload>`;
  const done = await s3.send("POST", bucket, key, {
    query: { uploadId },
    headers: { "content-type": "application/xml", ...completeHeaders },
    body: new TextEncoder().encode(xml),
  });
  // Some servers answer 200 with an <Error> body; treat that as the error it names.
  const code = xmlTag(done.text(), "Code");
  const status = done.status === 200 && code === "PreconditionFailed" ? 412 : done.status;
  if (status !== 200) {
    await s3.send("DELETE", bucket, key, { query: { uploadId } }); // abort; best effort
  }
  return status;
}

/**
 * One real round trip: create the bucket, PutObject, GetObject, ListObjectsV2, multipart upload,
 * and the two conditional writes the project's storage relies on. Cleans up its own objects.
 */
export async function checkS3(cfg: ServicesConfig): Promise<S3Findings> {
  const s3 = s3Client(cfg);
  const bucket = cfg.s3.bucket;
  const made = await s3.send("PUT", bucket, "");
  if (made.status !== 200 && !/BucketAlreadyOwnedByYou/.test(made.text())) {
    expect(`CreateBucket ${bucket}`, made.status, [200], made.text());
  }
  const prefix = `.evochora-services-health/${crypto.randomUUID()}`;
  const enc = new TextEncoder();
  const a = `${prefix}/a.txt`;
  const b = `${prefix}/b.txt`;
  const c = `${prefix}/c.bin`;
  try {
    const body = enc.encode(`hello from services:up ${new Date().toISOString()}`);
    const put = await s3.send("PUT", bucket, a, { body });
    expect("PutObject", put.status, [200], put.text());
    const got = await s3.send("GET", bucket, a);
    expect("GetObject", got.status, [200], got.text());
    if (got.text() !== new TextDecoder().decode(body)) {
      throw new Error("GetObject returned other bytes than PutObject stored");
    }
    const again = await s3.send("PUT", bucket, a, {
      headers: { "if-none-match": "*" },
      body: enc.encode("must not replace"),
    });
    expect("PutObject If-None-Match on an existing key", again.status, [200, 412], again.text());
    const fresh = await s3.send("PUT", bucket, b, { headers: { "if-none-match": "*" }, body });
    expect("PutObject If-None-Match on a new key", fresh.status, [200], fresh.text());

    const part1 = new Uint8Array(5 * 1024 * 1024).fill(7); // parts but the last need 5 MiB
    const part2 = enc.encode("tail");
    const mpNew = await multipart(s3, bucket, c, [part1, part2], { "if-none-match": "*" });
    expect("CompleteMultipartUpload If-None-Match on a new key", mpNew, [200], "");
    const whole = await s3.send("GET", bucket, c);
    expect("GetObject of the multipart object", whole.status, [200], "");
    if (whole.body.length !== part1.length + part2.length || whole.body[0] !== 7) {
      throw new Error(`multipart object has ${whole.body.length} bytes, expected more`);
    }
    const mpOld = await multipart(s3, bucket, a, [part2], { "if-none-match": "*" });
    expect("CompleteMultipartUpload If-None-Match on an existing key", mpOld, [200, 412], "");

    const list = await s3.send("GET", bucket, "", {
      query: { "list-type": "2", prefix: `${prefix}/` },
    });
    expect("ListObjectsV2", list.status, [200], list.text());
    for (const k of [a, b, c]) {
      if (!list.text().includes(`<Key>${k}</Key>`)) {
        throw new Error(`ListObjectsV2 does not list ${k}: ${list.text().slice(0, 300)}`);
      }
    }
    const after = await s3.send("GET", bucket, a);
    if (after.text() !== new TextDecoder().decode(body)) {
      throw new Error("a conditional write replaced an existing object although it answered");
    }
    return { putIfNoneMatch: again.status === 412, completeMultipartIfNoneMatch: mpOld === 412 };
  } finally {
    for (const k of [a, b, c]) await s3.send("DELETE", bucket, k).catch(() => {});
  }
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
        `S3 (SeaweedFS ${SEAWEEDFS_RELEASE}) healthy at http://${HOST}:${cfg.s3.port} after ${
          seconds(t0)
        }`,
      );
      return findings;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(500);
  }
  throw new ServiceError(
    `SeaweedFS did not pass the S3 check within ${timeoutMs / 1000} s (last: ${last}); ` +
      `last lines of ${log}:\n${await tail(log)}`,
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
