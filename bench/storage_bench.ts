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

/** writeMessages vs one-shot zstd, on ~50 MB of chunks from an evolved 256x256 run. */
export function storageBenchmark(ticks = 24000): Suite {
  return {
    name: `storage: message streams, zstd-3, ${ticks} ticks of real chunks (256x256, seed 42)`,
    async run() {
      const messages = evolvedChunks(ticks).chunks.map((c) => c.bytes);
      const raw = framed(messages);
      const mb = raw.length / 1e6;
      const rounds = 5;
      const out: Figure[] = [{ name: "raw bytes (framed chunks)", value: raw.length, unit: "B" }];

      const oneShot = (params: Record<number, number>) => {
        const ms: number[] = [];
        let size = 0;
        for (let r = 0; r < rounds; r++) {
          const t = performance.now();
          size = zstdCompressSync(raw, { params }).length;
          ms.push(performance.now() - t);
        }
        return { mbps: mb / (median(ms) / 1000), size };
      };
      const plain = oneShot({ [constants.ZSTD_c_compressionLevel]: 3 });
      const checked = oneShot({
        [constants.ZSTD_c_compressionLevel]: 3,
        [constants.ZSTD_c_checksumFlag]: 1,
      });

      const root = await Deno.makeTempDir({ prefix: "evochora-storage-bench-" });
      const storage = new FilesystemStorage({ root });
      try {
        const writeMs: number[] = [];
        const gaps: number[] = [];
        let stored = 0;
        for (let r = 0; r < rounds; r++) {
          // The longest stretch without a timer firing: how long writeMessages holds the
          // event loop (zlib runs on the calling thread in Deno).
          let last = performance.now();
          let gap = 0;
          const timer = setInterval(() => {
            const now = performance.now();
            gap = Math.max(gap, now - last);
            last = now;
          }, 1);
          const t = performance.now();
          const result = await writeMessages(storage, `bench/batch_${r}.pb.zst`, messages);
          writeMs.push(performance.now() - t);
          gaps.push(Math.max(gap, performance.now() - last));
          clearInterval(timer);
          stored = result.storedBytes;
        }
        const readMs: number[] = [];
        for (let r = 0; r < rounds; r++) {
          const t = performance.now();
          await readMessages(storage, `bench/batch_${r}.pb.zst`);
          readMs.push(performance.now() - t);
        }
        const write = mb / (median(writeMs) / 1000);
        out.push(
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
            value: median(gaps),
            unit: "ms",
          },
          {
            name: "readMessages (read, check frames, decompress, split)",
            value: mb / (median(readMs) / 1000),
            unit: "MB/s",
          },
          { name: "compression ratio (raw / stored)", value: raw.length / stored, unit: "x" },
          {
            name: "stored size vs one shot without checksum",
            value: stored - plain.size,
            unit: "B",
          },
        );
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
