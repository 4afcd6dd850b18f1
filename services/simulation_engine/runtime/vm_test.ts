import assert from "node:assert/strict";
import { assemble, type ProgramArtifact } from "../assembler/mod.ts";
import { ancestorPlacement, createEngine } from "./engine.ts";
import { type EngineConfig, type EngineConfigInput, resolveEngineConfig } from "./engine_config.ts";
import { labelHash, STACK_LIMIT } from "../../../codec/isa.ts";
import {
  markerOf,
  MoleculeType,
  pack,
  typeOf,
  VALUE_MAX,
  VALUE_MIN,
  valueOf,
} from "../../../codec/mod.ts";
import { Organism } from "./organism.ts";
import { Rng } from "./rng.ts";
import { Simulation } from "./simulation.ts";
import type { World } from "./world.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const NO_MUTATION = {
  substitutionPerMille: 0,
  insertionPerMille: 0,
  deletionPerMille: 0,
  labelRewritePerMille: 0,
};

/** A quiet world: no energy sources, no mutation. 64x32 torus unless overridden. */
function config(input: EngineConfigInput = {}): EngineConfig {
  return resolveEngineConfig({
    shape: [64, 32],
    seed: 1,
    energy: { initialCount: 0, solarPer1000Ticks: 0, geysers: 0 },
    mutation: NO_MUTATION,
    ...input,
  });
}

interface SetupOptions {
  input?: EngineConfigInput;
  origin?: number[];
  energy?: number;
}

interface Setup {
  sim: Simulation;
  o: Organism;
  w: World;
  prog: ProgramArtifact;
  /** Flat index of a position relative to the program origin. */
  rel(...c: number[]): number;
  /** Flat index of absolute coordinates. */
  abs(...c: number[]): number;
  /** Runs `n` ticks. */
  steps(n: number): void;
}

const DEFAULT_ORIGIN = [4, 4];

/** One organism of `src` placed at `origin` (default 4|4) in a fresh simulation. */
function setup(src: string, opts: SetupOptions = {}): Setup {
  const sim = new Simulation(config(opts.input ?? {}));
  const origin = opts.origin ?? DEFAULT_ORIGIN.concat(new Array(sim.world.dims - 2).fill(0));
  const w = sim.world;
  const prog = assemble(src, { dims: w.dims });
  const o = sim.place({ ...prog, name: "t" }, origin, opts.energy ?? 1000);
  return {
    sim,
    o,
    w,
    prog,
    rel: (...c) => w.flatOf(c.map((v, i) => v + origin[i]!)),
    abs: (...c) => w.flatOf(c),
    steps: (n) => {
      for (let i = 0; i < n; i++) sim.step();
    },
  };
}

/** Places another organism into an existing simulation. */
function addOrganism(sim: Simulation, src: string, origin: number[], energy = 1000): Organism {
  return sim.place({ ...assemble(src, { dims: sim.world.dims }), name: "other" }, origin, energy);
}

const data = (v: number) => pack(MoleculeType.DATA, v);
const val = (o: Organism, r: number) => valueOf(o.dr[r]!);

/** Runs the program's first `n` instructions and returns DR0's value. */
function dr0After(src: string, n: number): number {
  const t = setup(src);
  t.steps(n);
  assert.equal(t.o.lastFailed, false, `${src}: ${t.o.failureReason}`);
  return val(t.o, 0);
}

// ---------------------------------------------------------------------------------------------
// Execution basics

Deno.test("each organism executes exactly one instruction per tick", () => {
  const t = setup("ADDI %DR0 DATA:1\nADDI %DR0 DATA:1\nADDI %DR0 DATA:1");
  t.steps(2);
  assert.equal(val(t.o, 0), 2);
  assert.equal(t.o.instructions, 2);
  assert.equal(t.o.ip, t.rel(6, 0));
});

Deno.test("non-CODE molecules and unknown opcodes execute as a one-cell NOP", () => {
  const t = setup(".EMIT DATA:5\n.EMIT CODE:500\n.EMIT CODE:-3\n.EMIT STRUCTURE:1");
  const er = t.o.er;
  t.steps(4);
  assert.equal(t.o.ip, t.rel(4, 0));
  assert.equal(t.o.er, er - 4);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.lastOpcode, 0);
});

Deno.test("an instruction charges its base energy and entropy", () => {
  const t = setup("SETI %DR0 DATA:1\nCALL X\nX: FORK %DR0 1|0");
  const er = t.o.er;
  const sr = t.o.sr;
  t.steps(1);
  assert.equal(t.o.er, er - 1);
  assert.equal(t.o.sr, sr + 1);
  t.steps(1); // CALL: energy 2
  assert.equal(t.o.er, er - 3);
  assert.equal(t.o.lastCost, 2);
});

Deno.test("an instruction whose arguments run past a bounded world's edge fails in place", () => {
  // A lone SETI opcode in the last column: its two argument cells would lie outside.
  const t = setup(".EMIT CODE:1", {
    input: { shape: [8, 8], topology: "bounded" },
    origin: [7, 2],
  });
  const er = t.o.er;
  t.steps(1);
  assert.equal(t.o.lastFailed, true);
  assert.match(t.o.failureReason, /edge/);
  assert.equal(t.o.ip, t.rel(0, 0));
  assert.equal(val(t.o, 0), 0);
  assert.equal(t.o.er, er - 1 - t.sim.config.thermo.failEnergy);
});

// ---------------------------------------------------------------------------------------------
// Data

Deno.test("SETI stores the immediate molecule with its type", () => {
  const t = setup("SETI %DR0 ENERGY:7\nSETI %DR1 -5\nSETI %DR7 LABELREF:9");
  t.steps(3);
  assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, 7));
  assert.equal(t.o.dr[1], data(-5));
  assert.equal(t.o.dr[7], pack(MoleculeType.LABELREF, 9));
});

Deno.test("SETR copies a register with its type", () => {
  const t = setup("SETI %DR2 STRUCTURE:9\nSETR %DR5 %DR2");
  t.steps(2);
  assert.equal(t.o.dr[5], pack(MoleculeType.STRUCTURE, 9));
  assert.equal(t.o.dr[2], pack(MoleculeType.STRUCTURE, 9));
});

Deno.test("register arguments are taken modulo the register count", () => {
  const t = setup("SETI REGISTER:10 DATA:3\nSETI REGISTER:-1 DATA:4");
  t.steps(2);
  assert.equal(val(t.o, 2), 3);
  assert.equal(val(t.o, 7), 4);
});

Deno.test("SETV stores a vector in a location register", () => {
  const t = setup("SETV %LR2 3|-4");
  t.steps(1);
  assert.deepEqual(t.o.location(2), [3, -4]);
  assert.deepEqual(t.o.location(0), [0, 0]);
});

// ---------------------------------------------------------------------------------------------
// Arithmetic

Deno.test("immediate arithmetic: ADDI, SUBI, MULI, DIVI truncates, MODI is non-negative", () => {
  const cases: [string, number][] = [
    ["SETI %DR0 DATA:7\nADDI %DR0 DATA:5", 12],
    ["SETI %DR0 DATA:7\nSUBI %DR0 DATA:10", -3],
    ["SETI %DR0 DATA:7\nMULI %DR0 DATA:-6", -42],
    ["SETI %DR0 DATA:-7\nDIVI %DR0 DATA:2", -3],
    ["SETI %DR0 DATA:7\nDIVI %DR0 DATA:-2", -3],
    ["SETI %DR0 DATA:-7\nMODI %DR0 DATA:3", 2],
    ["SETI %DR0 DATA:7\nMODI %DR0 DATA:-3", 1],
    ["SETI %DR0 DATA:9\nMODI %DR0 DATA:3", 0],
  ];
  for (const [src, want] of cases) assert.equal(dr0After(src, 2), want, src);
});

