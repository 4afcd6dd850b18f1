import assert from "node:assert/strict";
import {
  create,
  decodeDelimitedStream,
  encodeDelimited,
  toBinary,
  VectorSchema,
} from "../../proto/mod.ts";
import { frameDelimited } from "../../codec/varint.ts";
import { FilesystemStorage } from "./filesystem_storage.ts";
import {
  CorruptObjectError,
  readMessages,
  splitDelimited,
  writeMessages,
} from "./message_stream.ts";
import { patternBytes, put } from "./storage_contract.ts";
import { NotFoundError, type Storage } from "./storage.ts";
import { compressZstd, decompressZstd } from "./zstd.ts";
import { ZstdWorker } from "./zstd_worker.ts";

async function withStorage(fn: (s: Storage, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "evochora-message-stream-" });
  const storage = new FilesystemStorage({ root });
  try {
    await fn(storage, root);
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Messages of every awkward size: empty, 1 byte, around varint and buffer boundaries, > 1 MiB. */
function sampleMessages(): Uint8Array[] {
  const sizes = [0, 1, 127, 128, 300, 16383, 16384, 100_000, 262_143, 262_144, 1_100_000, 5, 0];
  const out = sizes.map((n, i) => patternBytes(n, i + 1));
  for (let i = 0; i < 2000; i++) out.push(patternBytes(i % 50, 1000 + i));
  return out;
}

const KEY = "runs/r1/raw/000/batch_0000000000000000000_0000000000000000099.pb.zst";

Deno.test("writeMessages/readMessages: round trip with offsets", async () => {
  await withStorage(async (s) => {
    const messages = sampleMessages();
    const result = await writeMessages(s, KEY, messages);
    assert.equal(result.created, true);
    assert.equal(result.bytes, result.storedBytes);
    assert.equal(await s.size(KEY), result.storedBytes);
    const back = await readMessages(s, KEY);
    assert.equal(back.messages.length, messages.length);
    back.messages.forEach((m, i) => assert.deepEqual(m, messages[i], `message ${i}`));
    // Offsets are where each record's length prefix starts in the decompressed stream.
    let offset = 0;
    back.offsets.forEach((o, i) => {
      assert.equal(o, offset, `offset ${i}`);
      const n = messages[i]!.length;
      offset += (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4) + n;
    });
    assert.equal(result.rawBytes, offset);
  });
});

Deno.test("writeMessages: the framing is standard size-delimited protobuf", async () => {
  await withStorage(async (s) => {
    const vectors = Array.from(
      { length: 50 },
      (_, i) => create(VectorSchema, { components: [i, 7 - i, i * 1000] }),
    );
    await writeMessages(s, "v", vectors.map((v) => toBinary(VectorSchema, v)));
    const raw = decompressZstd(await s.read("v"));
    const expected = vectors.map((v) => encodeDelimited(VectorSchema, v));
    assert.deepEqual(raw, new Uint8Array(expected.flatMap((e) => [...e])));
    const decoded = [...decodeDelimitedStream(VectorSchema, raw)].map((d) => d.message);
    assert.deepEqual(decoded.map((d) => d.components), vectors.map((v) => v.components));
  });
});

Deno.test("writeMessages: zero messages make a valid, empty stream", async () => {
  await withStorage(async (s) => {
    const result = await writeMessages(s, "none", []);
    assert.equal(result.rawBytes, 0);
    assert.ok(result.storedBytes > 0);
    assert.deepEqual(await readMessages(s, "none"), { messages: [], offsets: [] });
  });
});

Deno.test("writeMessages: same input, same bytes, however it is fed", async () => {
  await withStorage(async (s) => {
    const messages = sampleMessages();
    await writeMessages(s, "a", messages);
    async function* slowly() {
      for (const [i, m] of messages.entries()) {
        if (i % 100 === 0) await new Promise((r) => setTimeout(r, 0));
        yield m.slice(); // fresh copies
      }
    }
    await writeMessages(s, "b", slowly());
    await writeMessages(s, "c", messages.values());
    const a = await s.read("a");
    assert.deepEqual(await s.read("b"), a);
    assert.deepEqual(await s.read("c"), a);
    // A replay is a no-op that reports the same sizes.
    const replay = await writeMessages(s, "a", messages);
    assert.equal(replay.created, false);
    assert.equal(replay.storedBytes, a.length);
    // Another level gives other bytes, still readable.
    await writeMessages(s, "d", messages, { level: 1 });
    assert.notDeepEqual(await s.read("d"), a);
    assert.equal((await readMessages(s, "d")).messages.length, messages.length);
  });
});

Deno.test("writeMessages: a failure aborts the writer and leaves nothing", async () => {
  await withStorage(async (s, root) => {
    function* failing() {
      yield patternBytes(2_000_000);
      yield patternBytes(10);
      throw new Error("source broke");
    }
    await assert.rejects(writeMessages(s, "x/fail", failing()), /source broke/);
    await assert.rejects(
      writeMessages(s, "x/bad", [new Uint8Array(1), "nope" as unknown as Uint8Array]),
      /message 1 is not a Uint8Array/,
    );
    await assert.rejects(writeMessages(s, "x/level", [], { level: 99 }), RangeError);
    await assert.rejects(writeMessages(s, "x/level", [], { level: 1.5 }), /Invalid zstd level/);
    assert.deepEqual(await s.listKeys(""), { keys: [] });
    const left: string[] = [];
    // Bad input is refused before anything is opened: not even the directory is made.
    const dir = await Deno.stat(`${root}/x`).then(() => true, () => false);
    if (dir) { for await (const e of Deno.readDir(`${root}/x`)) left.push(e.name); }
    assert.deepEqual(left, [], "no temp files");
  });
});

/** Asserts a CorruptObjectError naming the key and an offset within the data. */
function corrupt(key: string, max: number, pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof CorruptObjectError, `expected CorruptObjectError, got ${e}`);
    assert.equal(e.key, key);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= max, `offset ${e.offset}`);
    assert.ok(e.message.startsWith(`Cannot read batch '${key}': `), e.message);
    assert.ok(e.message.includes(`byte ${e.offset}`), e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

Deno.test("readMessages: a truncated object is CorruptObjectError at a compressed offset", async () => {
  await withStorage(async (s) => {
    const messages = sampleMessages();
    await writeMessages(s, KEY, messages);
    const whole = await s.read(KEY);
    const cuts = [0, 1, 3, 4, 5, 6, 8, 100, 5000, whole.length >> 1, whole.length - 20];
    for (let i = 1; i <= 17; i++) cuts.push(whole.length - i);
    for (const cut of cuts.filter((c) => c < whole.length)) {
      const key = `cut/${cut}.pb.zst`;
      await put(s, key, whole.subarray(0, cut));
      await assert.rejects(
        readMessages(s, key),
        corrupt(key, whole.length, /compressed byte/),
        `cut ${cut} of ${whole.length}`,
      );
    }
    // A cut mid-stream reports exactly where the data ends.
    const key = `cut/${whole.length >> 1}.pb.zst`;
    await assert.rejects(readMessages(s, key), (e: unknown) => {
      assert.ok(e instanceof CorruptObjectError);
      assert.equal(e.offsetIn, "compressed");
      assert.ok(e.offset <= whole.length >> 1);
      assert.match(
        e.message,
        /truncated or corrupt at compressed byte \d+ \(after \d+ decompressed bytes\): block says \d+ bytes, \d+ remain/,
      );
      return true;
    });
  });
});

Deno.test("readMessages: flipped bytes anywhere never pass unnoticed or crash", async () => {
  await withStorage(async (s) => {
    const messages = Array.from(
      { length: 40 },
      (_, i) => patternBytes(3000 + i, i + 1).fill(i, 0, 2000),
    );
    await writeMessages(s, "orig", messages);
    const whole = await s.read("orig");
    let detected = 0;
    const step = Math.max(1, Math.floor(whole.length / 150));
    for (let at = 0; at < whole.length; at += at < 40 || at > whole.length - 40 ? 1 : step) {
      const bad = whole.slice();
      bad[at]! ^= 0x5a;
      const key = `flip/${at}`;
      await put(s, key, bad);
      try {
        const back = await readMessages(s, key);
        // Some bits carry no information (e.g. an unused header flag); the content must then
        // still be exactly right.
        assert.deepEqual(back.messages, messages, `flip at ${at} changed the content silently`);
      } catch (e) {
        corrupt(key, whole.length)(e);
        detected++;
      }
    }
    assert.ok(detected > 0);
  });
});

Deno.test("readMessages: corruption inside a block names that block's offset", async () => {
  await withStorage(async (s) => {
    const messages = Array.from({ length: 60 }, (_, i) => patternBytes(20_000, i + 1));
    await writeMessages(s, "orig", messages);
    const whole = await s.read("orig");
    const bad = whole.slice();
    const at = Math.floor(whole.length * 0.6);
    bad[at]! ^= 0xff;
    await put(s, "bad", bad);
    await assert.rejects(readMessages(s, "bad"), (e: unknown) => {
      assert.ok(e instanceof CorruptObjectError);
      // The offset is the start of the block holding the flipped byte, or the frame's
      // checksum when the damage decodes to other bytes.
      assert.ok(
        (e.offset <= at && at - e.offset <= 128 * 1024 + 3) || e.offset >= whole.length - 30,
        `offset ${e.offset} for a flip at ${at}`,
      );
      assert.match(e.message, /after \d+ decompressed bytes/);
      return true;
    });
  });
});

Deno.test("readMessages: a bad record names its decompressed offset", async () => {
  await withStorage(async (s) => {
    const cases: [Uint8Array, number, RegExp][] = [
      [
        new Uint8Array([2, 7, 7, 5, 1, 2]),
        3,
        /record at byte 3 .*truncated message: length prefix says 5 bytes, 2 remain/,
      ],
      [new Uint8Array([1, 9, 0x80, 0x80]), 2, /record at byte 2 .*truncated length prefix/],
      [
        new Uint8Array([0, ...new Array(11).fill(0xff), 1]),
        1,
        /record at byte 1 .*varint longer than 10 bytes/,
      ],
      [new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]), 0, /record at byte 0 .*more than the limit/],
    ];
    for (const [raw, offset, pattern] of cases) {
      const key = `bad/${offset}`;
      await put(s, key, compressZstd(raw));
      await assert.rejects(readMessages(s, key), (e: unknown) => {
        corrupt(key, raw.length, pattern)(e);
        assert.ok(e instanceof CorruptObjectError);
        assert.equal(e.offset, offset);
        assert.equal(e.offsetIn, "decompressed");
        return true;
      });
    }
  });
});

