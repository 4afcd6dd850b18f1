/**
 * The instruction set: one table shared by the VM, the assembler and the disassembler.
 *
 * An instruction is a CODE molecule whose value is the opcode, followed (along the IP's
 * direction) by its argument cells:
 * - `R`: a data register, one REGISTER molecule (value mod {@link DATA_REGISTERS})
 * - `L`: a location register, one REGISTER molecule (value mod {@link LOCATION_REGISTERS})
 * - `I`: an immediate, one molecule used as it is (marker cleared)
 * - `V`: a vector, one DATA molecule per world dimension
 * - `T`: a label reference, one LABELREF molecule jumped to by fuzzy matching
 *
 * @module
 */

/** Kinds of instruction arguments. */
export type ArgKind = "R" | "L" | "I" | "V" | "T";

/** Number of data registers (%DR0..). */
export const DATA_REGISTERS = 8;
/** Number of location registers (%LR0..). */
export const LOCATION_REGISTERS = 4;
/** Maximum depth of the data, location and call stacks. */
export const STACK_LIMIT = 64;

/** Instruction groups, for documentation and mutation. */
export type InstructionGroup =
  | "nop"
  | "data"
  | "arithmetic"
  | "bitwise"
  | "stack"
  | "conditional"
  | "control"
  | "environment"
  | "state"
  | "location"
  | "reproduction";

/**
 * A table row: mnemonic, arguments, energy, entropy, group, doc and, on one member of a pair,
 * the mnemonic of the other (see {@link InstructionSpec.partner}). The partner is a plain string
 * here because the mnemonics are only known once the table is; the build below checks it against
 * {@link OpcodeName} at compile time.
 */
type Row =
  | readonly [string, readonly ArgKind[], number, number, InstructionGroup, string]
  | readonly [string, readonly ArgKind[], number, number, InstructionGroup, string, string];