Deno.test("register arithmetic: ADDR, SUBR, MULR, DIVR, MODR", () => {
  const pre = "SETI %DR0 DATA:-17\nSETI %DR1 DATA:5\n";
  const cases: [string, number][] = [
    ["ADDR %DR0 %DR1", -12],
    ["SUBR %DR0 %DR1", -22],
    ["MULR %DR0 %DR1", -85],
    ["DIVR %DR0 %DR1", -3],
    ["MODR %DR0 %DR1", 3],
  ];
  for (const [src, want] of cases) assert.equal(dr0After(pre + src, 3), want, src);
  const t = setup(pre + "SUBR %DR0 %DR1");
  t.steps(3);
  assert.equal(val(t.o, 1), 5, "the second operand is unchanged");
});

Deno.test("arithmetic keeps the type of the destination register", () => {
  const t = setup("SETI %DR0 ENERGY:5\nADDI %DR0 STRUCTURE:2\nSETI %DR1 CODE:4\nADDR %DR1 %DR0");
  t.steps(4);
  assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, 7));
  assert.equal(t.o.dr[1], pack(MoleculeType.CODE, 11));
});

Deno.test("arithmetic wraps around the 20-bit value range", () => {
  assert.equal(dr0After(`SETI %DR0 DATA:${VALUE_MAX}\nADDI %DR0 DATA:1`, 2), VALUE_MIN);
  assert.equal(dr0After(`SETI %DR0 DATA:${VALUE_MIN}\nSUBI %DR0 DATA:1`, 2), VALUE_MAX);
  assert.equal(dr0After(`SETI %DR0 DATA:${VALUE_MAX}\nMULI %DR0 DATA:2`, 2), -2);
  assert.equal(dr0After("SETI %DR0 DATA:1024\nMULI %DR0 DATA:1024", 2), 0);
  assert.equal(dr0After(`SETI %DR0 DATA:${VALUE_MIN}\nDIVI %DR0 DATA:-1`, 2), VALUE_MIN);
});

Deno.test("DIVI by zero fails, keeps the register and charges failEnergy and failEntropy", () => {
  const t = setup("SETI %DR0 DATA:9\nDIVI %DR0 DATA:0\nADDI %DR1 DATA:1", {
    input: { thermo: { failEnergy: 7, failEntropy: 5 } },
  });
  t.steps(1);
  const er = t.o.er;
  const sr = t.o.sr;
  t.steps(1);
  assert.equal(t.o.lastFailed, true);
  assert.equal(t.o.failureReason, "division by zero");
  assert.equal(val(t.o, 0), 9);
  assert.equal(t.o.er, er - 1 - 7);
  assert.equal(t.o.sr, sr + 1 + 5);
  assert.equal(t.o.lastCost, 8);
  // Execution goes on with the next instruction, and a success clears the failure.
  assert.equal(t.o.ip, t.rel(6, 0));
  t.steps(1);
  assert.equal(val(t.o, 1), 1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.failureReason, "");
});

Deno.test("DIVR, MODI and MODR by zero fail too", () => {
  for (const op of ["DIVR %DR0 %DR1", "MODR %DR0 %DR1", "MODI %DR0 DATA:0"]) {
    const t = setup(`SETI %DR0 DATA:9\n${op}`);
    t.steps(2);
    assert.equal(t.o.failureReason, "division by zero", op);
    assert.equal(val(t.o, 0), 9, op);
  }
});

// ---------------------------------------------------------------------------------------------
// Bitwise

Deno.test("bitwise instructions with immediates: ANDI, ORI, XORI, SHLI, SHRI", () => {
  const cases: [string, number][] = [
    ["SETI %DR0 DATA:12\nANDI %DR0 DATA:10", 8],
    ["SETI %DR0 DATA:12\nORI %DR0 DATA:3", 15],
    ["SETI %DR0 DATA:12\nXORI %DR0 DATA:10", 6],
    ["SETI %DR0 DATA:3\nSHLI %DR0 DATA:2", 12],
    ["SETI %DR0 DATA:1\nSHLI %DR0 DATA:19", VALUE_MIN],
    ["SETI %DR0 DATA:1\nSHLI %DR0 DATA:20", 0],
    ["SETI %DR0 DATA:-8\nSHRI %DR0 DATA:1", -4],
    ["SETI %DR0 DATA:100\nSHRI %DR0 DATA:3", 12],
  ];
  for (const [src, want] of cases) assert.equal(dr0After(src, 2), want, src);
});

Deno.test("bitwise instructions with registers: ANDR, ORR, XORR", () => {
  const pre = "SETI %DR0 DATA:12\nSETI %DR1 DATA:10\n";
  assert.equal(dr0After(pre + "ANDR %DR0 %DR1", 3), 8);
  assert.equal(dr0After(pre + "ORR %DR0 %DR1", 3), 14);
  assert.equal(dr0After(pre + "XORR %DR0 %DR1", 3), 6);
});

Deno.test("NOT inverts all 20 value bits and keeps the type", () => {
  assert.equal(dr0After("NOT %DR0", 1), -1);
  assert.equal(dr0After("SETI %DR0 DATA:5\nNOT %DR0", 2), -6);
  const t = setup("SETI %DR0 ENERGY:0\nNOT %DR0");
  t.steps(2);
  assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, -1));
});

// ---------------------------------------------------------------------------------------------
// Stack

Deno.test("PUSH and POP are last in, first out", () => {
  const t = setup(
    "SETI %DR0 DATA:1\nSETI %DR1 ENERGY:2\nPUSH %DR0\nPUSH %DR1\nPOP %DR2\nPOP %DR3",
  );
  t.steps(4);
  assert.deepEqual(t.o.dataStack, [data(1), pack(MoleculeType.ENERGY, 2)]);
  t.steps(2);
  assert.equal(t.o.dr[2], pack(MoleculeType.ENERGY, 2));
  assert.equal(t.o.dr[3], data(1));
  assert.equal(t.o.dataStack.length, 0);
});

Deno.test("PUSI pushes the immediate; DUP, SWAP and DROP rearrange the stack", () => {
  const t = setup("PUSI DATA:1\nPUSI ENERGY:2\nSWAP\nDUP\nPOP %DR0\nDROP\nPOP %DR1");
  t.steps(2);
  assert.deepEqual(t.o.dataStack, [data(1), pack(MoleculeType.ENERGY, 2)]);
  t.steps(1);
  assert.deepEqual(t.o.dataStack, [pack(MoleculeType.ENERGY, 2), data(1)]);
  t.steps(1);
  assert.deepEqual(t.o.dataStack, [pack(MoleculeType.ENERGY, 2), data(1), data(1)]);
  t.steps(3);
  assert.equal(t.o.dr[0], data(1));
  assert.equal(t.o.dr[1], pack(MoleculeType.ENERGY, 2));
  assert.equal(t.o.dataStack.length, 0);
  assert.equal(t.o.lastFailed, false);
});

Deno.test("POP, DROP, DUP and SWAP on a too-short stack fail with underflow", () => {
  for (const op of ["POP %DR0", "DROP", "DUP", "SWAP"]) {
    const t = setup(`SETI %DR0 DATA:5\nPUSI DATA:1\n${op === "SWAP" ? "" : "DROP\n"}${op}`);
    t.steps(op === "SWAP" ? 3 : 4);
    assert.equal(t.o.lastFailed, true, op);
    assert.equal(t.o.failureReason, "data stack underflow", op);
    assert.equal(val(t.o, 0), 5, op);
  }
});

