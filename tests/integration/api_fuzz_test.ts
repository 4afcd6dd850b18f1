/**
 * The query API under junk: `evochora serve` (a real process on a loopback port, a 64 MiB
 * cache budget) over a data directory salted with corrupt, truncated, stray, overlapping and
 * empty files, and thousands of random, oversized and malformed requests from a seeded
 * generator (EVOCHORA_FUZZ_SEED replays another sequence). The server must never die or answer
 * 500, every error must be JSON naming its cause, and its RSS must stay within the budget plus
 * a fixed margin; the figures are printed.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { makeRun, readBatches, type RefBatch } from "../fixtures/stored_run.ts";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import { batchKey, metadataKey } from "../../services/common/storage_layout.ts";
import { startServe } from "./_serve_process.ts";
import { seededRandom } from "../fixtures/seeded_random.ts";

const CACHE_MB = 64;
/** RSS allowed above the cache budget: the runtime, V8's heap slack, buffers in flight. */
const MARGIN_MB = 192;
const REQUESTS = 6000;
const CONCURRENCY = 8;

/** Sampled ticks of a batch. */
function ticksOf(b: RefBatch): number[] {
  return b.chunks.flatMap((c) => [c.snapshot, ...c.deltas].filter((s) => s !== undefined))
    .map((s) => Number(s.tick));
}

/** Plants bad files beside a good run, as a broken tool or a user would; the keys planted. */
async function salt(root: string, runId: string, good: RefBatch[]): Promise<string[]> {
  const put = async (key: string, bytes: Uint8Array) => {
    await Deno.mkdir(dirname(join(root, key)), { recursive: true });
    await Deno.writeFile(join(root, key), bytes);
  };
  const junk = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const first = good[0]!;
  const last = good.at(-1)!;
  const truncated = good[1]!;
  const keys = [
    batchKey(runId, 10_000, 99_999_999_999),
    batchKey(runId, first.firstTick + 1, first.lastTick + 1),
    batchKey(runId, last.lastTick + 10, last.lastTick + 1000),
    batchKey(runId, last.lastTick + 2000, last.lastTick + 2000),
  ];
  await put(keys[0]!, junk(4096));
  await put(keys[1]!, await Deno.readFile(join(root, first.key)));
  await put(keys[2]!, new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, ...junk(64)]));
  await put(keys[3]!, new Uint8Array());
  const bytes = await Deno.readFile(join(root, truncated.key));
  await put(truncated.key, bytes.subarray(0, bytes.length >> 1));
  await put(`runs/${runId}/raw/notes.txt`, junk(100));
  await put(`runs/${runId}/index/stats/garbage.parquet`, junk(300));
  await put(metadataKey("empty-metadata"), new Uint8Array());
  await put(metadataKey("junk-metadata"), junk(200));
  await put(batchKey("junk-metadata", 0, 9), junk(50));
  return [...keys, truncated.key];
}

/** One random request path (and method): valid, half-valid or junk. */
function requestFor(
  next: () => number,
  runId: string,
  ticks: number[],
): { method: string; path: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const tick = () =>
    pick<string | number>([
      pick(ticks),
      pick(ticks),
      Math.floor(next() * 1e6),
      -1,
      "9999999999999999",
      "1e3",
      "0x10",
      "%00",
      "９",
      Number.MAX_SAFE_INTEGER + 2,
    ]);
  const run = () =>
    pick([
      runId,
      runId,
      runId,
      "latest",
      "empty-metadata",
      "junk-metadata",
      "..",
      "%2e%2e",
      "a".repeat(300),
    ]);
  const junkText = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(next() * 95))).join("");
  const r = run();
  const paths = [
    () => `/api/runs`,
    () => `/api/runs/${r}`,
    () => `/api/runs/${r}/ticks`,
    () => `/api/runs/${r}/world/${tick()}`,
    () =>
      `/api/runs/${r}/world/${tick()}?region=${
        pick(["0,0,10,10", "5,5,1,1", "0,0,99999,1", "x", ""])
      }`,
    () => `/api/runs/${r}/organisms/${tick()}`,
    () => `/api/runs/${r}/organisms/${tick()}/${pick([1, 2, 3, 0, -5, 99999999, "x"])}`,
    () => `/api/runs/${r}/lineage?root=${pick([0, 1, 2, "z"])}&depth=${pick([1, 5, 100001, ""])}`,
    () =>
      `/api/runs/${r}/stats?metrics=${pick(["alive", "alive,born", "", "nope"])}&maxPoints=${
        pick([10, 0, 2000000])
      }`,
    () => `/api/runs/${r}/export/${pick(["stats", "organisms", "x"])}.parquet`,
    () => `/api/pipeline`,
    () => `/metrics`,
    () => `/api/openapi.json`,
    () => `/${encodeURIComponent(junkText(1 + Math.floor(next() * 40)))}`,
    () => `/api/runs/${r}/world/${tick()}?junk=${"q".repeat(Math.floor(next() * 3000))}`,
    () => `/api/runs?${"x".repeat(4000 + Math.floor(next() * 60_000))}`,
    () => `/api/runs/${r}/stats?${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join("&")}`,
  ];
  const method = pick(["GET", "GET", "GET", "GET", "GET", "HEAD", "POST", "DELETE", "OPTIONS"]);
  return { method, path: pick(paths)() };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

