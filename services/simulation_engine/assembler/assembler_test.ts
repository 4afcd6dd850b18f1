import assert from "node:assert/strict";
import { formatMolecule, MoleculeType, pack } from "../../../codec/mod.ts";
import { instructionByName, labelHash } from "../../../codec/isa.ts";
import { assemble, AssemblyError, type ProgramArtifact } from "./mod.ts";

/** Cells as `pos => TYPE:value` in emission order. */
function layout(a: ProgramArtifact): [string, string][] {
  return a.cells.map((c) => [c.pos.join("|"), formatMolecule(c.molecule)]);
}

const op = (name: string) => `CODE:${instructionByName(name)?.opcode}`;
const label = (name: string) => `LABEL:${labelHash(name)}`;
const ref = (name: string) => `LABELREF:${labelHash(name)}`;

Deno.test("R and I arguments encode as REGISTER and typed molecules", () => {
  assert.deepEqual(layout(assemble("SETI %DR3 DATA:5")), [
    ["0|0", op("SETI")],
    ["1|0", "REGISTER:3"],
    ["2|0", "DATA:5"],
  ]);
});

Deno.test("I accepts every type name, bare integers as DATA, hex and negatives", () => {
  const cells = (lit: string) => layout(assemble(`PUSI ${lit}`))[1]?.[1];
  assert.equal(cells("7"), "DATA:7");
  assert.equal(cells("-7"), "DATA:-7");
  assert.equal(cells("0x1F"), "DATA:31");
  assert.equal(cells("energy:-0x10"), "ENERGY:-16");
  assert.equal(cells("STRUCTURE:524287"), "STRUCTURE:524287");
  assert.equal(cells("CODE:-524288"), "CODE:-524288");
  for (const t of ["LABEL", "LABELREF", "REGISTER"]) assert.equal(cells(`${t}:3`), `${t}:3`);
});

Deno.test("L and V arguments encode a REGISTER and one DATA cell per component", () => {
  assert.deepEqual(layout(assemble("SETV %LR2 3|-4")), [
    ["0|0", op("SETV")],
    ["1|0", "REGISTER:2"],
    ["2|0", "DATA:3"],
    ["3|0", "DATA:-4"],
  ]);
});

Deno.test("T arguments encode LABELREF hashes, including forward references", () => {
  const a = assemble("JMPI end\nSTART: CALL Start\nEND: RET");
  assert.deepEqual(layout(a), [
    ["0|0", op("JMPI")],
    ["1|0", ref("END")],
    ["2|0", label("START")],
    ["3|0", op("CALL")],
    ["4|0", ref("START")],
    ["5|0", label("END")],
    ["6|0", op("RET")],
  ]);
  assert.deepEqual([...a.labels], [["START", [2, 0]], ["END", [5, 0]]]);
  assert.equal(layout(assemble("JMPI LABELREF:1234"))[1]?.[1], "LABELREF:1234");
});

Deno.test("labels may stand alone or precede an instruction", () => {
  assert.deepEqual(layout(assemble("A:\nB: C: NOP\nD: ADDI %DR0 1")).map(([p]) => p), [
    "0|0",
    "1|0",
    "2|0",
    "4|0",
    "5|0",
    "6|0",
    "7|0",
  ]);
});

Deno.test("NOP^n emits nothing but advances the cursor n cells", () => {
  const a = assemble("NOP^3\nRET\nnop\nNOP^1\nRET");
  assert.deepEqual(layout(a), [["3|0", op("RET")], ["6|0", op("RET")]]);
  assert.deepEqual(a.entry, [3, 0]);
});

Deno.test(".ORG moves the cursor, with @ and @+k/@-k relative to the cursor", () => {
  const a = assemble(".ORG 5|5\nRET\n.ORG 0|@+2\nDUP\n.ORG @-3|@\nSWAP; .org 7|-1; DROP");
  assert.deepEqual(layout(a), [
    ["5|5", op("RET")],
    ["0|7", op("DUP")],
    ["-2|7", op("SWAP")],
    ["7|-1", op("DROP")],
  ]);
});