Deno.test("PUSH, PUSI and DUP on a full stack fail with overflow", () => {
  for (const op of ["PUSH %DR0", "PUSI DATA:1", "DUP"]) {
    const t = setup(op);
    for (let i = 0; i < STACK_LIMIT; i++) t.o.dataStack.push(data(i));
    t.steps(1);
    assert.equal(t.o.failureReason, "data stack overflow", op);
    assert.equal(t.o.dataStack.length, STACK_LIMIT, op);
  }
  const t = setup("PUSI DATA:1");
  for (let i = 0; i < STACK_LIMIT - 1; i++) t.o.dataStack.push(data(i));
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.dataStack.length, STACK_LIMIT);
});

// ---------------------------------------------------------------------------------------------
// Conditionals

/**
 * Runs `SETI %DR0 a; SETI %DR1 b; <cond>; ADDI %DR2 1; ADDI %DR3 1` and returns whether the
 * instruction after the condition ran (after checking where the IP went).
 */
function conditionTaken(cond: string, a: string, b: string): boolean {
  const t = setup(
    `SETI %DR0 ${a}\nSETI %DR1 ${b}\n${cond}\nADDI %DR2 DATA:1\nADDI %DR3 DATA:1`,
  );
  t.steps(3);
  assert.equal(t.o.lastFailed, false);
  const taken = t.o.ip === t.rel(9, 0);
  if (!taken) assert.equal(t.o.ip, t.rel(12, 0), `${cond} ${a} ${b}: IP after the skip`);
  t.steps(1);
  assert.equal(val(t.o, 2), taken ? 1 : 0);
  assert.equal(val(t.o, 3), taken ? 0 : 1);
  return taken;
}

Deno.test("every value conditional executes the next instruction when true and skips it when false", () => {
  const cases: [string, string, string, boolean][] = [
    ["IFI %DR0 DATA:5", "DATA:5", "DATA:0", true],
    ["IFI %DR0 DATA:5", "DATA:4", "DATA:0", false],
    ["IFR %DR0 %DR1", "DATA:-3", "DATA:-3", true],
    ["IFR %DR0 %DR1", "DATA:3", "DATA:-3", false],
    ["NEI %DR0 DATA:5", "DATA:4", "DATA:0", true],
    ["NEI %DR0 DATA:5", "DATA:5", "DATA:0", false],
    ["NER %DR0 %DR1", "DATA:1", "DATA:2", true],
    ["NER %DR0 %DR1", "DATA:2", "DATA:2", false],
    ["LTI %DR0 DATA:2", "DATA:-3", "DATA:0", true],
    ["LTI %DR0 DATA:2", "DATA:2", "DATA:0", false],
    ["LTR %DR0 %DR1", "DATA:-9", "DATA:-8", true],
    ["LTR %DR0 %DR1", "DATA:5", "DATA:-8", false],
    ["GTI %DR0 DATA:-2", "DATA:-1", "DATA:0", true],
    ["GTI %DR0 DATA:-2", "DATA:-2", "DATA:0", false],
    ["GTR %DR0 %DR1", "DATA:8", "DATA:7", true],
    ["GTR %DR0 %DR1", "DATA:7", "DATA:7", false],
  ];
  for (const [cond, a, b, want] of cases) {
    assert.equal(conditionTaken(cond, a, b), want, `${cond} with ${a}, ${b}`);
  }
});

Deno.test("value conditionals compare values only, type conditionals types only", () => {
  assert.equal(conditionTaken("IFI %DR0 DATA:5", "ENERGY:5", "DATA:0"), true);
  assert.equal(conditionTaken("IFR %DR0 %DR1", "ENERGY:5", "STRUCTURE:5"), true);
  assert.equal(conditionTaken("IFTI %DR0 ENERGY:0", "ENERGY:5", "DATA:0"), true);
  assert.equal(conditionTaken("IFTI %DR0 DATA:5", "ENERGY:5", "DATA:0"), false);
  assert.equal(conditionTaken("IFTR %DR0 %DR1", "LABEL:1", "LABEL:2"), true);
  assert.equal(conditionTaken("IFTR %DR0 %DR1", "DATA:1", "REGISTER:1"), false);
});

Deno.test("a false condition skips the whole next instruction including its vector arguments", () => {
  // SEEK 1|0 occupies 3 cells in 2D: the IP lands on the ADDI after it, the DP stays.
  const t = setup("IFI %DR0 DATA:1\nSEEK 1|0\nADDI %DR3 DATA:1");
  t.steps(1);
  assert.equal(t.o.ip, t.rel(6, 0));
  t.steps(1);
  assert.equal(val(t.o, 3), 1);
  assert.equal(t.o.dps[0], t.rel(0, 0));
});

Deno.test("a skipped vector instruction occupies 1 + dims cells in 3D", () => {
  const t = setup("IFI %DR0 DATA:1\nSEEK 1|0|0\nADDI %DR3 DATA:1", {
    input: { shape: [16, 8, 8] },
  });
  t.steps(1);
  assert.equal(t.o.ip, t.rel(7, 0, 0));
  t.steps(1);
  assert.equal(val(t.o, 3), 1);
});

Deno.test("a false condition skips an argument that would act as code", () => {
  // If only the opcode were skipped the IP would execute PUSI's argument CODE:<PUSI>.
  const t = setup("IFI %DR0 DATA:1\nPUSI CODE:25\nADDI %DR3 DATA:1");
  t.steps(1);
  assert.equal(t.o.ip, t.rel(5, 0));
  t.steps(2);
  assert.equal(t.o.dataStack.length, 0);
  assert.equal(val(t.o, 3), 1);
});

Deno.test("a false condition before a non-instruction molecule skips one cell", () => {
  const t = setup("IFI %DR0 DATA:1\n.EMIT DATA:4\nADDI %DR3 DATA:1");
  t.steps(1);
  assert.equal(t.o.ip, t.rel(4, 0));
});

Deno.test("IFER runs the next instruction only after a failed instruction", () => {
  const t = setup(
    [
      "DIVI %DR0 DATA:0", // fails
      "IFER",
      "ADDI %DR2 DATA:1", // runs
      "IFER", // the ADDI succeeded: skip
      "ADDI %DR3 DATA:1",
      "ADDI %DR4 DATA:1",
    ].join("\n"),
  );
  t.steps(5);
  assert.deepEqual([val(t.o, 2), val(t.o, 3), val(t.o, 4)], [1, 0, 1]);
});

Deno.test("IFMR tests for an own cell, IFUR for an unowned one", () => {
  const t = setup(
    [
      "SETV %LR0 0|0", // DP0 sits on the own first cell
      "IFMR %LR0",
      "ADDI %DR0 DATA:1", // runs
      "SETV %LR1 0|3", // an empty, unowned cell
      "IFMR %LR1",
      "ADDI %DR1 DATA:1", // skipped
      "IFUR %LR1",
      "ADDI %DR2 DATA:1", // runs
      "IFUR %LR0",
      "ADDI %DR3 DATA:1", // skipped
      "ADDI %DR4 DATA:1",
    ].join("\n"),
  );
  t.steps(9);
  assert.deepEqual([0, 1, 2, 3, 4].map((r) => val(t.o, r)), [1, 0, 1, 0, 1]);
});

Deno.test("a cell of another organism is neither own (IFMR) nor unowned (IFUR)", () => {
  for (const cond of ["IFMR", "IFUR"]) {
    const t = setup(`SETV %LR0 0|3\n${cond} %LR0\nADDI %DR0 DATA:1\nADDI %DR1 DATA:1`);
    addOrganism(t.sim, ".EMIT STRUCTURE:1", [4, 7]);
    t.steps(3);
    assert.equal(val(t.o, 0), 0, cond);
    assert.equal(val(t.o, 1), 1, cond);
  }
});

// ---------------------------------------------------------------------------------------------
// Control