// Order defines the opcodes (index = opcode); append only, never reorder, or stored runs change.
// `as const` keeps each mnemonic as a literal type, so OpcodeName is the exact set of names.
const ROWS = [
  ["NOP", [], 1, 1, "nop", "Do nothing (the empty cell executes as NOP)."],
  ["SETI", ["R", "I"], 1, 1, "data", "R := I."],
  ["SETR", ["R", "R"], 1, 1, "data", "R1 := R2.", "SETI"],
  ["SETV", ["L", "V"], 1, 1, "location", "L := vector V."],
  ["ADDI", ["R", "I"], 1, 1, "arithmetic", "R := R + I (value, type of R kept)."],
  ["ADDR", ["R", "R"], 1, 1, "arithmetic", "R1 := R1 + R2.", "ADDI"],
  ["SUBI", ["R", "I"], 1, 1, "arithmetic", "R := R - I."],
  ["SUBR", ["R", "R"], 1, 1, "arithmetic", "R1 := R1 - R2.", "SUBI"],
  ["MULI", ["R", "I"], 1, 1, "arithmetic", "R := R * I."],
  ["MULR", ["R", "R"], 1, 1, "arithmetic", "R1 := R1 * R2.", "MULI"],
  ["DIVI", ["R", "I"], 1, 1, "arithmetic", "R := R / I, truncated; fails on zero."],
  ["DIVR", ["R", "R"], 1, 1, "arithmetic", "R1 := R1 / R2; fails on zero.", "DIVI"],
  ["MODI", ["R", "I"], 1, 1, "arithmetic", "R := R mod I (non-negative); fails on zero."],
  ["MODR", ["R", "R"], 1, 1, "arithmetic", "R1 := R1 mod R2; fails on zero.", "MODI"],
  ["ANDI", ["R", "I"], 1, 1, "bitwise", "R := R & I."],
  ["ANDR", ["R", "R"], 1, 1, "bitwise", "R1 := R1 & R2.", "ANDI"],
  ["ORI", ["R", "I"], 1, 1, "bitwise", "R := R | I."],
  ["ORR", ["R", "R"], 1, 1, "bitwise", "R1 := R1 | R2.", "ORI"],
  ["XORI", ["R", "I"], 1, 1, "bitwise", "R := R ^ I."],
  ["XORR", ["R", "R"], 1, 1, "bitwise", "R1 := R1 ^ R2.", "XORI"],
  ["NOT", ["R"], 1, 1, "bitwise", "R := ~R."],
  ["SHLI", ["R", "I"], 1, 1, "bitwise", "R := R << I."],
  ["SHRI", ["R", "I"], 1, 1, "bitwise", "R := R >> I (arithmetic)."],
  ["PUSH", ["R"], 1, 1, "stack", "Push R on the data stack; fails when full."],
  ["POP", ["R"], 1, 1, "stack", "Pop the data stack into R; fails when empty."],
  ["PUSI", ["I"], 1, 1, "stack", "Push I on the data stack.", "PUSH"],
  ["DUP", [], 1, 1, "stack", "Duplicate the top of the data stack."],
  ["SWAP", [], 1, 1, "stack", "Swap the two topmost data stack entries."],
  ["DROP", [], 1, 1, "stack", "Discard the top of the data stack."],
  ["IFI", ["R", "I"], 1, 1, "conditional", "Skip the next instruction unless R == I."],
  ["IFR", ["R", "R"], 1, 1, "conditional", "Skip the next instruction unless R1 == R2.", "IFI"],
  ["NEI", ["R", "I"], 1, 1, "conditional", "Skip the next instruction unless R != I."],
  ["NER", ["R", "R"], 1, 1, "conditional", "Skip the next instruction unless R1 != R2.", "NEI"],
  ["LTI", ["R", "I"], 1, 1, "conditional", "Skip the next instruction unless R < I."],
  ["LTR", ["R", "R"], 1, 1, "conditional", "Skip the next instruction unless R1 < R2.", "LTI"],
  ["GTI", ["R", "I"], 1, 1, "conditional", "Skip the next instruction unless R > I."],
  ["GTR", ["R", "R"], 1, 1, "conditional", "Skip the next instruction unless R1 > R2.", "GTI"],
  ["IFTI", ["R", "I"], 1, 1, "conditional", "Skip the next instruction unless type(R) == type(I)."],
  [
    "IFTR",
    ["R", "R"],
    1,
    1,
    "conditional",
    "Skip the next instruction unless the types match.",
    "IFTI",
  ],
  ["IFER", [], 1, 1, "conditional", "Skip the next instruction unless the previous one failed."],
  ["JMPI", ["T"], 1, 1, "control", "Jump to the label best matching T."],
  ["JMPR", ["L"], 1, 1, "control", "Jump to the position held in L.", "JMPI"],
  ["CALL", ["T"], 2, 1, "control", "Push the return position, jump to the label best matching T."],
  ["RET", [], 1, 1, "control", "Return to the position on top of the call stack."],
  ["SCAN", ["R", "V"], 1, 1, "environment", "R := the molecule at DP + V (not consumed)."],
  ["SCNR", ["R", "L"], 1, 1, "environment", "R := the molecule at DP + L.", "SCAN"],
  ["PEEK", ["R", "V"], 2, 2, "environment", "R := the molecule at DP + V, emptying the cell."],
  ["PEKR", ["R", "L"], 2, 2, "environment", "Like PEEK with the offset from L.", "PEEK"],
  ["POKE", ["R", "V"], 2, 2, "environment", "Write R into the empty cell at DP + V."],
  ["POKR", ["R", "L"], 2, 2, "environment", "Like POKE with the offset from L.", "POKE"],
  ["XCHG", ["R", "V"], 2, 2, "environment", "Swap R with the unowned or own cell at DP + V."],
  ["SEEK", ["V"], 1, 1, "state", "Move the active DP by V."],
  ["SEKR", ["L"], 1, 1, "state", "Move the active DP by L.", "SEEK"],
  ["SYNC", [], 1, 1, "state", "Move the active DP onto the IP."],
  ["TURN", ["V"], 1, 1, "state", "Set the IP direction to V."],
  ["TRNR", ["L"], 1, 1, "state", "Set the IP direction to L.", "TURN"],
  ["NRG", ["R"], 1, 1, "state", "R := DATA:ER (energy)."],
  ["NTR", ["R"], 1, 1, "state", "R := DATA:SR (entropy)."],
  ["RAND", ["R"], 1, 1, "state", "R := DATA:random in [0, R)."],
  ["RNDI", ["R", "I"], 1, 1, "state", "R := DATA:random in [0, I).", "RAND"],
  ["POSR", ["L"], 1, 1, "state", "L := the IP's position."],
  ["DPLR", ["L"], 1, 1, "location", "L := the active DP's position."],
  ["SKLR", ["L"], 1, 1, "location", "Move the active DP to the position in L."],
  ["DIRR", ["L", "R"], 1, 1, "location", "L := unit vector number R (+x, -x, +y, -y, ...)."],
  ["VADD", ["L", "L"], 1, 1, "location", "L1 := L1 + L2."],
  ["VSCL", ["L", "R"], 1, 1, "location", "L := L * R."],
  ["LPSH", ["L"], 1, 1, "location", "Push L on the location stack."],
  ["LPOP", ["L"], 1, 1, "location", "Pop the location stack into L."],
  ["ADPI", ["I"], 1, 1, "location", "Select DP number I (0 or 1) as the active DP."],
  ["SMRI", ["I"], 1, 1, "reproduction", "MR := I (marker written by POKE, 0..15)."],
  ["SMRR", ["R"], 1, 1, "reproduction", "MR := R.", "SMRI"],
  [
    "FORK",
    ["R", "V"],
    10,
    5,
    "reproduction",
    "New organism at the active DP, direction V, energy R, body = own cells marked MR.",
  ],
  ["IFMR", ["L"], 1, 1, "conditional", "Skip the next instruction unless DP + L is own."],
  ["IFUR", ["L"], 1, 1, "conditional", "Skip the next instruction unless DP + L is unowned."],
] as const satisfies readonly Row[];

