import assert from "node:assert/strict";
import { MoleculeType, pack } from "../../../codec/mod.ts";
import { instructionByName, INSTRUCTIONS, labelHash } from "../../../codec/isa.ts";
import { assemble } from "./assembler.ts";
import { disassemble, disassembleProgram } from "./disassembler.ts";

const code = (name: string) => pack(MoleculeType.CODE, instructionByName(name)?.opcode ?? -1);
const reg = (n: number) => pack(MoleculeType.REGISTER, n);
const data = (n: number) => pack(MoleculeType.DATA, n);

/** Suitable source arguments per kind, in the form the disassembler prints them. */
function sampleArgs(kinds: readonly string[], dims: number): string[] {
  let dr = 0;
  let lr = 0;
  return kinds.map((k) => {
    switch (k) {
      case "R":
        return `%DR${(dr++ * 5 + 1) % 8}`;
      case "L":
        return `%LR${(lr++ * 3 + 1) % 4}`;
      case "I":
        return "ENERGY:-7";
      case "V":
        return Array.from({ length: dims }, (_, i) => i - 1).join("|");
      default:
        return "LABELREF:1234";
    }
  });
}

for (const dims of [2, 3]) {
  Deno.test(`every instruction round-trips through assemble and disassemble (${dims}D)`, () => {
    for (const spec of INSTRUCTIONS) {
      const line = [spec.name, ...sampleArgs(spec.args, dims)].join(" ");
      const { cells } = assemble(line, { dims });
      if (spec.name === "NOP") {
        assert.equal(cells.length, 0, "NOP emits nothing");
        assert.equal(disassemble(pack(MoleculeType.CODE, 0), [], dims), "NOP");
        continue;
      }
      const [op, ...args] = cells.map((c) => c.molecule);
      assert.equal(disassemble(op ?? -1, args, dims), line);
      assert.deepEqual(assemble(line.toLowerCase(), { dims }).cells, cells);
    }
  });
}

Deno.test("disassemble prints registers, vectors and label references", () => {
  assert.equal(disassemble(code("SETI"), [reg(0), data(5)], 2), "SETI %DR0 DATA:5");
  assert.equal(disassemble(code("SCAN"), [reg(1), data(1), data(0)], 2), "SCAN %DR1 1|0");
  assert.equal(
    disassemble(code("JMPI"), [pack(MoleculeType.LABELREF, 1234)], 2),
    "JMPI LABELREF:1234",
  );
});

Deno.test("disassemble falls back to molecule text for odd cells", () => {
  assert.equal(disassemble(pack(MoleculeType.CODE, 999), [], 2), "CODE:999");
  assert.equal(disassemble(pack(MoleculeType.CODE, -3), [], 2), "CODE:-3");
  assert.equal(disassemble(data(5), [], 2), "DATA:5");
  assert.equal(disassemble(code("SETR"), [reg(9), data(2)], 2), "SETR REGISTER:9 DATA:2");
  assert.equal(disassemble(code("SCAN"), [reg(1), data(1), reg(2)], 2), "SCAN %DR1 1|REGISTER:2");
  assert.equal(disassemble(code("SETI"), [reg(0)], 2), "SETI %DR0 ?");
  assert.equal(
    disassemble(code("SETI"), [reg(0), pack(MoleculeType.DATA, 5, 3)], 2),
    "SETI %DR0 DATA:5@3",
  );
});

Deno.test("disassembleProgram lists labels, instructions and placed cells", () => {
  const listing = disassembleProgram(assemble(
    "START: SETI %DR0 7\n  JMPI START\n.PLACE STRUCTURE:2 0|1",
  ));
  const lines = listing.split("\n").map((l) => l.replace(/ +/g, " "));
  assert.deepEqual(lines, [
    "0|0 START: # START: SETI %DR0 7",
    "1|0 SETI %DR0 DATA:7 # START: SETI %DR0 7",
    "4|0 JMPI START # JMPI START",
    "0|1 STRUCTURE:2 # .PLACE STRUCTURE:2 0|1",
  ]);
  assert.equal(labelHash("start"), labelHash("START"));
});