Deno.test("JMPI to an own label lands on the cell after the label", () => {
  const t = setup("JMPI TARGET\nADDI %DR0 DATA:1\nTARGET: ADDI %DR1 DATA:1");
  assert.deepEqual(t.prog.labels.get("TARGET"), [5, 0]);
  t.steps(1);
  assert.equal(t.o.ip, t.rel(6, 0));
  t.steps(1);
  assert.equal(val(t.o, 0), 0);
  assert.equal(val(t.o, 1), 1);
});

Deno.test("JMPI can jump backwards into a loop", () => {
  const t = setup("LOOP: ADDI %DR0 DATA:1\nJMPI LOOP");
  t.steps(7);
  assert.equal(val(t.o, 0), 4);
});

Deno.test("JMPI follows the IP direction: against +x it lands before the label", () => {
  const src =
    `.DIRECTION -1|0\n.ORG 9|0\n.DIR -1|0\nJMPI TARGET\nADDI %DR0 DATA:1\nTARGET: ADDI %DR1 DATA:1`;
  const t = setup(src, { origin: [10, 4] });
  t.steps(1);
  assert.equal(t.o.ip, t.rel(3, 0));
  t.steps(1);
  assert.equal(val(t.o, 1), 1);
  assert.equal(val(t.o, 0), 0);
});

Deno.test("fuzzy match: a LABELREF differing by 1 bit from a label still jumps", () => {
  const h = labelHash("TARGET");
  const t = setup(`JMPI LABELREF:${h ^ 1}\nADDI %DR0 DATA:1\nTARGET: ADDI %DR1 DATA:1`);
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.ip, t.rel(6, 0));
  const t2 = setup(`JMPI LABELREF:${h ^ (1 << 18) ^ 4}\nNOP\nTARGET: NOP`);
  t2.steps(1);
  assert.equal(t2.o.ip, t2.rel(4, 0), "2 bits apart is within the default tolerance");
});

Deno.test("a LABELREF beyond the label tolerance fails with 'no label matches'", () => {
  const h = labelHash("TARGET");
  const t = setup(`JMPI LABELREF:${h ^ 7}\nADDI %DR0 DATA:1\nTARGET: NOP`);
  t.steps(1);
  assert.equal(t.o.lastFailed, true);
  assert.equal(t.o.failureReason, "no label matches");
  assert.equal(t.o.ip, t.rel(2, 0));
  const one = setup(`JMPI LABELREF:${h ^ 6}\nADDI %DR0 DATA:1\nTARGET: NOP`, {
    input: { thermo: { labelTolerance: 1 } },
  });
  one.steps(1);
  assert.equal(one.o.failureReason, "no label matches", "2 bits apart with tolerance 1");
});

Deno.test({
  name: "with labelTolerance 0 only an exact label matches",
  fn: () => {
    const h = labelHash("TARGET");
    const t = setup(`JMPI LABELREF:${h ^ 1}\nADDI %DR0 DATA:1\nTARGET: NOP`, {
      input: { thermo: { labelTolerance: 0 } },
    });
    t.steps(1);
    assert.equal(t.o.failureReason, "no label matches");
    assert.equal(t.o.ip, t.rel(2, 0));
  },
});

Deno.test("JMPI prefers an own fuzzy label over another organism's exact one", () => {
  const h = labelHash("X");
  const t = setup(`JMPI LABELREF:${h}\nNOP^3\n.EMIT LABEL:${h ^ 4}\nADDI %DR1 DATA:1`);
  // The foreign exact label is closer to the IP than the own one.
  addOrganism(t.sim, `.EMIT LABEL:${h}`, [4, 5]);
  t.steps(1);
  assert.equal(t.o.ip, t.rel(6, 0));
});

Deno.test("JMPI jumps to another organism's label when no own label matches", () => {
  const h = labelHash("X");
  const t = setup(`JMPI LABELREF:${h}`);
  addOrganism(t.sim, `.EMIT LABEL:${h}`, [20, 10]);
  t.steps(1);
  assert.equal(t.o.ip, t.abs(21, 10));
});

Deno.test("among equally matching own labels JMPI takes the nearest", () => {
  const h = labelHash("X");
  const t = setup(`NOP^2\n.EMIT LABEL:${h}\nNOP^30\nJMPI LABELREF:${h}\nNOP\n.EMIT LABEL:${h}`, {
    origin: [0, 4],
  });
  assert.equal(t.o.ip, t.rel(33, 0));
  t.steps(1);
  assert.equal(t.o.ip, t.rel(37, 0));
});

Deno.test("JMPI keeps going to the own label it found first while that label stands", () => {
  // Sticky resolution: a parent copying itself owns a second copy of every label, nearer at
  // times; it keeps jumping within its own body. Without the earlier jump, the nearest wins
  // (see the test above).
  const h = labelHash("X");
  const src = `JMPI LABELREF:${h}\n.EMIT LABEL:${h}\nNOP^30\nJMPI LABELREF:${h}\nNOP\n` +
    `.EMIT LABEL:${h}`;
  const t = setup(src, { origin: [0, 4] });
  t.steps(1);
  assert.equal(t.o.ip, t.rel(3, 0));
  t.o.ip = t.rel(33, 0); // as if the IP had walked there
  t.steps(1);
  assert.equal(t.o.ip, t.rel(3, 0));
  // Once that label is gone, resolution starts afresh and finds the nearest.
  t.sim.world.set(t.rel(2, 0), 0, 0);
  t.o.ip = t.rel(33, 0);
  t.steps(1);
  assert.equal(t.o.ip, t.rel(37, 0));
});

Deno.test("JMPR jumps to the absolute position in a location register", () => {
  const t = setup("SETV %LR0 20|21\nJMPR %LR0");
  t.steps(2);
  assert.equal(t.o.ip, t.abs(20, 21));
  const wrapped = setup("SETV %LR0 -1|33\nJMPR %LR0");
  wrapped.steps(2);
  assert.equal(wrapped.o.ip, wrapped.abs(63, 1));
});

Deno.test("CALL pushes the return position, RET returns to it", () => {
  const t = setup("CALL SUB\nADDI %DR1 DATA:1\nNOP^5\nSUB: ADDI %DR0 DATA:1\nRET");
  t.steps(1);
  assert.equal(t.o.ip, t.rel(11, 0));
  assert.deepEqual(t.o.callStack, [t.rel(2, 0)]);
  t.steps(2);
  assert.equal(t.o.ip, t.rel(2, 0));
  assert.equal(t.o.callStack.length, 0);
  t.steps(1);
  assert.deepEqual([val(t.o, 0), val(t.o, 1)], [1, 1]);
});

Deno.test("RET with an empty call stack fails and continues", () => {
  const t = setup("RET\nADDI %DR0 DATA:1");
  t.steps(1);
  assert.equal(t.o.failureReason, "call stack underflow");
  assert.equal(t.o.ip, t.rel(1, 0));
});

Deno.test("CALL on a full call stack fails without jumping", () => {
  const t = setup("CALL SUB\nNOP\nSUB: NOP");
  for (let i = 0; i < STACK_LIMIT; i++) t.o.callStack.push(0);
  t.steps(1);
  assert.equal(t.o.failureReason, "call stack overflow");
  assert.equal(t.o.ip, t.rel(2, 0));
});

// ---------------------------------------------------------------------------------------------
// Environment

