import assert from "node:assert/strict";
import { tokenize } from "./lexer.ts";

const texts = (src: string) => tokenize(src).map((s) => s.tokens.map((t) => t.text));

Deno.test("lexer splits tokens on whitespace and commas", () => {
  assert.deepEqual(texts("SETI %DR0, DATA:5\n\tADDI  %DR1,DATA:-2"), [
    ["SETI", "%DR0", "DATA:5"],
    ["ADDI", "%DR1", "DATA:-2"],
  ]);
});

Deno.test("lexer drops comments and blank lines", () => {
  assert.deepEqual(texts("# header\n\n  NOP # trailing; not a statement\n#x"), [["NOP"]]);
});

Deno.test("lexer splits statements on semicolons, keeping the line", () => {
  const stmts = tokenize("A: NOP ; SYNC;;RET\r\nDUP");
  assert.deepEqual(stmts.map((s) => s.tokens.map((t) => t.text)), [
    ["A:", "NOP"],
    ["SYNC"],
    ["RET"],
    ["DUP"],
  ]);
  assert.deepEqual(stmts.map((s) => s.line), [1, 1, 1, 2]);
  assert.equal(stmts[0]?.lineText, "A: NOP ; SYNC;;RET");
});

Deno.test("lexer reports 1-based columns", () => {
  const [stmt] = tokenize("  LOOP: ADDI %DR0 1;  RET");
  assert.deepEqual(stmt?.tokens.map((t) => [t.text, t.line, t.column]), [
    ["LOOP:", 1, 3],
    ["ADDI", 1, 9],
    ["%DR0", 1, 14],
    ["1", 1, 19],
  ]);
  assert.equal(tokenize("  LOOP: ADDI %DR0 1;  RET")[1]?.tokens[0]?.column, 23);
});

Deno.test("lexer classifies labels, directives and words", () => {
  const [stmt] = tokenize("Start_1: .ORG DATA:5 x: 1|2");
  assert.deepEqual(stmt?.tokens.map((t) => t.kind), [
    "label",
    "directive",
    "word",
    "label",
    "word",
  ]);
  assert.equal(tokenize("1A: x")[0]?.tokens[0]?.kind, "word");
});

Deno.test("lexer accepts anything without throwing", () => {
  assert.deepEqual(texts(""), []);
  assert.deepEqual(texts("\u0000\u00ff ; ;,,"), [["\u0000\u00ff"]]);
});
