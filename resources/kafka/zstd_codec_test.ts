import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import { zstdCompressSync } from "node:zlib";
import { zstdFrameContentSize } from "../storage/zstd.ts";
import { registerZstdCodec, zstdCodec } from "./zstd_codec.ts";

Deno.test("zstd codec: round trip of a kafkajs encoder's bytes", async () => {
  const codec = zstdCodec(3);
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 13;
  const compressed = await codec.compress({ buffer: data });
  assert.ok(Buffer.isBuffer(compressed), "kafkajs' decoder needs a Buffer");
  assert.ok(compressed.length < data.length / 10);
  // zstd frame magic number 0xFD2FB528, little endian.
  assert.deepEqual([...compressed.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  const back = await codec.decompress(compressed);
  assert.ok(Buffer.isBuffer(back));
  assert.ok(back.equals(data));
  await assert.rejects(codec.decompress(Buffer.from("not zstd")));
  assert.throws(() => zstdCodec(0), RangeError);
});

Deno.test("zstd codec: registerZstdCodec installs it in kafkajs' codec table", async () => {
  registerZstdCodec();
  // deno-lint-ignore no-explicit-any -- kafkajs types the codec table as `() => any`
  const codec = (CompressionCodecs as Record<number, () => any>)[CompressionTypes.ZSTD]!();
  const data = Buffer.from("hello kafka ".repeat(100));
  const back: Buffer = await codec.decompress(await codec.compress({ buffer: data }));
  assert.equal(back.toString(), data.toString());
  registerZstdCodec(); // idempotent
});

Deno.test("zstd codec: frames declare their size, and decompress into one exact buffer", async () => {
  const codec = zstdCodec(3);
  const data = Buffer.alloc(900_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
  const compressed = await codec.compress({ buffer: data });
  assert.equal(zstdFrameContentSize(compressed), data.length);
  const back = await codec.decompress(compressed);
  assert.ok(back.equals(data));
  // One allocation of the declared size (+1), not pieces concatenated.
  assert.ok(back.buffer.byteLength <= data.length + 1);
});

Deno.test("zstd codec: frames of other producers, without a declared size, decompress too", async () => {
  const data = Buffer.from("a record batch of another client ".repeat(5000));
  const foreign = zstdCompressSync(data); // streaming: no content size in the header
  assert.equal(zstdFrameContentSize(foreign), undefined);
  const back = await zstdCodec().decompress(foreign);
  assert.ok(back.equals(data));
});