Deno.test("SCAN reads the molecule at DP + V without changing the world", () => {
  const t = setup("SCAN %DR0 0|3\nSCAN %DR1 1|3");
  t.w.set(t.rel(0, 3), pack(MoleculeType.DATA, 42, 5), 0);
  t.w.clearSampleChanges();
  const cells = t.w.cells.slice();
  const owners = t.w.owners.slice();
  t.steps(2);
  assert.equal(t.o.dr[0], data(42), "marker stripped");
  assert.equal(t.o.dr[1], 0, "an empty cell reads as 0");
  assert.deepEqual(t.w.cells, cells);
  assert.deepEqual(t.w.owners, owners);
  assert.equal(t.w.sampleChanges().length, 0);
});

Deno.test("SCNR reads at DP + the location register", () => {
  const t = setup("SETV %LR3 -2|5\nSCNR %DR4 %LR3");
  t.w.set(t.rel(-2, 5), pack(MoleculeType.STRUCTURE, 3), 0);
  t.steps(2);
  assert.equal(t.o.dr[4], pack(MoleculeType.STRUCTURE, 3));
});

Deno.test("PEEK of ENERGY adds its value to ER and empties the cell", () => {
  const t = setup("PEEK %DR0 0|3");
  t.w.set(t.rel(0, 3), pack(MoleculeType.ENERGY, 500), 0);
  const th = t.sim.config.thermo;
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.er, 1000 + 500 - 2 - th.unownedAccess);
  assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, 500));
  assert.equal(t.w.cells[t.rel(0, 3)], 0);
  assert.equal(t.w.owners[t.rel(0, 3)], 0);
  assert.equal(t.w.typeCounts[MoleculeType.ENERGY], 0);
});

Deno.test("PEEK of ENERGY caps ER at maxEnergy", () => {
  const t = setup("PEEK %DR0 0|3", { input: { thermo: { maxEnergy: 1200 } } });
  t.w.set(t.rel(0, 3), pack(MoleculeType.ENERGY, 500), 0);
  t.steps(1);
  assert.equal(t.o.er, 1200 - 2 - t.sim.config.thermo.unownedAccess);
});

Deno.test("PEEK of a STRUCTURE molecule costs structureBreak", () => {
  const t = setup("PEEK %DR0 0|3");
  t.w.set(t.rel(0, 3), pack(MoleculeType.STRUCTURE, 1), 0);
  const th = t.sim.config.thermo;
  t.steps(1);
  assert.equal(t.o.er, 1000 - 2 - th.unownedAccess - th.structureBreak);
  assert.equal(t.w.cells[t.rel(0, 3)], 0);
});

Deno.test("PEEK of an own cell costs no access energy and un-owns the cell", () => {
  const t = setup("PEEK %DR0 4|0\n.EMIT DATA:9");
  t.steps(1);
  assert.equal(t.o.dr[0], data(9));
  assert.equal(t.o.er, 1000 - 2);
  assert.equal(t.w.cells[t.rel(4, 0)], 0);
  assert.equal(t.w.owners[t.rel(4, 0)], 0);
});

Deno.test("PEEK of an empty cell fails", () => {
  const t = setup("SETI %DR0 DATA:3\nPEEK %DR0 0|3");
  t.steps(2);
  assert.equal(t.o.failureReason, "cell is empty");
  assert.equal(val(t.o, 0), 3);
});

Deno.test("PEEK on another living organism's cell fails when thermo.foreignPeek is 0", () => {
  const t = setup("PEEK %DR0 0|3", { input: { thermo: { foreignPeek: 0 } } });
  const b = addOrganism(t.sim, ".EMIT DATA:9", [4, 7]);
  t.steps(1);
  assert.equal(t.o.lastFailed, true);
  assert.equal(t.o.failureReason, "cell belongs to another organism");
  assert.equal(t.w.cells[t.rel(0, 3)], data(9));
  assert.equal(t.w.owners[t.rel(0, 3)], b.id);
  assert.equal(val(t.o, 0), 0);
});

Deno.test("PEEK on another living organism's cell succeeds when thermo.foreignPeek is 1", () => {
  const t = setup("PEEK %DR0 0|3", { input: { thermo: { foreignPeek: 1 } } });
  addOrganism(t.sim, ".EMIT DATA:9", [4, 7]);
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.dr[0], data(9));
  assert.equal(t.o.er, 1000 - 2 - t.sim.config.thermo.foreignAccess);
  assert.equal(t.w.cells[t.rel(0, 3)], 0);
  assert.equal(t.w.owners[t.rel(0, 3)], 0);
});

Deno.test("PEKR takes the cell at DP + the location register", () => {
  const t = setup("SETV %LR1 3|2\nPEKR %DR2 %LR1");
  t.w.set(t.rel(3, 2), data(6), 0);
  t.steps(2);
  assert.equal(t.o.dr[2], data(6));
  assert.equal(t.w.cells[t.rel(3, 2)], 0);
});

Deno.test("POKE writes into an empty cell and makes it owned", () => {
  const t = setup("SETI %DR0 DATA:9\nPOKE %DR0 0|3");
  const th = t.sim.config.thermo;
  t.steps(1);
  const er = t.o.er;
  const sr = t.o.sr;
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.w.cells[t.rel(0, 3)], data(9));
  assert.equal(t.w.owners[t.rel(0, 3)], t.o.id);
  assert.ok(t.o.owned.includes(t.rel(0, 3)));
  assert.equal(t.o.er, er - 2 - th.write);
  assert.equal(t.o.sr, sr + 2 + th.writeEntropy);
  assert.equal(val(t.o, 0), 9, "the register keeps its value");
});

Deno.test("POKE writes only into an empty cell", () => {
  const t = setup("SETI %DR0 DATA:9\nPOKE %DR0 0|3");
  t.w.set(t.rel(0, 3), pack(MoleculeType.ENERGY, 1), 0);
  t.steps(2);
  assert.equal(t.o.lastFailed, true);
  assert.equal(t.o.failureReason, "cell is not empty");
  assert.equal(t.w.cells[t.rel(0, 3)], pack(MoleculeType.ENERGY, 1));
  assert.equal(t.w.owners[t.rel(0, 3)], 0);
});

Deno.test("POKE stamps the MR marker into the written cell", () => {
  const t = setup("SMRI DATA:5\nSETI %DR0 LABEL:77\nPOKE %DR0 0|3");
  t.steps(3);
  const m = t.w.cells[t.rel(0, 3)]!;
  assert.equal(markerOf(m), 5);
  assert.equal(typeOf(m), MoleculeType.LABEL);
  assert.equal(valueOf(m), 77);
  // Indexed as a jump target (next to the LABEL:77 immediate of the SETI in the program).
  assert.ok(t.w.labels.get(77)!.has(t.rel(0, 3)));
});

Deno.test("POKE of STRUCTURE costs structureWrite, of ENERGY its value", () => {
  const th = config().thermo;
  for (const [lit, extra] of [["STRUCTURE:1", th.structureWrite], ["ENERGY:40", 40]] as const) {
    const t = setup(`SETI %DR0 ${lit}\nPOKE %DR0 0|3`);
    t.steps(1);
    const er = t.o.er;
    t.steps(1);
    assert.equal(t.o.er, er - 2 - extra, lit);
  }
});

Deno.test("POKE of the empty molecule writes nothing and does not fail", () => {
  const t = setup("POKE %DR0 0|3");
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.w.owners[t.rel(0, 3)], 0);
  assert.equal(t.o.er, 1000 - 2);
});

Deno.test("POKR writes at DP + the location register", () => {
  const t = setup("SETV %LR2 5|5\nSETI %DR1 DATA:8\nPOKR %DR1 %LR2");
  t.steps(3);
  assert.equal(t.w.cells[t.rel(5, 5)], data(8));
  assert.equal(t.w.owners[t.rel(5, 5)], t.o.id);
});

