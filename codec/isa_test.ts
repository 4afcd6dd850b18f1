import assert from "node:assert/strict";
import {
  type ArgKind,
  instruction,
  instructionByName,
  INSTRUCTIONS,
  type InstructionSpec,
  type OpcodeName,
  OPCODES,
} from "./isa.ts";

// `deno test` type-checks this file: each `@ts-expect-error` below fails the run as "unused" as
// soon as a misspelled opcode name compiles again (the bug where `case O.SETX:` was a silent NOP).
Deno.test("a misspelled opcode name does not compile", () => {
  // @ts-expect-error SETX is not an instruction.
  const viaTable: number | undefined = OPCODES.SETX;
  assert.equal(viaTable, undefined);

  // @ts-expect-error mnemonics are upper case.
  assert.throws(() => instruction("seti"));

  const name: OpcodeName = "SETI";
  // @ts-expect-error "SETX" is not an OpcodeName.
  const wrong: OpcodeName = "SETX";
  assert.notEqual(name, wrong);

  // What the VM does: a switch over opcodes, where a misspelled case must not type-check.
  const op: number = OPCODES.SETI;
  switch (op) {
    // @ts-expect-error SETX is not an instruction.
    case OPCODES.SETX:
      assert.fail("SETX matched");
      break;
    case OPCODES.SETI:
      break;
    default:
      assert.fail("SETI did not match");
  }
});

Deno.test("opcodes are the table order, unchanged (they are stored in runs)", () => {
  // Pinned: programs and organisms' last instructions are persisted as opcodes.
  assert.equal(
    INSTRUCTIONS.map((i) => i.name).join(" "),
    "NOP SETI SETR SETV ADDI ADDR SUBI SUBR MULI MULR DIVI DIVR MODI MODR ANDI ANDR ORI ORR " +
      "XORI XORR NOT SHLI SHRI PUSH POP PUSI DUP SWAP DROP IFI IFR NEI NER LTI LTR GTI GTR IFTI " +
      "IFTR IFER JMPI JMPR CALL RET SCAN SCNR PEEK PEKR POKE POKR XCHG SEEK SEKR SYNC TURN TRNR " +
      "NRG NTR RAND RNDI POSR DPLR SKLR DIRR VADD VSCL LPSH LPOP ADPI SMRI SMRR FORK IFMR IFUR",
  );
  INSTRUCTIONS.forEach((spec, opcode) => {
    assert.equal(spec.opcode, opcode);
    assert.equal(OPCODES[spec.name], opcode);
    assert.equal(instruction(spec.name), spec);
    assert.equal(instructionByName(spec.name.toLowerCase()), spec);
  });
  assert.equal(Object.keys(OPCODES).length, INSTRUCTIONS.length);
  assert.ok(Object.isFrozen(OPCODES));
});

/** Operand kinds that may take each other's place between the two members of a pair. */
const SWAPPABLE: readonly (readonly [ArgKind, ArgKind])[] = [
  ["R", "I"], // register vs immediate
  ["L", "V"], // location register vs vector
  ["L", "T"], // location register vs label
];

/**
 * Whether `a` and `b` are two variants of one operation: the same operands but one, whose kinds
 * are SWAPPABLE; or RAND's shape, where the register form reads its bound from the destination
 * register and the immediate form adds the bound as a trailing `I`.
 */
function variantShapes(a: readonly ArgKind[], b: readonly ArgKind[]): boolean {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (long.length === short.length + 1) {
    return long.at(-1) === "I" && short.at(-1) === "R" &&
      short.every((k, i) => long[i] === k);
  }
  if (a.length !== b.length) return false;
  const diff = a.flatMap((k, i) => (k === b[i] ? [] : [[k, b[i]!] as const]));
  if (diff.length !== 1) return false;
  const [x, y] = diff[0]!;
  return SWAPPABLE.some(([p, q]) => (p === x && q === y) || (p === y && q === x));
}

Deno.test("the partner table is consistent", () => {
  const paired = INSTRUCTIONS.filter((i) => i.partner !== null);
  assert.ok(paired.length > 0);
  for (const spec of paired) {
    const other = instruction(spec.partner!);
    assert.notEqual(other, spec, `${spec.name} is its own partner`);
    assert.equal(other.partner, spec.name, `${spec.name} -> ${other.name} is not symmetric`);
    assert.equal(other.group, spec.group, `${spec.name} and ${other.name} are in different groups`);
    assert.ok(
      variantShapes(spec.args, other.args),
      `${spec.name} (${spec.args.join(" ")}) and ${other.name} (${other.args.join(" ")}) ` +
        "differ in more than one operand source",
    );
  }
});

Deno.test("every register-form arithmetic instruction has an immediate partner", () => {
  // The VM runs ADDR & co. through their immediate partner's arithmetic.
  const registerForms = INSTRUCTIONS.filter((i) =>
    (i.group === "arithmetic" || i.group === "bitwise") && i.args.join(" ") === "R R"
  );
  assert.equal(registerForms.length, 8);
  for (const spec of registerForms) {
    assert.notEqual(spec.partner, null, `${spec.name} has no partner`);
    const imm: InstructionSpec = instruction(spec.partner!);
    assert.deepEqual(imm.args, ["R", "I"], `${spec.name}'s partner ${imm.name}`);
  }
});
