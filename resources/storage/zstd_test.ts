import assert from "node:assert/strict";
import { constants, zstdCompressSync, type ZstdOptions } from "node:zlib";
import { patternBytes } from "./storage_contract.ts";
import { compressZstd, decompressZstd, ZstdDecodeError, zstdFrameContentSize } from "./zstd.ts";

function decodeError(bytes: Uint8Array): ZstdDecodeError {
  try {
    decompressZstd(bytes);
  } catch (e) {
    assert.ok(e instanceof ZstdDecodeError, `expected ZstdDecodeError, got ${e}`);
    return e;
  }
  assert.fail("expected a ZstdDecodeError");
}

/** Compressible but not trivial: runs of pattern bytes. */
function sample(n: number): Uint8Array {
  const out = patternBytes(n, 9);
  for (let i = 0; i < n; i += 64) out.fill(i & 0xff, i, Math.min(n, i + 40));
  return out;
}

Deno.test("zstd: round trip, with a content checksum", () => {
  const data = sample(1_000_000);
  const packed = compressZstd(data);
  assert.ok(packed.length < data.length / 2);
  assert.equal(packed[4]! & 0x04, 0x04, "content checksum flag");
  assert.deepEqual(decompressZstd(packed), data);
  assert.ok(!("readBigInt64LE" in decompressZstd(packed)), "a plain Uint8Array, not a Buffer");
});

Deno.test("zstd: concatenated and skippable frames decode", () => {
  const a = sample(1000);
  const b = sample(3000);
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  const joined = new Uint8Array([...compressZstd(a), ...skippable, ...compressZstd(b)]);
  assert.deepEqual(decompressZstd(joined), new Uint8Array([...a, ...b]));
});

Deno.test("zstd: frames without checksum (other writers) decode too", () => {
  const data = sample(200_000);
  const packed = zstdCompressSync(data, { params: { [constants.ZSTD_c_checksumFlag]: 0 } });
  assert.deepEqual(decompressZstd(packed), data);
});

Deno.test("zstd: every truncation is reported with the offset where the data ends", () => {
  const packed = compressZstd(sample(300_000));
  for (let cut = 0; cut < packed.length; cut += cut < 64 ? 1 : 97) {
    const e = decodeError(packed.subarray(0, cut));
    assert.ok(e.offset <= cut, `cut ${cut}: offset ${e.offset}`);
    assert.match(
      e.message,
      new RegExp(`^zstd stream is truncated or corrupt at compressed byte ${e.offset}`),
    );
  }
});

Deno.test("zstd: structural damage is named", () => {
  const packed = compressZstd(sample(10_000));
  const reserved = packed.slice();
  reserved[4]! |= 0x08;
  assert.match(decodeError(reserved).message, /reserved bit/);
  assert.equal(decodeError(reserved).offset, 4);
  const garbage = new Uint8Array([...packed, 1, 2, 3, 4, 5]);
  const e = decodeError(garbage);
  assert.match(e.message, /not a zstd frame \(magic bytes 01 02 03 04/);
  assert.equal(e.offset, packed.length);
});

Deno.test("zstd: a changed content byte fails the checksum or its block", () => {
  const data = sample(200_000);
  const packed = compressZstd(data);
  let failures = 0;
  for (let at = 20; at < packed.length - 20; at += 97) {
    const bad = packed.slice();
    bad[at]! ^= 0x01;
    try {
      assert.deepEqual(decompressZstd(bad), data, `flip at ${at} passed with other content`);
    } catch (e) {
      if (!(e instanceof ZstdDecodeError)) throw e;
      assert.ok(e.decompressedOffset !== undefined && e.decompressedOffset <= data.length);
      failures++;
    }
  }
  assert.ok(failures > 0);
});

Deno.test("zstd: levels are checked", () => {
  assert.throws(() => compressZstd(new Uint8Array(1), 23), RangeError);
  assert.throws(() => compressZstd(new Uint8Array(1), Number.NaN), /Invalid zstd level NaN/);
  assert.ok(compressZstd(new Uint8Array(100), -5).length > 0);
});

Deno.test("zstd: a frame's declared content size is read from its header", () => {
  const pledged = (n: number) =>
    zstdCompressSync(new Uint8Array(n).fill(7), { pledgedSrcSize: n } as ZstdOptions);
  for (const n of [0, 1, 200, 255, 256, 300, 65_791, 65_792, 1_000_000]) {
    assert.equal(zstdFrameContentSize(pledged(n)), n, `size ${n}`);
  }
  assert.equal(zstdFrameContentSize(zstdCompressSync(new Uint8Array(1000))), undefined);
  assert.equal(zstdFrameContentSize(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), undefined);
  assert.equal(zstdFrameContentSize(pledged(1_000_000).subarray(0, 6)), undefined);
});
