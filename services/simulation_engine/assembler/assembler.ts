/**
 * The assembler: lays parsed statements out in space and encodes them as molecules.
 *
 * One pass places cells and records label references; label references are checked at the
 * end, so forward references work. `.DEFINE` and `.REG` apply from their line on.
 *
 * @module
 */

import { MoleculeType, pack, VALUE_MAX, VALUE_MIN } from "../../../codec/mod.ts";
import { DATA_REGISTERS, labelHash, LOCATION_REGISTERS } from "../../../codec/isa.ts";
import {
  type AssembleOptions,
  type PlacedCell,
  posKey,
  type ProgramArtifact,
  type SourceRef,
} from "./artifact.ts";
import { AssemblyError } from "./errors.ts";
import { type Statement, type Token, tokenize } from "./lexer.ts";
import { type Node, type Operand, parse } from "./parser.ts";

/** Most cells one `.PLACE` may produce. */
export const PLACE_LIMIT = 1 << 20;

interface Register {
  readonly bank: "DR" | "LR";
  readonly index: number;
}

type Span = readonly [from: number, to: number];

const BANKS = { DR: DATA_REGISTERS, LR: LOCATION_REGISTERS } as const;
const REGISTER_RE = /^(DR|LR)([0-9]+)$/;

/**
 * Assembles EvoASM-like source into a {@link ProgramArtifact}.
 * Throws {@link AssemblyError} (and nothing else) for any bad source.
 */
export function assemble(source: string, options: AssembleOptions = {}): ProgramArtifact {
  const dims = options.dims ?? 2;
  const file = options.file ?? "<source>";
  if (!Number.isInteger(dims) || dims < 1 || dims > 64) {
    throw new RangeError(`dims must be an integer in 1..64, got ${dims}`);
  }
  return new Assembler(dims, file).run(source);
}

class Assembler {
  private cursor: number[];
  private layout: number[];
  private direction: number[];
  private readonly cells: PlacedCell[] = [];
  private readonly lines = new Map<string, number>();
  private readonly sourceMap = new Map<string, SourceRef>();
  private readonly labels = new Map<string, number[]>();
  private readonly labelByHash = new Map<number, string>();
  private readonly defines = new Map<string, Operand>();
  private readonly aliases = new Map<string, Register>();
  private readonly labelRefs: { name: string; token: Token }[] = [];
  private entry: number[] | undefined;
  private pendingEntry: Token | undefined;
  private firstInstruction: number[] | undefined;

  constructor(private readonly dims: number, private readonly file: string) {
    this.cursor = new Array<number>(dims).fill(0);
    this.layout = this.unit();
    this.direction = this.unit();
  }

  run(source: string): ProgramArtifact {
    for (const node of parse(tokenize(source), this.file)) this.node(node);
    if (this.pendingEntry) {
      this.fail(this.pendingEntry, ".ENTRY is not followed by an instruction", "an instruction");
    }
    for (const ref of this.labelRefs) {
      if (!this.labels.has(ref.name)) this.fail(ref.token, `unknown label '${ref.token.text}'`);
    }
    return {
      dims: this.dims,
      cells: this.cells,
      labels: this.labels,
      sourceMap: this.sourceMap,
      entry: this.entry ?? this.labels.get("START") ?? this.firstInstruction ??
        new Array<number>(this.dims).fill(0),
      direction: this.direction,
    };
  }

  private unit(): number[] {
    const v = new Array<number>(this.dims).fill(0);
    v[0] = 1;
    return v;
  }

  private fail(tok: Token, what: string, expected?: string): never {
    throw new AssemblyError(this.file, tok.line, tok.column, what, expected);
  }

  private node(node: Node): void {
    switch (node.kind) {
      case "label":
        return this.label(node.name, node.token, node.stmt);
      case "nop":
        this.advance(node.count);
        return;
      case "instruction": {
        const { spec, args, token, stmt } = node;
        const start = [...this.cursor];
        if (this.pendingEntry) {
          this.entry = start;
          this.pendingEntry = undefined;
        }
        this.firstInstruction ??= start;
        this.emit(pack(MoleculeType.CODE, spec.opcode), token, stmt);
        spec.args.forEach((kind, i) => {
          const op = args[i];
          if (op === undefined) return;
          switch (kind) {
            case "R":
            case "L":
              return this.emit(this.register(op, kind), op.token, stmt);
            case "I":
              return this.emit(this.immediate(op), op.token, stmt);
            case "T":
              return this.emit(this.labelRef(op), op.token, stmt);
            case "V":
              for (const v of this.vector(op)) {
                this.emit(pack(MoleculeType.DATA, v), op.token, stmt);
              }
          }
        });
        return;
      }
      case "directive":
        return this.directive(node.name, node.args, node.token, node.stmt);
    }
  }