Deno.test(".DIR changes the layout direction", () => {
  assert.deepEqual(layout(assemble(".DIR 0|1\nSETI %DR0 1\n.dir -1|0\nRET")), [
    ["0|0", op("SETI")],
    ["0|1", "REGISTER:0"],
    ["0|2", "DATA:1"],
    ["0|3", op("RET")],
  ]);
});

Deno.test(".PLACE puts molecules at ranges without moving the cursor", () => {
  const a = assemble("RET\n.PLACE STRUCTURE:1 -1..1|-1\n.PLACE 9 @|3..2\nDUP");
  assert.deepEqual(layout(a), [
    ["0|0", op("RET")],
    ["-1|-1", "STRUCTURE:1"],
    ["0|-1", "STRUCTURE:1"],
    ["1|-1", "STRUCTURE:1"],
    ["1|3", "DATA:9"],
    ["1|2", "DATA:9"],
    ["1|0", op("DUP")],
  ]);
  assert.equal(assemble(".PLACE DATA:1 0..9|0..9").cells.length, 100);
});

Deno.test(".REG aliases registers and .DEFINE names literals and vectors", () => {
  const a = assemble(
    ".REG %CTR %DR5\n.reg POS %LR1\n.REG %C2 %CTR\n.DEFINE STEP ENERGY:3\n.DEFINE EAST 1|0\n" +
      ".DEFINE ALSO STEP\nADDI %ctr STEP\nSETV %POS EAST\nSETI %C2 ALSO\nPUSI 4",
  );
  assert.deepEqual(layout(a).map(([, m]) => m), [
    op("ADDI"),
    "REGISTER:5",
    "ENERGY:3",
    op("SETV"),
    "REGISTER:1",
    "DATA:1",
    "DATA:0",
    op("SETI"),
    "REGISTER:5",
    "ENERGY:3",
    op("PUSI"),
    "DATA:4",
  ]);
});

Deno.test("3D programs use three-component vectors and positions", () => {
  const a = assemble(
    "START: SCAN %DR0 1|0|-1\n.ORG 0|0|@+1\n.DIR 0|0|1\nSEEK 0|1|0\n.PLACE DATA:1 0|0..1|-1",
    { dims: 3 },
  );
  assert.equal(a.dims, 3);
  assert.deepEqual(layout(a), [
    ["0|0|0", label("START")],
    ["1|0|0", op("SCAN")],
    ["2|0|0", "REGISTER:0"],
    ["3|0|0", "DATA:1"],
    ["4|0|0", "DATA:0"],
    ["5|0|0", "DATA:-1"],
    ["0|0|1", op("SEEK")],
    ["0|0|2", "DATA:0"],
    ["0|0|3", "DATA:1"],
    ["0|0|4", "DATA:0"],
    ["0|0|-1", "DATA:1"],
    ["0|1|-1", "DATA:1"],
  ]);
  assert.deepEqual(a.entry, [0, 0, 0]);
  assert.deepEqual(a.direction, [1, 0, 0]);
});

Deno.test("entry is .ENTRY, else label START, else the first instruction", () => {
  assert.deepEqual(assemble("A: NOP^2\nRET\nSTART: DUP").entry, [4, 0]);
  assert.deepEqual(assemble("A: NOP^2\nRET\nDUP").entry, [3, 0]);
  assert.deepEqual(assemble("START: RET\n.ENTRY\nX: DUP").entry, [3, 0]);
  assert.deepEqual(assemble("").entry, [0, 0]);
  assert.deepEqual(assemble("").direction, [1, 0]);
  assert.deepEqual(assemble(".DIRECTION 0|-1\nRET").direction, [0, -1]);
  assert.deepEqual(assemble(".ipdir -1|0").direction, [-1, 0]);
});

