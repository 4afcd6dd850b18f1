/**
 * The virtual machine: executes one instruction of one organism against the world.
 *
 * @module
 */

import {
  argCells,
  DATA_REGISTERS,
  INSTRUCTIONS,
  type InstructionSpec,
  LOCATION_REGISTERS,
  OPCODES as O,
  STACK_LIMIT,
} from "../../../codec/isa.ts";
import {
  CONTENT_MASK,
  MARKER_SHIFT,
  MoleculeType,
  pack,
  TYPE_MASK,
  typeOf,
  VALUE_MASK,
  VALUE_MAX,
  valueOf,
  wrapValue,
} from "../../../codec/mod.ts";
import { LabelResolver } from "./label_resolver.ts";
import type { Organism } from "./organism.ts";
import type { ThermoConfig } from "./engine_config.ts";
import type { World } from "./world.ts";

/** What the VM needs from the simulation around it. */
export interface VmHost {
  /** Current tick (for conflict claims). */
  readonly tick: number;
  /** Creates a child from the parent's cells marked with its MR. Returns null when it cannot. */
  fork(parent: Organism, ip: number, axis: number, sign: number, energy: number): string | null;
}

/** Per opcode, the opcode of its partner variant (-1 when none), as a flat array for the hot path. */
const PARTNER = Int32Array.from(INSTRUCTIONS, (i) => i.partner === null ? -1 : O[i.partner]);
const OP_COUNT = INSTRUCTIONS.length;
const MAX_ARG_CELLS = 16;

/** Executes instructions. One instance per simulation. */
export class Vm {
  readonly #world: World;
  readonly #cells: Int32Array;
  readonly #owners: Int32Array;
  readonly #claims: Int32Array;
  readonly #dims: number;
  readonly #t: ThermoConfig;
  readonly #host: VmHost;
  readonly #labels: LabelResolver;
  readonly #argPos = new Int32Array(MAX_ARG_CELLS);
  readonly #vec = new Int32Array(8);
  readonly #lengths: Int32Array;
  #energy = 0;
  #entropy = 0;
  #fail = "";

