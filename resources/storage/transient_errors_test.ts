import assert from "node:assert/strict";
import { isTransientStorageError } from "./transient_errors.ts";

const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.2:18333"), {
  code: "ECONNREFUSED",
});

Deno.test("a refused connection is transient, also as the cause of a storage error", () => {
  assert.equal(isTransientStorageError(refused), true);
  const wrapped = new Error("Cannot commit 'runs/r/raw/x': connect ECONNREFUSED", {
    cause: refused,
  });
  assert.equal(isTransientStorageError(new Error("outer", { cause: wrapped })), true);
});

Deno.test("a 503 answer is transient, a 403 and a full disk are not", () => {
  const answer = (status: number) =>
    Object.assign(new Error(`HTTP ${status}`), { $metadata: { httpStatusCode: status } });
  assert.equal(isTransientStorageError(answer(503)), true);
  assert.equal(isTransientStorageError(answer(403)), false);
  const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
  assert.equal(isTransientStorageError(full), false);
  assert.equal(isTransientStorageError("not an error"), false);
});