Deno.test("source map points each cell at its line and token", () => {
  const a = assemble("# c\n  LOOP: ADDI %DR0 1 ; JMPI LOOP", { file: "p.evo" });
  assert.deepEqual(a.sourceMap.get("0|0"), {
    file: "p.evo",
    line: 2,
    column: 3,
    text: "LOOP: ADDI %DR0 1 ; JMPI LOOP",
  });
  assert.equal(a.sourceMap.get("2|0")?.column, 14);
  assert.equal(a.sourceMap.get("4|0")?.column, 23);
  assert.equal(a.sourceMap.size, a.cells.length);
});

/** [source, line, column, message fragment] */
const ERRORS: [string, number, number, string][] = [
  ["RET\n  FOO %DR0", 2, 3, "unknown instruction 'FOO'"],
  [".BOGUS 1", 1, 1, "unknown directive '.BOGUS'"],
  ["SETI %DR0", 1, 1, "SETI expects 2 arguments (R I), got 1"],
  ["SETI %DR0 1 2", 1, 13, "SETI expects 2 arguments (R I), got 3"],
  ["RET 1", 1, 5, "RET expects 0 arguments, got 1"],
  ["NOP 3", 1, 5, "NOP expects 0 arguments"],
  ["NOP^0", 1, 5, "expected a count >= 1"],
  ["NOP^x", 1, 5, "bad number 'x'"],
  ["SETI %LR0 1", 1, 6, "'%LR0' is a location register, expected a data register"],
  ["SETV %DR0 1|0", 1, 6, "expected a location register"],
  ["PUSH %DR8", 1, 6, "unknown register '%DR8', expected %DR0..%DR7"],
  ["PUSH %XY", 1, 6, "unknown register '%XY'"],
  ["PUSH 5", 1, 6, "bad argument '5', expected a data register"],
  ["PUSI DATA:x", 1, 11, "bad value 'x'"],
  ["PUSI DATA:524288", 1, 11, "out of range, expected -524288..524287"],
  ["PUSI -524289", 1, 6, "out of range, expected -524288..524287"],
  ["PUSI FOO:1", 1, 6, "unknown molecule type 'FOO'"],
  ["PUSI 1|2", 1, 6, "bad immediate '1|2'"],
  ["PUSI WHAT", 1, 6, "unknown constant 'WHAT'"],
  ["PUSI $", 1, 6, "bad argument '$'"],
  ["SEEK 1|2|3", 1, 6, "has 3 components, expected a vector of 2 components"],
  ["SEEK 1", 1, 6, "has 1 component"],
  ["SEEK @|0", 1, 6, "'@' and ranges are not allowed"],
  ["SEEK 1|x", 1, 8, "bad number 'x'"],
  ["JMPI NOWHERE\nRET", 1, 6, "unknown label 'NOWHERE'"],
  ["JMPI DATA:3", 1, 6, "bad label reference"],
  ["A: RET\n a: DUP", 2, 2, "duplicate label 'A'"],
  ["RET\n.ORG 0|0\nDUP", 3, 1, "cell 0|0 placed twice: first at line 1, again at line 3"],
  [".PLACE DATA:1 0|0\n.PLACE DATA:2 -1..1|0", 2, 1, "placed twice: first at line 1"],
  [".ORG 1..2|0", 1, 6, "range in '1..2|0'"],
  [".ORG 1|@2", 1, 8, "bad cursor offset '@2'"],
  [".ORG 1|2 3", 1, 10, ".ORG expects 1 argument (position), got 2"],
  [".DIR 1|1", 1, 6, "is not a unit vector"],
  [".DIRECTION 0|0", 1, 12, "is not a unit vector"],
  [".PLACE DATA:1 0..2000|0..2000", 1, 1, "expected at most"],
  [".REG %DR1 %DR2", 1, 6, "cannot alias '%DR1'"],
  [".REG %A %B", 1, 9, "unknown register '%B'"],
  [".REG %A %DR0\n.REG %A %DR1", 2, 6, "duplicate alias '%A'"],
  [".DEFINE 5 6", 1, 9, "bad constant name '5'"],
  [".DEFINE X 1\n.DEFINE x 2", 2, 9, "duplicate constant 'X'"],
  [".ENTRY\nRET\n.ENTRY", 3, 1, "duplicate .ENTRY"],
  ["RET\n.ENTRY # nothing follows", 2, 1, ".ENTRY is not followed by an instruction"],
];