Deno.test("the API never dies, never answers 500 and stays within its cache budget under junk", async () => {
  const root = await Deno.makeTempDir({ prefix: "evochora-fuzz-" });
  const runId = await makeRun(root, { ticks: 4000 });
  const good = await readBatches(await FilesystemStorage.open({ root }), runId);
  const ticks = good.flatMap(ticksOf);
  const planted = await salt(root, runId, good);
  const server = await startServe(root, ["--no-index", "--cache-mb", String(CACHE_MB)]);
  const seed = Number(Deno.env.get("EVOCHORA_FUZZ_SEED") ?? 20261130);
  const next = seededRandom(seed);
  const statuses = new Map<number, number>();
  const problems: string[] = [];
  let peak = 0;
  let sent = 0;
  const sampler = setInterval(async () => {
    peak = Math.max(peak, await rssMiB(server.pid).catch(() => 0));
  }, 200);
  try {
    const lane = async () => {
      while (sent < REQUESTS) {
        sent++;
        const { method, path } = requestFor(next, runId, ticks);
        const res = await fetch(server.url + path, { method });
        const body = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const what = `${method} ${path.slice(0, 120)} -> ${res.status}`;
        if (res.status >= 500 && res.status !== 502) {
          problems.push(`${what}: ${body.slice(0, 200)}`);
        }
        if (res.status >= 400 && method !== "HEAD") {
          let error: { code?: unknown; message?: unknown } | undefined;
          try {
            error = JSON.parse(body).error;
          } catch {
            problems.push(`${what}: not JSON: ${body.slice(0, 100)}`);
            continue;
          }
          if (typeof error?.code !== "string" || typeof error.message !== "string") {
            problems.push(`${what}: no error code and message`);
          } else if (
            res.status === 502 && !planted.some((k) => String(error!.message).includes(k))
          ) {
            if (!/unreadable_run/.test(String(error.code))) {
              problems.push(`${what}: a 502 that names no planted file: ${error.message}`);
            }
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    peak = Math.max(peak, await rssMiB(server.pid));
    const alive = await fetch(`${server.url}/api/runs/${runId}/world/${ticks[0]}`);
    assert.equal(alive.status, 200, "the server still serves good ticks");
    await alive.body?.cancel();
  } finally {
    clearInterval(sampler);
    await server.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  const histogram = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`);
  console.log(
    `fuzz (seed ${seed}): ${REQUESTS} requests, statuses ${histogram.join(", ")}; peak RSS ` +
      `${peak.toFixed(0)} MiB with a ${CACHE_MB} MiB cache budget (limit ${CACHE_MB + MARGIN_MB})`,
  );
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  assert.ok(statuses.get(200)! > REQUESTS / 10, "a good share of the requests reached the data");
  assert.ok(statuses.get(502)! > 0, "the planted files were hit");
  assert.ok(
    peak <= CACHE_MB + MARGIN_MB,
    `peak RSS ${peak.toFixed(0)} MiB above the ${CACHE_MB} MiB budget + ${MARGIN_MB} MiB margin`,
  );
});