Deno.test("readMessages: not zstd at all, or missing", async () => {
  await withStorage(async (s) => {
    await put(s, "plain.txt", new TextEncoder().encode("just some text"));
    await assert.rejects(readMessages(s, "plain.txt"), corrupt("plain.txt", 0, /not a zstd frame/));
    await put(s, "empty", new Uint8Array(0));
    await assert.rejects(readMessages(s, "empty"), corrupt("empty", 0, /empty/));
    await assert.rejects(readMessages(s, "absent"), NotFoundError);
  });
});

Deno.test("splitDelimited: views into the input, no copies", () => {
  const raw = new Uint8Array([3, 1, 2, 3, 0, 1, 9]);
  const { messages, offsets } = splitDelimited(raw);
  assert.deepEqual(offsets, [0, 4, 5]);
  assert.deepEqual(messages, [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9])]);
  assert.equal(messages[0]!.buffer, raw.buffer);
});

Deno.test("compressing on a worker thread writes the same bytes as on the calling thread", async () => {
  const dir = await Deno.makeTempDir();
  const storage = await FilesystemStorage.open({ root: dir });
  const messages: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const m = new Uint8Array(1000 + i * 4000);
    for (let j = 0; j < m.length; j++) m[j] = (j * 31 + i) % 251 < 40 ? j & 0xff : 7;
    messages.push(m);
  }
  const worker = new ZstdWorker();
  try {
    const a = await writeMessages(storage, "a/inline.pb.zst", messages, { level: 3 });
    const b = await writeMessages(storage, "a/worker.pb.zst", messages, { level: 3, worker });
    assert.equal(b.rawBytes, a.rawBytes);
    assert.deepEqual(
      await storage.read("a/worker.pb.zst"),
      await storage.read("a/inline.pb.zst"),
    );
    const back = await readMessages(storage, "a/worker.pb.zst");
    assert.deepEqual(back.messages, messages);
    assert.equal(b.created, true);
  } finally {
    worker.close();
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ZstdWorker.compressMessages frames on the worker: the bytes writeMessages stores; the buffers are taken", async () => {
  const messages: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const m = new Uint8Array(100 + i * 9000);
    for (let j = 0; j < m.length; j++) m[j] = (j * 17 + i) % 253 < 50 ? j & 0xff : 3;
    messages.push(m);
  }
  const expected = compressZstd(frameDelimited(messages), 3);
  const rawBytes = frameDelimited(messages).length;
  const worker = new ZstdWorker();
  try {
    const got = await worker.compressMessages(messages, 3);
    assert.deepEqual(got.bytes, expected);
    assert.equal(got.rawBytes, rawBytes);
    assert.ok(messages.every((m) => m.byteLength === 0), "the buffers went to the worker");
    // A bad level is the worker's error, named as a compression failure.
    await assert.rejects(
      worker.compressMessages([new Uint8Array(4)], 99),
      /zstd compression failed/,
    );
    await assert.rejects(
      worker.decompress(new Uint8Array([1, 2, 3, 4])),
      /zstd decompression failed/,
    );
  } finally {
    worker.close();
  }
});