Deno.test("XCHG swaps a register with an unowned cell, which becomes owned and marked", () => {
  const t = setup("SMRI DATA:2\nSETI %DR0 DATA:9\nXCHG %DR0 0|3");
  t.w.set(t.rel(0, 3), data(3), 0);
  const th = t.sim.config.thermo;
  t.steps(2);
  const er = t.o.er;
  t.steps(1);
  assert.equal(t.o.lastFailed, false);
  assert.equal(t.o.dr[0], data(3));
  assert.equal(t.w.cells[t.rel(0, 3)], pack(MoleculeType.DATA, 9, 2));
  assert.equal(t.w.owners[t.rel(0, 3)], t.o.id);
  assert.equal(t.o.er, er - 2 - th.write - th.unownedAccess);
});

Deno.test("XCHG of an empty register takes the molecule and leaves the cell empty", () => {
  const t = setup("XCHG %DR0 0|3");
  t.w.set(t.rel(0, 3), pack(MoleculeType.ENERGY, 300), 0);
  t.steps(1);
  assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, 300));
  assert.equal(t.w.cells[t.rel(0, 3)], 0);
  assert.equal(t.w.owners[t.rel(0, 3)], 0);
  assert.equal(t.o.er, 1000 + 300 - 2 - t.sim.config.thermo.unownedAccess);
});

Deno.test("XCHG with another organism's cell fails", () => {
  const t = setup("SETI %DR0 DATA:9\nXCHG %DR0 0|3");
  const b = addOrganism(t.sim, ".EMIT DATA:4", [4, 7]);
  t.steps(2);
  assert.equal(t.o.failureReason, "cell belongs to another organism");
  assert.equal(t.w.cells[t.rel(0, 3)], data(4));
  assert.equal(t.w.owners[t.rel(0, 3)], b.id);
  assert.equal(t.o.dr[0], data(9));
});

Deno.test({
  name: "XCHG that removes a STRUCTURE molecule pays structureBreak like PEEK",
  fn: () => {
    const t = setup("XCHG %DR0 0|3");
    t.w.set(t.rel(0, 3), pack(MoleculeType.STRUCTURE, 1), 0);
    const th = t.sim.config.thermo;
    t.steps(1);
    assert.equal(t.o.dr[0], pack(MoleculeType.STRUCTURE, 1));
    assert.equal(t.o.er, 1000 - 2 - th.unownedAccess - th.structureBreak);
  },
});

// ---------------------------------------------------------------------------------------------
// State

Deno.test("SEEK moves the active DP by a vector, wrapping on the torus", () => {
  const t = setup("SEEK 3|-2\nSEEK -10|0");
  t.steps(1);
  assert.equal(t.o.dps[0], t.rel(3, -2));
  t.steps(1);
  assert.equal(t.o.dps[0], t.abs(61, 2));
  assert.equal(t.o.dps[1], t.rel(0, 0));
});

Deno.test("SEKR moves the DP by a location register", () => {
  const t = setup("SETV %LR0 2|2\nSEKR %LR0\nSEKR %LR0");
  t.steps(3);
  assert.equal(t.o.dps[0], t.rel(4, 4));
});

Deno.test("SYNC moves the active DP onto the IP", () => {
  const t = setup("SEEK 5|5\nSYNC");
  t.steps(1);
  assert.equal(t.o.dps[0], t.rel(5, 5));
  t.steps(1);
  assert.equal(t.o.dps[0], t.rel(3, 0));
});

Deno.test("TURN sets the IP direction and the IP continues in the new direction", () => {
  const t = setup("TURN 0|1\n.ORG 0|1\n.DIR 0|1\nADDI %DR0 DATA:1");
  t.steps(1);
  assert.equal(t.o.dirAxis, 1);
  assert.equal(t.o.dirSign, 1);
  assert.deepEqual(t.o.direction(), [0, 1]);
  assert.equal(t.o.ip, t.rel(0, 1));
  t.steps(1);
  assert.equal(val(t.o, 0), 1);
  assert.equal(t.o.ip, t.rel(0, 4));
});

Deno.test("TURN to -x reverses the IP", () => {
  const t = setup("TURN -1|0");
  t.steps(1);
  assert.deepEqual(t.o.direction(), [-1, 0]);
  assert.equal(t.o.ip, t.rel(-1, 0));
});

Deno.test("TURN with a non-unit vector fails and keeps the direction", () => {
  for (const v of ["1|1", "2|0", "0|0", "0|-3"]) {
    const t = setup(`TURN ${v}`);
    t.steps(1);
    assert.equal(t.o.failureReason, "direction is not a unit vector", v);
    assert.deepEqual(t.o.direction(), [1, 0], v);
    assert.equal(t.o.ip, t.rel(3, 0), v);
  }
});

Deno.test("TRNR turns to the direction in a location register", () => {
  const t = setup("SETV %LR1 0|-1\nTRNR %LR1");
  t.steps(2);
  assert.deepEqual(t.o.direction(), [0, -1]);
  assert.equal(t.o.ip, t.rel(4, -1));
});

Deno.test("NRG reads ER and NTR reads SR as DATA", () => {
  const t = setup("NRG %DR0\nNTR %DR1", { energy: 777 });
  t.steps(2);
  assert.equal(t.o.dr[0], data(777));
  assert.equal(t.o.dr[1], data(1));
});

Deno.test("RNDI draws DATA in [0, I) and hits every value", () => {
  const t = setup("RNDI %DR0 DATA:3");
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    t.o.ip = t.rel(0, 0);
    t.steps(1);
    assert.equal(typeOf(t.o.dr[0]!), MoleculeType.DATA);
    const v = val(t.o, 0);
    assert.ok(v >= 0 && v < 3, `${v}`);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
});

Deno.test("RAND draws DATA in [0, R) from the register's own value", () => {
  const t = setup("RAND %DR0");
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    t.o.ip = t.rel(0, 0);
    t.o.dr[0] = pack(MoleculeType.ENERGY, 5);
    t.steps(1);
    assert.equal(typeOf(t.o.dr[0]!), MoleculeType.DATA);
    const v = val(t.o, 0);
    assert.ok(v >= 0 && v < 5, `${v}`);
    seen.add(v);
  }
  assert.equal(seen.size, 5);
});

Deno.test("RAND and RNDI with a bound <= 0 fail", () => {
  for (const src of ["RAND %DR0", "RNDI %DR0 DATA:0", "SETI %DR0 DATA:-4\nRAND %DR0"]) {
    const t = setup(src);
    t.steps(src.includes("\n") ? 2 : 1);
    assert.equal(t.o.failureReason, "random bound must be positive", src);
  }
});

Deno.test("RNDI draws come from the organism's own seeded stream", () => {
  const run = (seed: number) => {
    const t = setup("RNDI %DR0 DATA:1000", { input: { seed } });
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      t.o.ip = t.rel(0, 0);
      t.steps(1);
      out.push(val(t.o, 0));
    }
    return out;
  };
  assert.deepEqual(run(3), run(3));
  assert.notDeepEqual(run(3), run(4));
});

// ---------------------------------------------------------------------------------------------
// Location

Deno.test("POSR stores the IP's coordinates, DPLR the active DP's", () => {
  const t = setup("SETI %DR0 DATA:0\nPOSR %LR1\nSEEK 2|3\nDPLR %LR2");
  t.steps(4);
  assert.deepEqual(t.o.location(1), [7, 4]);
  assert.deepEqual(t.o.location(2), [6, 7]);
});

Deno.test("SKLR moves the active DP to the absolute position in a location register", () => {
  const t = setup("SETV %LR0 20|21\nSKLR %LR0");
  t.steps(2);
  assert.equal(t.o.dps[0], t.abs(20, 21));
});

Deno.test("SKLR outside a bounded world fails", () => {
  const t = setup("SETV %LR0 20|2\nSKLR %LR0", { input: { shape: [16, 8], topology: "bounded" } });
  t.steps(2);
  assert.equal(t.o.failureReason, "position outside the world");
  assert.equal(t.o.dps[0], t.rel(0, 0));
});