  private directive(name: string, args: readonly Operand[], token: Token, stmt: Statement): void {
    const [a, b] = args;
    switch (name) {
      case "ENTRY":
        if (this.entry || this.pendingEntry) this.fail(token, "duplicate .ENTRY", "one .ENTRY");
        this.pendingEntry = token;
        return;
      case "ORG":
        if (a) this.cursor = this.positions(a, false).map(([from]) => from);
        return;
      case "DIR":
        if (a) this.layout = this.unitVector(a);
        return;
      case "DIRECTION":
        if (a) this.direction = this.unitVector(a);
        return;
      case "PLACE":
        if (a && b) this.place(this.immediate(a), this.positions(b, true), token, stmt);
        return;
      case "EMIT":
        if (a) this.emit(this.immediate(a), token, stmt);
        return;
      case "REG":
        if (a && b) this.alias(a, b);
        return;
      case "DEFINE":
        if (a && b) this.define(a, b);
        return;
    }
  }

  private label(name: string, token: Token, stmt: Statement): void {
    if (this.labels.has(name)) this.fail(token, `duplicate label '${name}'`, "a new label name");
    const hash = labelHash(name);
    const other = this.labelByHash.get(hash);
    if (other !== undefined) {
      this.fail(token, `label '${name}' has the same hash as '${other}'`, "a different name");
    }
    this.labels.set(name, [...this.cursor]);
    this.labelByHash.set(hash, name);
    this.emit(pack(MoleculeType.LABEL, hash), token, stmt);
  }

  private emit(molecule: number, token: Token, stmt: Statement): void {
    this.put(this.cursor, molecule, token, stmt);
    this.advance(1);
  }

  private advance(n: number): void {
    for (let i = 0; i < this.dims; i++) {
      this.cursor[i] = (this.cursor[i] ?? 0) + n * (this.layout[i] ?? 0);
    }
  }

  private put(pos: readonly number[], molecule: number, token: Token, stmt: Statement): void {
    const key = posKey(pos);
    const first = this.lines.get(key);
    if (first !== undefined) {
      this.fail(
        token,
        `cell ${key} placed twice: first at line ${first}, again at line ${stmt.line}`,
      );
    }
    this.lines.set(key, stmt.line);
    this.cells.push({ pos: [...pos], molecule });
    this.sourceMap.set(key, {
      file: this.file,
      line: stmt.line,
      column: token.column,
      text: stmt.lineText,
    });
  }

  private place(molecule: number, spans: readonly Span[], token: Token, stmt: Statement): void {
    let total = 1;
    for (const [from, to] of spans) total *= Math.abs(to - from) + 1;
    if (total > PLACE_LIMIT) this.fail(token, `.PLACE of ${total} cells`, `at most ${PLACE_LIMIT}`);
    const pos = spans.map(([from]) => from);
    for (let n = 0; n < total; n++) {
      this.put(pos, molecule, token, stmt);
      for (let i = 0; i < spans.length; i++) {
        const [from, to] = spans[i] ?? [0, 0];
        const p = pos[i] ?? 0;
        if (p !== to) {
          pos[i] = p + (to > from ? 1 : -1);
          break;
        }
        pos[i] = from;
      }
    }
  }

  /** Replaces a `.DEFINE` name by its value. */
  private deref(op: Operand): Operand {
    if (op.kind !== "name") return op;
    const value = this.defines.get(op.name);
    if (value === undefined) {
      return this.fail(
        op.token,
        `unknown constant '${op.token.text}'`,
        "a .DEFINE name or literal",
      );
    }
    return value;
  }

  private define(name: Operand, value: Operand): void {
    if (name.kind !== "name") {
      this.fail(name.token, `bad constant name '${name.token.text}'`, "a name");
    }
    if (this.defines.has(name.name)) this.fail(name.token, `duplicate constant '${name.name}'`);
    if (value.kind === "register") {
      this.fail(
        value.token,
        `bad constant value '${value.token.text}'`,
        "TYPE:value, integer or vector",
      );
    }
    this.defines.set(name.name, this.deref(value));
  }

  private alias(alias: Operand, target: Operand): void {
    if (alias.kind !== "register" && alias.kind !== "name") {
      this.fail(alias.token, `bad register alias '${alias.token.text}'`, "%NAME");
    }
    if (REGISTER_RE.test(alias.name)) {
      this.fail(alias.token, `cannot alias '${alias.token.text}'`, "a name that is not a register");
    }
    if (this.aliases.has(alias.name)) this.fail(alias.token, `duplicate alias '%${alias.name}'`);
    this.aliases.set(alias.name, this.resolveRegister(target));
  }

