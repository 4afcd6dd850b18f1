import assert from "node:assert/strict";
import { instructionSetMarkdown } from "./gen_isa_doc.ts";

Deno.test("docs/instruction_set.md matches the instruction table", async () => {
  const committed = await Deno.readTextFile(
    new URL("../docs/instruction_set.md", import.meta.url),
  );
  assert.equal(committed, instructionSetMarkdown(), "run 'deno task isa-doc'");
});
