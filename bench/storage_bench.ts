/**
 * Storage benchmarks on real chunks: writeMessages (framing + streamed zstd + filesystem
 * commit with fsync) against a plain one-shot zstdCompressSync of the same bytes, and
 * readMessages. Run alone with `deno run -A bench/storage_bench.ts [ticks]`, or add
 * {@link storageThroughput} to bench/main.ts.
 *
 * @module
 */

import { constants, zstdCompressSync } from "node:zlib";
import { evolvedChunks } from "./engine_bench.ts";
import { type Figure, runSuites, type Suite } from "./_harness.ts";
import { FilesystemStorage } from "../resources/storage/filesystem_storage.ts";
import { readMessages, writeMessages } from "../resources/storage/message_stream.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The framed stream writeMessages compresses, built once for the one-shot comparison. */
function framed(messages: Uint8Array[]): Uint8Array {
  const parts: number[][] = [];
  let total = 0;
  for (const m of messages) {
    const prefix: number[] = [];
    let n = m.length;
    while (n >= 0x80) {
      prefix.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    prefix.push(n);
    parts.push(prefix);
    total += prefix.length + m.length;
  }
  const out = new Uint8Array(total);
  let pos = 0;
  messages.forEach((m, i) => {
    out.set(parts[i]!, pos);
    pos += parts[i]!.length;
    out.set(m, pos);
    pos += m.length;
  });
  return out;
}

/** Rounds of every measurement; each figure is the median. */
const ROUNDS = 5;

/** A one-shot compression's speed and output size. */
interface OneShot {
  mbps: number;
  size: number;
}

/**
 * zstdCompressSync of the whole framed stream at once: the reference writeMessages' streamed
 * compression and file commit are held against.
 */
function oneShot(raw: Uint8Array, params: Record<number, number>): OneShot {
  const mb = raw.length / 1e6;
  const ms: number[] = [];
  let size = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    size = zstdCompressSync(raw, { params }).length;
    ms.push(performance.now() - t);
  }
  return { mbps: mb / (median(ms) / 1000), size };
}

/**
 * Watches the event loop through a 1 ms timer: the longest stretch without it firing is how
 * long the work in between held the loop (zlib runs on the calling thread in Deno).
 */
function stallWatch(): { stop(): number } {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  return {
    /** Ends the watch; the longest stall, ms, counting the one still running. */
    stop() {
      const longest = Math.max(gap, performance.now() - last);
      clearInterval(timer);
      return longest;
    },
  };
}

/** What the writeMessages rounds measured. */
interface WriteRounds {
  /** Wall ms of each round. */
  ms: number[];
  /** The longest event-loop stall of each round, ms. */
  stalls: number[];
  /** Stored bytes of the last round's object. */
  stored: number;
}

/** writeMessages of every message, once per round, each into its own object `bench/batch_<r>`. */
async function timeWrites(
  storage: FilesystemStorage,
  messages: Uint8Array[],
): Promise<WriteRounds> {
  const ms: number[] = [];
  const stalls: number[] = [];
  let stored = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const watch = stallWatch();
    const t = performance.now();
    const result = await writeMessages(storage, `bench/batch_${r}.pb.zst`, messages);
    ms.push(performance.now() - t);
    stalls.push(watch.stop());
    stored = result.storedBytes;
  }
  return { ms, stalls, stored };
}

/** readMessages of each round's object that {@link timeWrites} wrote; wall ms per round. */
async function timeReads(storage: FilesystemStorage): Promise<number[]> {
  const ms: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    await readMessages(storage, `bench/batch_${r}.pb.zst`);
    ms.push(performance.now() - t);
  }
  return ms;
}

/** Everything the storage table is made of. */
interface StorageMeasurements {
  /** Length of the framed stream, bytes. */
  rawBytes: number;
  plain: OneShot;
  checked: OneShot;
  writes: WriteRounds;
  readMs: number[];
}

/** The figures after the raw size, in the table's order; speeds relative to the one shot. */
function streamFigures(m: StorageMeasurements): Figure[] {
  const mb = m.rawBytes / 1e6;
  const { plain, checked } = m;
  const write = mb / (median(m.writes.ms) / 1000);
  return [
    { name: "zstdCompressSync, level 3, one shot", value: plain.mbps, unit: "MB/s" },
    {
      name: "zstdCompressSync, level 3 + content checksum",
      value: checked.mbps,
      unit: "MB/s",
      ratio: checked.mbps / plain.mbps,
      ratioOf: "of one shot",
    },
    {
      name: "writeMessages, level 3 (frame, stream-compress, fsync, link)",
      value: write,
      unit: "MB/s",
      ratio: write / plain.mbps,
      ratioOf: "of one shot",
    },
    {
      name: "writeMessages: longest event-loop stall",
      value: median(m.writes.stalls),
      unit: "ms",
    },
    {
      name: "readMessages (read, check frames, decompress, split)",
      value: mb / (median(m.readMs) / 1000),
      unit: "MB/s",
    },
    { name: "compression ratio (raw / stored)", value: m.rawBytes / m.writes.stored, unit: "x" },
    {
      name: "stored size vs one shot without checksum",
      value: m.writes.stored - plain.size,
      unit: "B",
    },
  ];
}

/** writeMessages vs one-shot zstd, on ~50 MB of chunks from an evolved 256x256 run. */
export function storageBenchmark(ticks = 24000): Suite {
  return {
    name: `storage: message streams, zstd-3, ${ticks} ticks of real chunks (256x256, seed 42)`,
    async run() {
      const messages = evolvedChunks(ticks).chunks.map((c) => c.bytes);
      const raw = framed(messages);
      const out: Figure[] = [{ name: "raw bytes (framed chunks)", value: raw.length, unit: "B" }];
      const plain = oneShot(raw, { [constants.ZSTD_c_compressionLevel]: 3 });
      const checked = oneShot(raw, {
        [constants.ZSTD_c_compressionLevel]: 3,
        [constants.ZSTD_c_checksumFlag]: 1,
      });

      const root = await Deno.makeTempDir({ prefix: "evochora-storage-bench-" });
      const storage = new FilesystemStorage({ root });
      try {
        const writes = await timeWrites(storage, messages);
        const readMs = await timeReads(storage);
        out.push(...streamFigures({ rawBytes: raw.length, plain, checked, writes, readMs }));
      } finally {
        await storage.close();
        await Deno.remove(root, { recursive: true });
      }
      return out;
    },
  };
}

/** The default storage suite, for bench/main.ts. */
export const storageThroughput: Suite = storageBenchmark();

if (import.meta.main) {
  const ticks = Deno.args[0] === undefined ? undefined : Number(Deno.args[0]);
  await runSuites([storageBenchmark(ticks)]);
}
