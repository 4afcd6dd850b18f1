import assert from "node:assert/strict";
import { expandSpans } from "./api.ts";

Deno.test("expandSpans() lists every tick of the spans, ascending", () => {
  assert.deepEqual(
    expandSpans([{ first: 0, step: 10, count: 3 }, { first: 25, step: 5, count: 2 }, {
      first: 100,
      step: 1,
      count: 1,
    }]),
    [0, 10, 20, 25, 30, 100],
  );
  assert.deepEqual(expandSpans([]), []);
});