  constructor(world: World, thermo: ThermoConfig, host: VmHost) {
    this.#world = world;
    this.#cells = world.cells;
    this.#owners = world.owners;
    this.#claims = world.claims;
    this.#dims = world.dims;
    this.#t = thermo;
    this.#host = host;
    this.#labels = new LabelResolver(world, thermo.labelTolerance);
    this.#lengths = Int32Array.from(
      INSTRUCTIONS.map((s) => 1 + s.args.reduce((n, a) => n + argCells(a, world.dims), 0)),
    );
  }

  /** Number of cells the instruction at `flat` occupies (1 for anything that is not one). */
  lengthAt(flat: number): number {
    const m = this.#cells[flat]!;
    if ((m & TYPE_MASK) !== 0) return 1; // not CODE
    const op = valueOf(m);
    return op > 0 && op < OP_COUNT ? this.#lengths[op]! : 1;
  }

  /** Runs one instruction of `o`, charging energy and entropy. */
  execute(o: Organism): void {
    const world = this.#world;
    const cells = this.#cells;
    const m = cells[o.ip]!;
    let op = (m & TYPE_MASK) === 0 ? valueOf(m) : 0;
    if (op < 0 || op >= OP_COUNT) op = 0;
    const spec = INSTRUCTIONS[op]!;
    const len = this.#lengths[op]!;
    // Argument positions along the IP direction.
    const argPos = this.#argPos;
    let p = o.ip;
    for (let i = 1; i < len; i++) {
      p = world.step(p, o.dirAxis, o.dirSign);
      if (p < 0) {
        this.#energy = spec.energy;
        this.#entropy = spec.entropy;
        this.#finish(o, op, i, -1, "argument beyond the world's edge");
        return;
      }
      argPos[i] = p;
    }
    const next = world.step(p, o.dirAxis, o.dirSign);
    this.#energy = spec.energy;
    this.#entropy = spec.entropy;
    this.#fail = "";
    const jump = this.#run(o, op, spec, next);
    this.#finish(o, op, len, jump, this.#fail);
  }

  #finish(
    o: Organism,
    op: number,
    len: number,
    nextIp: number,
    fail: string,
  ): void {
    o.lastOpcode = op;
    o.lastAt = o.ip;
    const args = o.argsFor(len - 1);
    for (let i = 1; i < len; i++) args[i - 1] = this.#cells[this.#argPos[i]!]! & CONTENT_MASK;
    let energy = this.#energy;
    let entropy = this.#entropy;
    if (nextIp < 0 && fail === "") fail = "instruction pointer at the world's edge";
    if (fail !== "") {
      energy += this.#t.failEnergy;
      entropy += this.#t.failEntropy;
      o.lastFailed = true;
      o.failureReason = fail;
      if (nextIp < 0) nextIp = o.ip; // stuck at a bounded edge: stay, keep paying
    } else {
      o.lastFailed = false;
      o.failureReason = "";
    }
    o.lastCost = energy;
    o.er -= energy;
    o.sr += entropy;
    o.instructions++;
    if (nextIp >= 0) o.ip = nextIp;
  }

  /** Data register index from an argument cell. */
  #r(i: number): number {
    const v = valueOf(this.#cells[this.#argPos[i]!]!);
    return ((v % DATA_REGISTERS) + DATA_REGISTERS) % DATA_REGISTERS;
  }

  /** Location register index from an argument cell. */
  #l(i: number): number {
    const v = valueOf(this.#cells[this.#argPos[i]!]!);
    return ((v % LOCATION_REGISTERS) + LOCATION_REGISTERS) % LOCATION_REGISTERS;
  }

  /** Immediate molecule (marker cleared). */
  #imm(i: number): number {
    return this.#cells[this.#argPos[i]!]! & CONTENT_MASK;
  }

  /** Reads the vector starting at argument cell i into the scratch vector. */
  #vector(i: number): Int32Array {
    const v = this.#vec;
    for (let a = 0; a < this.#dims; a++) v[a] = valueOf(this.#cells[this.#argPos[i + a]!]!);
    return v;
  }

  /** Location register as a view. */
  #lrView(o: Organism, l: number): Int32Array {
    return o.lrViews[l]!;
  }

  /** Axis and sign of a unit vector, or -1 when it is not one. */
  #unit(v: ArrayLike<number>): number {
    let found = -1;
    for (let a = 0; a < this.#dims; a++) {
      const c = v[a]!;
      if (c === 0) continue;
      if ((c !== 1 && c !== -1) || found >= 0) return -1;
      found = a * 2 + (c < 0 ? 1 : 0);
    }
    return found;
  }

  /**
   * Returns the next IP, or -1 to advance normally. Sets #fail on failure. Holds the
   * instructions the ancestor's descendants execute most (each above ~0.5% of all in a long
   * run, with the partners that share their code); {@link #runRare} the others.
   */
  #run(o: Organism, op: number, spec: InstructionSpec, next: number): number {
    const dr = o.dr;
    switch (op) {
      case O.NOP:
        return next;
      case O.SETI:
        dr[this.#r(1)] = this.#imm(2);
        return next;
      case O.ADDI:
      case O.SUBI:
      case O.MULI:
      case O.DIVI:
      case O.MODI:
      case O.ANDI:
      case O.ORI:
      case O.XORI:
      case O.SHLI:
      case O.SHRI: {
        const r = this.#r(1);
        const res = this.#arith(op, dr[r]!, valueOf(this.#imm(2)));
        if (res !== null) dr[r] = res;
        return next;
      }
      case O.LTI:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) < valueOf(this.#imm(2)), next);
      case O.GTI:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) > valueOf(this.#imm(2)), next);
      case O.IFTI:
        return this.#cond(o, typeOf(dr[this.#r(1)]!) === typeOf(this.#imm(2)), next);
      case O.IFER:
        return this.#cond(o, o.lastFailed, next);
      case O.IFMR:
      case O.IFUR: {
        const t = this.#target(o, this.#lrView(o, this.#l(1)));
        if (t < 0) return next;
        const owner = this.#owners[t]!;
        return this.#cond(o, op === O.IFMR ? owner === o.id : owner === 0, next);
      }
      case O.JMPI:
      case O.CALL: {
        const target = this.#labels.resolve(o, valueOf(this.#imm(1)));
        if (target < 0) {
          this.#fail = "no label matches";
          return next;
        }
        if (op === O.CALL) {
          if (o.callStack.length >= STACK_LIMIT) {
            this.#fail = "call stack overflow";
            return next;
          }
          o.callStack.push(next);
        }
        const after = this.#world.step(target, o.dirAxis, o.dirSign);
        return after < 0 ? target : after;
      }
      case O.SCAN:
      case O.SCNR: {
        const t = this.#target(o, op === O.SCAN ? this.#vector(2) : this.#lrView(o, this.#l(2)));
        if (t >= 0) dr[this.#r(1)] = this.#cells[t]! & CONTENT_MASK;
        return next;
      }
      case O.PEEK:
      case O.PEKR: {
        const t = this.#target(o, op === O.PEEK ? this.#vector(2) : this.#lrView(o, this.#l(2)));
        if (t >= 0) this.#peek(o, t, this.#r(1));
        return next;
      }
      case O.POKE:
      case O.POKR: {
        const t = this.#target(o, op === O.POKE ? this.#vector(2) : this.#lrView(o, this.#l(2)));
        if (t >= 0) this.#poke(o, t, dr[this.#r(1)]!);
        return next;
      }
      case O.SEEK:
      case O.SEKR: {
        const t = this.#target(o, op === O.SEEK ? this.#vector(1) : this.#lrView(o, this.#l(1)));
        if (t >= 0) o.dps[o.activeDp] = t;
        return next;
      }
      case O.NRG:
        dr[this.#r(1)] = pack(MoleculeType.DATA, Math.min(o.er, VALUE_MAX));
        return next;
      case O.RAND:
      case O.RNDI: {
        const r = this.#r(1);
        const n = op === O.RAND ? valueOf(dr[r]!) : valueOf(this.#imm(2));
        if (n <= 0) this.#fail = "random bound must be positive";
        else dr[r] = pack(MoleculeType.DATA, o.rng.nextInt(n));
        return next;
      }
      case O.POSR:
      case O.DPLR: {
        const at = op === O.POSR ? o.ip : o.dps[o.activeDp]!;
        const view = this.#lrView(o, this.#l(1));
        const w = this.#world;
        for (let a = 0; a < this.#dims; a++) {
          view[a] = Math.floor(at / w.strides[a]!) % w.shape[a]!;
        }
        return next;
      }
      case O.SKLR: {
        const t = this.#world.flatOf(this.#lrView(o, this.#l(1)));
        if (t < 0) this.#fail = "position outside the world";
        else o.dps[o.activeDp] = t;
        return next;
      }
      case O.DIRR: {
        const n = 2 * this.#dims;
        const d = ((valueOf(dr[this.#r(2)]!) % n) + n) % n;
        const view = this.#lrView(o, this.#l(1));
        view.fill(0);
        view[d >> 1] = (d & 1) === 0 ? 1 : -1;
        return next;
      }
      case O.VADD: {
        const a = this.#lrView(o, this.#l(1));
        const b = this.#lrView(o, this.#l(2));
        for (let i = 0; i < this.#dims; i++) a[i] = wrapValue(a[i]! + b[i]!);
        return next;
      }
      case O.VSCL: {
        const a = this.#lrView(o, this.#l(1));
        const k = valueOf(dr[this.#r(2)]!);
        for (let i = 0; i < this.#dims; i++) a[i] = wrapValue(Math.imul(a[i]!, k));
        return next;
      }
      case O.SMRR:
        o.mr = valueOf(dr[this.#r(1)]!) & 0xf;
        return next;
      default:
        return this.#runRare(o, op, spec, next);
    }
  }

  /**
   * The instructions the ancestor's descendants seldom execute, apart from {@link #run}: an
   * optimized function deoptimizes the first time a path of it runs that had not run before it
   * was compiled, and evolution reaches such paths all run long. Out here, only this smaller
   * function is compiled again, not the interpreter's hot loop.
   */
  #runRare(o: Organism, op: number, spec: InstructionSpec, next: number): number {
    const dr = o.dr;
    switch (op) {
      case O.SETR:
        dr[this.#r(1)] = dr[this.#r(2)]!;
        return next;
      case O.SETV: {
        const v = this.#vector(2);
        this.#lrView(o, this.#l(1)).set(v.subarray(0, this.#dims));
        return next;
      }
      case O.ADDR:
      case O.SUBR:
      case O.MULR:
      case O.DIVR:
      case O.MODR:
      case O.ANDR:
      case O.ORR:
      case O.XORR: {
        const r = this.#r(1);
        // The register form computes what its immediate partner does, with the value from R2.
        const res = this.#arith(PARTNER[op]!, dr[r]!, valueOf(dr[this.#r(2)]!));
        if (res !== null) dr[r] = res;
        return next;
      }
      case O.NOT: {
        const r = this.#r(1);
        dr[r] = (dr[r]! & TYPE_MASK) | (~dr[r]! & VALUE_MASK);
        return next;
      }
      case O.PUSH:
        if (o.dataStack.length >= STACK_LIMIT) this.#fail = "data stack overflow";
        else o.dataStack.push(dr[this.#r(1)]!);
        return next;
      case O.PUSI:
        if (o.dataStack.length >= STACK_LIMIT) this.#fail = "data stack overflow";
        else o.dataStack.push(this.#imm(1));
        return next;
      case O.POP:
        if (o.dataStack.length === 0) this.#fail = "data stack underflow";
        else dr[this.#r(1)] = o.dataStack.pop()!;
        return next;
      case O.DUP:
        if (o.dataStack.length === 0) this.#fail = "data stack underflow";
        else if (o.dataStack.length >= STACK_LIMIT) this.#fail = "data stack overflow";
        else o.dataStack.push(o.dataStack[o.dataStack.length - 1]!);
        return next;
      case O.SWAP: {
        const s = o.dataStack;
        if (s.length < 2) this.#fail = "data stack underflow";
        else {
          const t = s[s.length - 1]!;
          s[s.length - 1] = s[s.length - 2]!;
          s[s.length - 2] = t;
        }
        return next;
      }
      case O.DROP:
        if (o.dataStack.length === 0) this.#fail = "data stack underflow";
        else o.dataStack.pop();
        return next;
      case O.IFI:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) === valueOf(this.#imm(2)), next);
      case O.IFR:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) === valueOf(dr[this.#r(2)]!), next);
      case O.NEI:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) !== valueOf(this.#imm(2)), next);
      case O.NER:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) !== valueOf(dr[this.#r(2)]!), next);
      case O.LTR:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) < valueOf(dr[this.#r(2)]!), next);
      case O.GTR:
        return this.#cond(o, valueOf(dr[this.#r(1)]!) > valueOf(dr[this.#r(2)]!), next);
      case O.IFTR:
        return this.#cond(o, typeOf(dr[this.#r(1)]!) === typeOf(dr[this.#r(2)]!), next);
      case O.JMPR: {
        const target = this.#world.flatOf(this.#lrView(o, this.#l(1)));
        if (target < 0) {
          this.#fail = "position outside the world";
          return next;
        }
        return target;
      }
      case O.RET:
        if (o.callStack.length === 0) {
          this.#fail = "call stack underflow";
          return next;
        }
        return o.callStack.pop()!;
      case O.XCHG: {
        const t = this.#target(o, this.#vector(2));
        if (t >= 0) this.#xchg(o, t, this.#r(1));
        return next;
      }
      case O.SYNC:
        o.dps[o.activeDp] = o.ip;
        return next;
      case O.TURN:
      case O.TRNR: {
        const u = this.#unit(op === O.TURN ? this.#vector(1) : this.#lrView(o, this.#l(1)));
        if (u < 0) {
          this.#fail = "direction is not a unit vector";
          return next;
        }
        o.dirAxis = u >> 1;
        o.dirSign = (u & 1) === 0 ? 1 : -1;
        // The rest of this instruction's cells lie in the old direction; continue in the new one.
        const after = this.#world.step(o.ip, o.dirAxis, o.dirSign);
        return after < 0 ? o.ip : after;
      }
      case O.NTR:
        dr[this.#r(1)] = pack(MoleculeType.DATA, Math.min(o.sr, VALUE_MAX));
        return next;
      case O.LPSH:
        if (o.locationStack.length >= STACK_LIMIT) this.#fail = "location stack overflow";
        else o.locationStack.push(Int32Array.from(this.#lrView(o, this.#l(1))));
        return next;
      case O.LPOP:
        if (o.locationStack.length === 0) this.#fail = "location stack underflow";
        else this.#lrView(o, this.#l(1)).set(o.locationStack.pop()!);
        return next;
      case O.ADPI:
        o.activeDp = valueOf(this.#imm(1)) & 1;
        return next;
      case O.SMRI:
        o.mr = valueOf(this.#imm(1)) & 0xf;
        return next;
      case O.FORK: {
        const energy = valueOf(dr[this.#r(1)]!);
        const u = this.#unit(this.#vector(2));
        if (u < 0) this.#fail = "direction is not a unit vector";
        else if (energy <= 0 || energy >= o.er - spec.energy) {
          this.#fail = "not enough energy for the child";
        } else if (o.mr === 0) this.#fail = "marker register is 0";
        else {
          const err = this.#host.fork(
            o,
            o.dps[o.activeDp]!,
            u >> 1,
            (u & 1) === 0 ? 1 : -1,
            energy,
          );
          if (err !== null) this.#fail = err;
          else this.#energy += energy;
        }
        return next;
      }
      default:
        return next;
    }
  }

  /**
   * Arithmetic and bitwise ops on a register molecule and a value; null on failure. `op` is the
   * immediate form (register forms pass their partner).
   */
  #arith(op: number, reg: number, v: number): number | null {
    const a = valueOf(reg);
    let r: number;
    switch (op) {
      case O.ADDI:
        r = a + v;
        break;
      case O.SUBI:
        r = a - v;
        break;
      case O.MULI:
        r = Math.imul(a, v);
        break;
      case O.DIVI:
        if (v === 0) {
          this.#fail = "division by zero";
          return null;
        }
        r = Math.trunc(a / v);
        break;
      case O.MODI:
        if (v === 0) {
          this.#fail = "division by zero";
          return null;
        }
        r = ((a % v) + Math.abs(v)) % Math.abs(v);
        break;
      case O.ANDI:
        r = a & v;
        break;
      case O.ORI:
        r = a | v;
        break;
      case O.XORI:
        r = a ^ v;
        break;
      case O.SHLI:
        r = a << (v & 31);
        break;
      case O.SHRI:
        r = a >> (v & 31);
        break;
      default:
        return null;
    }
    return (reg & TYPE_MASK) | (r & VALUE_MASK);
  }

  /** Continues at `next`, or skips the instruction there when the condition is false. */
  #cond(o: Organism, ok: boolean, next: number): number {
    if (ok) return next;
    let p = next;
    for (let n = this.lengthAt(next); n > 0 && p >= 0; n--) {
      p = this.#world.step(p, o.dirAxis, o.dirSign);
    }
    if (p < 0) this.#fail = "skipped instruction runs past the world's edge";
    return p;
  }

  #target(o: Organism, v: ArrayLike<number>): number {
    const t = this.#world.offset(o.dps[o.activeDp]!, v);
    if (t < 0) this.#fail = "target outside the world";
    return t;
  }

  #claim(t: number): boolean {
    const tick = this.#host.tick;
    if (this.#claims[t] === tick) {
      this.#fail = "cell taken by an organism of higher priority this tick";
      return false;
    }
    this.#claims[t] = tick;
    return true;
  }

  #peek(o: Organism, t: number, r: number): void {
    const m = this.#cells[t]!;
    if (m === 0) {
      this.#fail = "cell is empty";
      return;
    }
    const owner = this.#owners[t]!;
    const type = typeOf(m);
    if (owner !== 0 && owner !== o.id && !this.#t.foreignPeek) {
      this.#fail = "cell belongs to another organism";
      return;
    }
    if (owner !== o.id) this.#energy += owner === 0 ? this.#t.unownedAccess : this.#t.foreignAccess;
    if (type === MoleculeType.STRUCTURE) this.#energy += this.#t.structureBreak;
    if (!this.#claim(t)) return;
    this.#world.set(t, 0, 0);
    o.dr[r] = m & CONTENT_MASK;
    if (type === MoleculeType.ENERGY) {
      const gain = valueOf(m);
      if (gain > 0) o.er = Math.min(o.er + gain, this.#t.maxEnergy);
    }
  }

  #poke(o: Organism, t: number, molecule: number): void {
    if (this.#claims[t] === this.#host.tick) {
      this.#fail = "cell taken by an organism of higher priority this tick";
      return;
    }
    if (this.#cells[t] !== 0) {
      this.#fail = "cell is not empty";
      return;
    }
    const content = molecule & CONTENT_MASK;
    if (content === 0) return; // writing the empty molecule changes nothing
    this.#chargeWrite(content);
    if (!this.#claim(t)) return;
    this.#world.set(t, content | (o.mr << MARKER_SHIFT), o.id);
    o.owned.push(t);
  }

  #xchg(o: Organism, t: number, r: number): void {
    const owner = this.#owners[t]!;
    if (owner !== 0 && owner !== o.id) {
      this.#fail = "cell belongs to another organism";
      return;
    }
    const content = o.dr[r]! & CONTENT_MASK;
    const old = this.#cells[t]!;
    if (content !== 0) this.#chargeWrite(content);
    if (old !== 0 && owner === 0) this.#energy += this.#t.unownedAccess;
    if (typeOf(old) === MoleculeType.STRUCTURE && old !== 0) this.#energy += this.#t.structureBreak;
    if (!this.#claim(t)) return;
    if (content === 0) this.#world.set(t, 0, 0);
    else {
      this.#world.set(t, content | (o.mr << MARKER_SHIFT), o.id);
      o.owned.push(t);
    }
    o.dr[r] = old & CONTENT_MASK;
    if (typeOf(old) === MoleculeType.ENERGY && valueOf(old) > 0) {
      o.er = Math.min(o.er + valueOf(old), this.#t.maxEnergy);
    }
  }

  #chargeWrite(content: number): void {
    const type = typeOf(content);
    this.#entropy += this.#t.writeEntropy;
    if (type === MoleculeType.STRUCTURE) this.#energy += this.#t.structureWrite;
    else if (type === MoleculeType.ENERGY) this.#energy += Math.max(0, valueOf(content));
    else this.#energy += this.#t.write;
  }
}
