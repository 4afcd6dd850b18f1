import assert from "node:assert/strict";
import { ApiHttpError } from "./errors.ts";
import { entityTag, etagMatches, strongEtag } from "./etag.ts";
import { parseNameList, parseNonNegativeInt, parseRegion, parseRunId } from "./params.ts";

function rejects(fn: () => unknown, parameter: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiHttpError);
    assert.equal(e.status, 400);
    assert.equal(e.parameter, parameter);
    return true;
  });
}

Deno.test("run ids: the storage key alphabet, 1-128 characters, no dot segments", () => {
  assert.equal(parseRunId("20261127T101530Z-s42-7f3a"), "20261127T101530Z-s42-7f3a");
  assert.equal(parseRunId("latest"), "latest");
  for (const bad of ["", ".", "..", "../x", "a/b", "a b", "x".repeat(129), "ä", "a\u0000"]) {
    rejects(() => parseRunId(bad), "run");
  }
});

Deno.test("regions: 2n numbers, start < end <= shape, whole world by default, size bound", () => {
  assert.deepEqual(parseRegion(undefined, [8, 4], 1000), { origin: [0, 0], size: [8, 4] });
  assert.deepEqual(parseRegion("1,2,5,4", [8, 4], 1000), { origin: [1, 2], size: [4, 2] });
  assert.deepEqual(parseRegion("0,0,0,2,2,1", [4, 4, 2], 1000), {
    origin: [0, 0, 0],
    size: [2, 2, 1],
  });
  for (const bad of ["1,2,5", "1,2,5,4,1", "a,0,1,1", "0,0,9,1", "2,0,2,1", "3,0,2,1", "", " "]) {
    rejects(() => parseRegion(bad, [8, 4], 1000), "region");
  }
  rejects(() => parseRegion(undefined, [100, 100], 9999), "region");
});

Deno.test("integers and name lists", () => {
  assert.equal(parseNonNegativeInt("n", undefined, { fallback: 3 }), 3);
  assert.equal(parseNonNegativeInt("n", "17"), 17);
  rejects(() => parseNonNegativeInt("n", undefined), "n");
  for (const bad of ["-1", "1.5", "0x10", "1e3", "12345678901234567"]) {
    rejects(() => parseNonNegativeInt("n", bad), "n");
  }
  rejects(() => parseNonNegativeInt("n", "5", { max: 4 }), "n");
  assert.deepEqual(parseNameList("m", undefined, ["a", "b"]), ["a", "b"]);
  assert.deepEqual(parseNameList("m", "b,a,b", ["a", "b"]), ["b", "a"]);
  rejects(() => parseNameList("m", "a,,b", ["a", "b"]), "m");
  rejects(() => parseNameList("m", "c", ["a", "b"]), "m");
});

Deno.test("ETags: 128 bits of SHA-256 of the exact identity, weak comparison for If-None-Match", () => {
  const t = entityTag(["world", "r", 10]);
  assert.equal(t.identity, "world\u0000r\u000010");
  // SHA-256("world\0r\010"), first 32 hex digits.
  assert.match(t.etag, /^"[0-9a-f]{32}"$/);
  assert.notEqual(entityTag(["world", "r", 1, 0]).identity, entityTag(["world", "r", 10]).identity);
  const e = strongEtag(["world", "r", 10]);
  assert.equal(e, t.etag);
  assert.equal(e, strongEtag(["world", "r", 10]));
  assert.notEqual(e, strongEtag(["world", "r", 11]));
  assert.ok(etagMatches(e, e));
  assert.ok(etagMatches(`"x", W/${e}`, e));
  assert.ok(etagMatches("*", e));
  assert.ok(!etagMatches(undefined, e));
  assert.ok(!etagMatches('"other"', e));
});

Deno.test("numbers beyond 2^53 are refused as too large and echoed exactly as typed", () => {
  for (const text of ["9999999999999999", "99999999999999999999", "0009007199254740992"]) {
    assert.throws(
      () => parseNonNegativeInt("tick", text),
      (e: Error) => e.message.includes(`'${text}'`) && /too large/.test(e.message),
      text,
    );
  }
  assert.equal(parseNonNegativeInt("tick", "9007199254740991"), Number.MAX_SAFE_INTEGER);
  assert.equal(parseNonNegativeInt("tick", "007"), 7);
});