/** Mnemonic of an instruction: a misspelled name is a compile error wherever this is the type. */
export type OpcodeName = (typeof ROWS)[number][0];

/** One row of the instruction table. */
export interface InstructionSpec {
  /** Mnemonic, upper case. */
  readonly name: OpcodeName;
  /** Opcode: the value of the CODE molecule. */
  readonly opcode: number;
  /** Argument kinds in cell order. */
  readonly args: readonly ArgKind[];
  /** Base energy cost (more for world access, see the VM). */
  readonly energy: number;
  /** Entropy added when executed. */
  readonly entropy: number;
  /** Group, for documentation and mutation. */
  readonly group: InstructionGroup;
  /** One line on what it does. */
  readonly doc: string;
  /**
   * The other variant of the same operation, or null: one operand comes from a different source
   * (register vs immediate, location register vs vector, location register vs label; RAND vs
   * RNDI: the bound from the destination register vs an immediate). Symmetric. Code that handles
   * both variants of a pair must go through this, never through opcode arithmetic: the opcodes
   * are fixed by the stored wire format, not by the pairing.
   */
  readonly partner: OpcodeName | null;
}

// Partners as declared on the rows (one member of each pair names the other). The map's value
// type makes a misspelled partner a compile error.
const DECLARED_PARTNERS = new Map<OpcodeName, OpcodeName>();
for (const row of ROWS) if (row.length === 7) DECLARED_PARTNERS.set(row[0], row[6]);
const PARTNERS = new Map<OpcodeName, OpcodeName>();
for (const [a, b] of DECLARED_PARTNERS) {
  for (const [x, y] of [[a, b], [b, a]] as const) {
    if (x === y || PARTNERS.has(x)) throw new Error(`instruction table: bad partner of ${x}`);
    PARTNERS.set(x, y);
  }
}

/** The instruction table, indexed by opcode. */
export const INSTRUCTIONS: readonly InstructionSpec[] = ROWS.map((
  [name, args, energy, entropy, group, doc],
  opcode,
) => ({ name, opcode, args, energy, entropy, group, doc, partner: PARTNERS.get(name) ?? null }));

/**
 * Opcode by mnemonic, e.g. `OPCODES.ADDI`. The key type is {@link OpcodeName}, so `OPCODES.SETX`
 * does not compile; the values are plain numbers, so a `switch` over opcodes stays numeric.
 */
export const OPCODES: Readonly<Record<OpcodeName, number>> = Object.freeze(
  Object.fromEntries(INSTRUCTIONS.map((i) => [i.name, i.opcode])) as Record<OpcodeName, number>,
);

const BY_NAME = new Map<string, InstructionSpec>(INSTRUCTIONS.map((i) => [i.name, i]));

/** The instruction named `name`; the name is checked at compile time (and at run time, for casts). */
export function instruction(name: OpcodeName): InstructionSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`no instruction named ${name}`);
  return spec;
}

/** Looks an instruction up by mnemonic (case-insensitive). */
export function instructionByName(name: string): InstructionSpec | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** Looks an instruction up by opcode. */
export function instructionByOpcode(opcode: number): InstructionSpec | undefined {
  return INSTRUCTIONS[opcode];
}

/** Number of cells an argument of `kind` occupies in a world of `dims` dimensions. */
export function argCells(kind: ArgKind, dims: number): number {
  return kind === "V" ? dims : 1;
}

/** Number of cells an instruction occupies, opcode included. */
export function instructionLength(spec: InstructionSpec, dims: number): number {
  let n = 1;
  for (const a of spec.args) n += argCells(a, dims);
  return n;
}

/**
 * Hash of a label name into a LABEL/LABELREF value: 32-bit FNV-1a of the upper-cased name,
 * folded to 19 bits so it is a non-negative 20-bit value.
 */
export function labelHash(name: string): number {
  let h = 0x811c9dc5;
  const s = name.toUpperCase();
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 19) ^ h) & 0x7ffff;
}
