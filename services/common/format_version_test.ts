import assert from "node:assert/strict";
import {
  checkFormatVersion,
  FORMAT_VERSION,
  NewerFormatError,
  newerFormatProblem,
} from "./format_version.ts";

Deno.test("a reader accepts its own format version, older ones and unset (0)", () => {
  for (const v of [0, 1, FORMAT_VERSION]) assert.equal(newerFormatProblem("x", v), null);
  checkFormatVersion("x", FORMAT_VERSION);
});

Deno.test("a reader refuses a newer format version with a message naming it", () => {
  const v = FORMAT_VERSION + 1;
  assert.equal(
    newerFormatProblem("'runs/r/metadata.pb'", v),
    `'runs/r/metadata.pb' has format version ${v}, newer than this build reads (up to ` +
      `${FORMAT_VERSION}); read it with a newer evochora`,
  );
  assert.throws(
    () => checkFormatVersion("'runs/r/metadata.pb'", v),
    (e: unknown) =>
      e instanceof NewerFormatError && /^Cannot read 'runs\/r\/metadata\.pb' has/.test(e.message),
  );
});