  private resolveRegister(op: Operand): Register {
    const expected = "%DR0..%DR7, %LR0..%LR3 or a .REG alias";
    if (op.kind !== "register") {
      return this.fail(op.token, `bad register '${op.token.text}'`, expected);
    }
    const m = REGISTER_RE.exec(op.name);
    if (m) {
      const bank = m[1] === "DR" ? "DR" : "LR";
      const index = Number(m[2]);
      if (index < BANKS[bank]) return { bank, index };
      return this.fail(
        op.token,
        `unknown register '${op.token.text}'`,
        `%${bank}0..%${bank}${BANKS[bank] - 1}`,
      );
    }
    const r = this.aliases.get(op.name);
    return r ?? this.fail(op.token, `unknown register '${op.token.text}'`, expected);
  }

  private register(op: Operand, kind: "R" | "L"): number {
    const want = kind === "R" ? "a data register" : "a location register";
    if (op.kind === "typed" && op.type === MoleculeType.REGISTER) return pack(op.type, op.value);
    if (op.kind !== "register") return this.fail(op.token, `bad argument '${op.token.text}'`, want);
    const r = this.resolveRegister(op);
    if (r.bank !== (kind === "R" ? "DR" : "LR")) {
      const is = r.bank === "DR" ? "a data register" : "a location register";
      this.fail(op.token, `'${op.token.text}' is ${is}`, want);
    }
    return pack(MoleculeType.REGISTER, r.index);
  }

  private immediate(site: Operand): number {
    const op = this.deref(site);
    if (op.kind === "typed") return pack(op.type, op.value);
    if (op.kind === "int") {
      if (op.value < VALUE_MIN || op.value > VALUE_MAX) {
        this.fail(site.token, `value ${op.value} out of range`, `${VALUE_MIN}..${VALUE_MAX}`);
      }
      return pack(MoleculeType.DATA, op.value);
    }
    return this.fail(site.token, `bad immediate '${site.token.text}'`, "TYPE:value or an integer");
  }

  private labelRef(op: Operand): number {
    if (op.kind === "typed" && op.type === MoleculeType.LABELREF) return pack(op.type, op.value);
    if (op.kind !== "name") {
      return this.fail(
        op.token,
        `bad label reference '${op.token.text}'`,
        "a label name or LABELREF:n",
      );
    }
    this.labelRefs.push({ name: op.name, token: op.token });
    return pack(MoleculeType.LABELREF, labelHash(op.name));
  }

  /** Position spans per dimension; `@` is relative to the cursor, ranges only if allowed. */
  private positions(site: Operand, ranges: boolean): Span[] {
    const op = this.deref(site);
    if (op.kind === "int") return this.checkDims(site, [[op.value, op.value]]);
    if (op.kind !== "vector") {
      return this.fail(site.token, `bad position '${site.token.text}'`, this.vectorShape());
    }
    const spans = op.components.map((c, i): Span => {
      const base = this.cursor[i] ?? 0;
      const from = c.from.cursor ? base + c.from.offset : c.from.offset;
      if (c.to === undefined) return [from, from];
      if (!ranges) this.fail(site.token, `range in '${site.token.text}'`, "a single position");
      return [from, c.to.cursor ? base + c.to.offset : c.to.offset];
    });
    return this.checkDims(site, spans);
  }

  private vectorShape(): string {
    return `a vector of ${this.dims} component${this.dims === 1 ? "" : "s"} like ${
      this.unit().join("|")
    }`;
  }

  private checkDims<T>(site: Operand, components: T[]): T[] {
    if (components.length !== this.dims) {
      this.fail(
        site.token,
        `vector '${site.token.text}' has ${components.length} component${
          components.length === 1 ? "" : "s"
        }`,
        this.vectorShape(),
      );
    }
    return components;
  }

  /** A plain integer vector (V arguments, directions). */
  private vector(site: Operand): number[] {
    const op = this.deref(site);
    if (op.kind === "int") return this.checkDims(site, [op.value]);
    if (op.kind !== "vector") {
      return this.fail(site.token, `bad vector '${site.token.text}'`, this.vectorShape());
    }
    const v = op.components.map((c) => {
      if (c.from.cursor || c.to !== undefined) {
        this.fail(site.token, `'@' and ranges are not allowed in '${site.token.text}'`, "integers");
      }
      const n = c.from.offset;
      if (n < VALUE_MIN || n > VALUE_MAX) {
        this.fail(site.token, `component ${n} out of range`, `${VALUE_MIN}..${VALUE_MAX}`);
      }
      return n;
    });
    return this.checkDims(site, v);
  }

  private unitVector(site: Operand): number[] {
    const v = this.vector(site);
    const nonZero = v.filter((x) => x !== 0);
    if (nonZero.length !== 1 || Math.abs(nonZero[0] ?? 0) !== 1) {
      this.fail(
        site.token,
        `'${site.token.text}' is not a unit vector`,
        `a unit vector like ${this.unit().join("|")}`,
      );
    }
    return v;
  }
}