Deno.test("DIRR numbers the unit vectors +x, -x, +y, -y, modulo their count", () => {
  const t = setup("DIRR %LR3 %DR0");
  const want: [number, number[]][] = [
    [0, [1, 0]],
    [1, [-1, 0]],
    [2, [0, 1]],
    [3, [0, -1]],
    [5, [-1, 0]],
    [-1, [0, -1]],
  ];
  for (const [n, v] of want) {
    t.o.ip = t.rel(0, 0);
    t.o.dr[0] = data(n);
    t.steps(1);
    assert.deepEqual(t.o.location(3), v, `DIRR ${n}`);
  }
});

Deno.test("VADD adds location registers, VSCL scales one", () => {
  const t = setup(
    "SETV %LR0 3|4\nSETV %LR1 -1|10\nVADD %LR0 %LR1\nSETI %DR0 DATA:-3\nVSCL %LR1 %DR0",
  );
  t.steps(3);
  assert.deepEqual(t.o.location(0), [2, 14]);
  assert.deepEqual(t.o.location(1), [-1, 10]);
  t.steps(2);
  assert.deepEqual(t.o.location(1), [3, -30]);
});

Deno.test("LPSH and LPOP move vectors through the location stack", () => {
  const t = setup("SETV %LR0 1|2\nLPSH %LR0\nSETV %LR0 5|5\nLPOP %LR3\nLPOP %LR3");
  t.steps(4);
  assert.deepEqual(t.o.location(3), [1, 2]);
  assert.deepEqual(t.o.location(0), [5, 5]);
  assert.equal(t.o.locationStack.length, 0);
  t.steps(1);
  assert.equal(t.o.failureReason, "location stack underflow");
  assert.deepEqual(t.o.location(3), [1, 2]);
});

Deno.test("ADPI selects which DP moves", () => {
  const t = setup("ADPI DATA:1\nSEEK 0|5\nADPI DATA:2\nSEEK 1|0\nADPI DATA:3");
  t.steps(4);
  assert.equal(t.o.dps[1], t.rel(0, 5));
  assert.equal(t.o.dps[0], t.rel(1, 0));
  t.steps(1);
  assert.equal(t.o.activeDp, 1);
});

Deno.test("SMRI and SMRR set MR to the low 4 bits", () => {
  const t = setup("SMRI DATA:7\nSMRI DATA:17\nSETI %DR0 DATA:30\nSMRR %DR0");
  t.steps(1);
  assert.equal(t.o.mr, 7);
  t.steps(1);
  assert.equal(t.o.mr, 1);
  t.steps(2);
  assert.equal(t.o.mr, 14);
});

// ---------------------------------------------------------------------------------------------
// Reproduction

const FORK_PROGRAM = [
  "SMRI DATA:3",
  "SETI %DR0 DATA:11",
  "POKE %DR0 0|3", // marker 3
  "SETI %DR0 DATA:12",
  "POKE %DR0 1|3", // marker 3
  "SMRI DATA:4",
  "POKE %DR0 2|3", // marker 4: not part of the child
  "SMRI DATA:3",
  "SEEK 0|3",
  "SETI %DR1 DATA:300",
  "FORK %DR1 0|1",
].join("\n");

Deno.test("FORK transfers exactly the marked own cells to a new organism with the given energy", () => {
  const t = setup(FORK_PROGRAM);
  t.steps(10);
  const er = t.o.er;
  const parentBody = t.o.owned.filter((f) => f !== t.rel(2, 3));
  t.steps(1);
  assert.equal(t.o.lastFailed, false, t.o.failureReason);
  assert.equal(t.sim.organisms.length, 2);
  const child = t.sim.organisms.find((o) => o.parentId === t.o.id)!;
  assert.ok(child);
  assert.notEqual(child.id, t.o.id);
  assert.equal(child.er, 300);
  assert.equal(t.o.er, er - 10 - 300);
  assert.equal(child.generation, 1);
  assert.equal(child.birthTick, 11);
  assert.equal(child.ip, t.rel(0, 3));
  assert.deepEqual(child.direction(), [0, 1]);
  assert.equal(child.bodySize, 2);
  assert.deepEqual([...child.owned].sort((a, b) => a - b), [t.rel(0, 3), t.rel(1, 3)]);
  // The child's cells are owned by it, with the markers cleared.
  assert.equal(t.w.cells[t.rel(0, 3)], data(11));
  assert.equal(t.w.cells[t.rel(1, 3)], data(12));
  assert.equal(t.w.owners[t.rel(0, 3)], child.id);
  assert.equal(t.w.owners[t.rel(1, 3)], child.id);
  // The cell with another marker and the parent's own body stay with the parent.
  assert.equal(t.w.cells[t.rel(2, 3)], pack(MoleculeType.DATA, 12, 4));
  assert.equal(t.w.owners[t.rel(2, 3)], t.o.id);
  for (const f of parentBody) {
    if (f !== t.rel(0, 3) && f !== t.rel(1, 3)) assert.equal(t.w.owners[f], t.o.id);
  }
  assert.ok(!t.o.owned.includes(t.rel(0, 3)));
  assert.equal(t.o.children, 1);
  assert.equal(t.sim.births, 1);
  assert.equal(t.sim.maxGeneration, 1);
});

Deno.test("a child acts from the tick after its birth", () => {
  const t = setup(FORK_PROGRAM);
  t.steps(11);
  const child = t.sim.organisms.find((o) => o.parentId === t.o.id)!;
  assert.equal(child.instructions, 0);
  t.steps(1);
  assert.equal(child.instructions, 1);
});

Deno.test("FORK's child generation is the parent's plus one", () => {
  const sim = new Simulation(config());
  const w = sim.world;
  const parent = new Organism({
    id: 50,
    parentId: 7,
    birthTick: 0,
    generation: 4,
    dims: 2,
    ip: w.flatOf([1, 1]),
    dirAxis: 0,
    dirSign: 1,
    energy: 1000,
    rng: new Rng(1),
  });
  sim.organisms.push(parent);
  const f = w.flatOf([3, 3]);
  w.set(f, pack(MoleculeType.DATA, 1, 6), parent.id);
  parent.owned.push(f);
  parent.mr = 6;
  assert.equal(sim.fork(parent, f, 1, -1, 100), null);
  sim.step();
  const child = sim.organisms.find((o) => o.parentId === 50)!;
  assert.equal(child.generation, 5);
  assert.equal(sim.maxGeneration, 5);
  assert.deepEqual(child.direction(), [0, -1]);
});

Deno.test("FORK fails with MR 0", () => {
  const t = setup("SETI %DR1 DATA:100\nFORK %DR1 1|0");
  t.steps(2);
  assert.equal(t.o.failureReason, "marker register is 0");
  assert.equal(t.sim.organisms.length, 1);
  assert.equal(t.sim.births, 0);
});

Deno.test("FORK fails when no own cell carries the marker, without paying the child", () => {
  const t = setup("SMRI DATA:2\nSETI %DR1 DATA:100\nFORK %DR1 1|0");
  t.steps(2);
  const er = t.o.er;
  t.steps(1);
  assert.equal(t.o.failureReason, "no cells carry the marker");
  assert.equal(t.o.er, er - 10 - t.sim.config.thermo.failEnergy);
  assert.equal(t.sim.organisms.length, 1);
});