for (const [src, line, column, fragment] of ERRORS) {
  Deno.test(`error: ${JSON.stringify(src)} -> ${line}:${column} ${fragment}`, () => {
    let caught: unknown;
    try {
      assemble(src, { file: "t.evo" });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof AssemblyError, `no AssemblyError: ${caught}`);
    assert.equal(`${caught.line}:${caught.column}`, `${line}:${column}`, caught.message);
    assert.ok(caught.message.startsWith(`t.evo:${line}:${column}: `), caught.message);
    assert.ok(caught.message.includes(fragment), caught.message);
    assert.equal(caught.file, "t.evo");
  });
}

Deno.test("bad options are a RangeError, not an AssemblyError", () => {
  assert.throws(() => assemble("RET", { dims: 0 }), RangeError);
  assert.throws(() => assemble("RET", { dims: 1.5 }), RangeError);
});

Deno.test("1D programs accept single integers as vectors", () => {
  const a = assemble("SEEK -3\n.ORG @+2\n.DIR -1\nRET", { dims: 1 });
  assert.deepEqual(layout(a), [["0", op("SEEK")], ["1", "DATA:-3"], ["4", op("RET")]]);
});

Deno.test("garbage input only ever throws AssemblyError", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const pieces = [
    "SETI",
    "SETV",
    "JMPI",
    "SCAN",
    "NOP",
    "NOP^",
    ".ORG",
    ".DIR",
    ".PLACE",
    ".REG",
    ".DEFINE",
    ".ENTRY",
    ".DIRECTION",
    "START:",
    "X:",
    "X",
    "%DR0",
    "%LR1",
    "%X",
    "DATA:",
    "LABELREF:",
    "0x",
    "@",
    "@+",
    "..",
    "|",
    ":",
    ";",
    "#",
    ",",
    " ",
    " ",
    "\n",
    "\t",
    "-",
    "+",
    "1",
    "9",
    "99999999999999999999",
    "%",
    ".",
    "^",
    "\u0000",
    "é",
    "constructor",
    "__proto__",
    "toString",
  ];
  let accepted = 0;
  for (let n = 0; n < 3000; n++) {
    let src = "";
    const len = 1 + rand(24);
    for (let i = 0; i < len; i++) src += pieces[rand(pieces.length)];
    try {
      assemble(src, { dims: 1 + rand(3) });
      accepted++;
    } catch (e) {
      if (!(e instanceof AssemblyError)) assert.fail(`raw ${e} for ${JSON.stringify(src)}`);
    }
  }
  for (let n = 0; n < 1000; n++) {
    const src = String.fromCharCode(...Array.from({ length: rand(40) }, () => rand(128)));
    try {
      assemble(src);
    } catch (e) {
      if (!(e instanceof AssemblyError)) assert.fail(`raw ${e} for ${JSON.stringify(src)}`);
    }
  }
  assert.ok(accepted > 0);
});

Deno.test(".EMIT writes one molecule at the cursor and moves on", () => {
  const a = assemble("RET\n.EMIT STRUCTURE:7\nDUP");
  assert.deepEqual(a.cells.map((c) => c.pos), [[0, 0], [1, 0], [2, 0]]);
  assert.equal(a.cells[1]!.molecule, pack(MoleculeType.STRUCTURE, 7));
});