Deno.test("FORK fails when the child's energy is not below ER minus the FORK cost, or <= 0", () => {
  for (const e of [95, 0, -5]) {
    const t = setup(
      `SMRI DATA:2\nSETI %DR0 DATA:1\nPOKE %DR0 0|3\nSETI %DR1 DATA:${e}\nFORK %DR1 1|0`,
      { energy: 100 },
    );
    t.steps(5);
    assert.equal(t.o.failureReason, "not enough energy for the child", `energy ${e}`);
    assert.equal(t.sim.organisms.length, 1);
  }
});

Deno.test("FORK with a non-unit direction fails", () => {
  const t = setup("SMRI DATA:2\nSETI %DR0 DATA:1\nPOKE %DR0 0|3\nSETI %DR1 DATA:10\nFORK %DR1 1|1");
  t.steps(5);
  assert.equal(t.o.failureReason, "direction is not a unit vector");
  assert.equal(t.sim.organisms.length, 1);
});

Deno.test("the shipped ancestor copies itself into a generation-1 child with the same genome", () => {
  const cfg = resolveEngineConfig(
    {
      shape: [256, 64],
      seed: 1,
      energy: { initialCount: 0, solarPer1000Ticks: 0, geysers: 0 },
      mutation: NO_MUTATION,
    },
    ancestorPlacement(1, 20000),
  );
  const { sim } = createEngine(cfg);
  const ancestor = sim.organisms[0]!;
  for (let i = 0; i < 10000 && sim.births === 0; i++) sim.step();
  assert.equal(sim.births, 1);
  const child = sim.organisms.find((o) => o.parentId === ancestor.id)!;
  assert.equal(child.generation, 1);
  assert.equal(child.bodySize, ancestor.bodySize);
  assert.equal(child.genomeHash, ancestor.genomeHash);
  assert.ok(child.er > 0 && ancestor.er > 0);
});

// ---------------------------------------------------------------------------------------------
// Conflicts

Deno.test("two organisms POKE-ing the same empty cell in one tick: exactly one succeeds", () => {
  const winners = new Set<string>();
  for (let seed = 1; seed <= 12; seed++) {
    const t = setup("SETI %DR0 DATA:1\nPOKE %DR0 4|3", { input: { seed } });
    const b = addOrganism(t.sim, "SETI %DR0 DATA:2\nPOKE %DR0 4|-3", [4, 10]);
    t.steps(2);
    const target = t.abs(8, 7);
    assert.equal(t.o.lastFailed !== b.lastFailed, true, `seed ${seed}`);
    const [win, lose, v] = t.o.lastFailed ? [b, t.o, 2] : [t.o, b, 1];
    assert.equal(t.w.cells[target], data(v), `seed ${seed}`);
    assert.equal(t.w.owners[target], win.id, `seed ${seed}`);
    assert.ok(!t.sim.organisms.some((o) => o !== win && t.w.owners[target] === o.id));
    assert.match(lose.failureReason, /not empty|higher priority/);
    winners.add(win === t.o ? "a" : "b");
  }
  assert.deepEqual([...winners].sort(), ["a", "b"], "the seeded priority favours both");
});

Deno.test({
  name: "the loser of a same-tick POKE race fails with the higher-priority reason",
  fn: () => {
    const t = setup("SETI %DR0 DATA:1\nPOKE %DR0 4|3");
    const b = addOrganism(t.sim, "SETI %DR0 DATA:2\nPOKE %DR0 4|-3", [4, 10]);
    t.steps(2);
    const lose = t.o.lastFailed ? t.o : b;
    assert.equal(lose.failureReason, "cell taken by an organism of higher priority this tick");
  },
});

Deno.test("a cell emptied by PEEK cannot be written by a lower-priority organism in that tick", () => {
  const reasons = new Set<string>();
  for (let seed = 1; seed <= 12; seed++) {
    const t = setup("SETI %DR7 DATA:0\nPEEK %DR0 4|3", { input: { seed } });
    const b = addOrganism(t.sim, "SETI %DR0 DATA:2\nPOKE %DR0 4|-3", [4, 10]);
    const target = t.abs(8, 7);
    t.w.set(target, pack(MoleculeType.ENERGY, 50), 0);
    t.steps(2);
    assert.equal(t.o.lastFailed, false, `seed ${seed}`);
    assert.equal(t.o.dr[0], pack(MoleculeType.ENERGY, 50));
    assert.equal(b.lastFailed, true, `seed ${seed}`);
    assert.equal(t.w.cells[target], 0, `seed ${seed}`);
    assert.equal(t.w.owners[target], 0, `seed ${seed}`);
    reasons.add(b.failureReason);
  }
  assert.deepEqual([...reasons].sort(), [
    "cell is not empty",
    "cell taken by an organism of higher priority this tick",
  ]);
});

Deno.test("a claim lasts one tick: the cell can be written in the next tick", () => {
  const t = setup("SETI %DR7 DATA:0\nPEEK %DR0 4|3", { input: { seed: 1 } });
  const b = addOrganism(t.sim, "SETI %DR0 DATA:2\nPOKE %DR0 4|-3\nPOKE %DR0 4|-3", [4, 10]);
  const target = t.abs(8, 7);
  t.w.set(target, pack(MoleculeType.ENERGY, 50), 0);
  t.steps(3);
  assert.equal(b.lastFailed, false);
  assert.equal(t.w.owners[target], b.id);
});

// ---------------------------------------------------------------------------------------------
// Death

Deno.test("an organism dies when its energy is exhausted; its body is un-owned but stays", () => {
  const t = setup("SETI %DR0 DATA:9\nPOKE %DR0 0|3\n.EMIT DATA:1", { energy: 8 });
  const body = [...t.o.owned];
  t.steps(2); // SETI (7 left), POKE (4 left)
  assert.equal(t.o.alive, true);
  assert.equal(t.o.er, 4);
  t.steps(3); // DATA:1 (3), empty cell (2), empty cell (1)
  assert.equal(t.o.alive, true);
  t.steps(1);
  assert.equal(t.o.alive, false);
  assert.equal(t.o.deathReason, "energy exhausted");
  assert.equal(t.o.deathTick, 6);
  assert.deepEqual(t.sim.organisms, []);
  assert.equal(t.sim.deaths, 1);
  assert.deepEqual(t.sim.takeDead(), [t.o]);
  assert.deepEqual(t.sim.takeDead(), []);
  for (const f of [...body, t.rel(0, 3)]) {
    assert.equal(t.w.owners[f], 0);
    assert.notEqual(t.w.cells[f], 0);
  }
  assert.equal(t.w.cells[t.rel(0, 3)], data(9));
});

Deno.test("an organism dies when its entropy reaches maxEntropy", () => {
  const t = setup(".EMIT DATA:1", { input: { thermo: { maxEntropy: 5 } } });
  t.steps(4);
  assert.equal(t.o.alive, true);
  assert.equal(t.o.sr, 4);
  t.steps(1);
  assert.equal(t.o.alive, false);
  assert.equal(t.o.deathReason, "entropy limit reached");
  assert.equal(t.sim.organisms.length, 0);
  assert.equal(t.w.owners[t.rel(0, 0)], 0);
  assert.equal(t.w.cells[t.rel(0, 0)], data(1));
});

Deno.test("a dead organism executes no more instructions", () => {
  const t = setup("ADDI %DR0 DATA:1", { energy: 1 });
  t.steps(3);
  assert.equal(t.o.instructions, 1);
  assert.equal(t.sim.instructionsExecuted, 1);
});

Deno.test({
  name: "death un-owns every cell the organism was placed with, including empty ones",
  fn: () => {
    const t = setup(".EMIT DATA:1\n.EMIT CODE:0\n.EMIT DATA:2", { energy: 2 });
    t.steps(2);
    assert.equal(t.o.alive, false);
    for (const x of [0, 1, 2]) assert.equal(t.w.owners[t.rel(x, 0)], 0, `cell ${x}`);
  },
});
