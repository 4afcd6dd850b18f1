/**
 * Turns token statements into nodes: labels, instructions, `NOP^n` gaps and directives,
 * with every argument parsed into an {@link Operand}. Checks syntax and argument counts;
 * meaning (registers, labels, constants, dimensions) is checked by the assembler.
 *
 * @module
 */

import { MOLECULE_TYPE_NAMES, VALUE_MAX, VALUE_MIN } from "../../../codec/mod.ts";
import { instructionByName, type InstructionSpec } from "../../../codec/isa.ts";
import { AssemblyError } from "./errors.ts";
import type { Statement, Token } from "./lexer.ts";

/** One vector component term: a plain integer, or `@`/`@+k`/`@-k` (cursor relative). */
export interface Term {
  readonly cursor: boolean;
  readonly offset: number;
}

/** A vector component, optionally a range `from..to` (inclusive). */
export interface Component {
  readonly from: Term;
  readonly to?: Term;
  readonly column: number;
}

/** A parsed argument. Names are upper case. */
export type Operand =
  | { readonly kind: "register"; readonly name: string; readonly token: Token }
  | { readonly kind: "typed"; readonly type: number; readonly value: number; readonly token: Token }
  | { readonly kind: "int"; readonly value: number; readonly token: Token }
  | { readonly kind: "vector"; readonly components: readonly Component[]; readonly token: Token }
  | { readonly kind: "name"; readonly name: string; readonly token: Token };

/** Directives by upper-case name without the dot. */
export type DirectiveName =
  | "ORG"
  | "DIR"
  | "PLACE"
  | "EMIT"
  | "REG"
  | "DEFINE"
  | "ENTRY"
  | "DIRECTION";

/** A parsed statement. */
export type Node =
  | {
    readonly kind: "label";
    readonly name: string;
    readonly token: Token;
    readonly stmt: Statement;
  }
  | {
    readonly kind: "instruction";
    readonly spec: InstructionSpec;
    readonly args: readonly Operand[];
    readonly token: Token;
    readonly stmt: Statement;
  }
  | {
    readonly kind: "nop";
    readonly count: number;
    readonly token: Token;
    readonly stmt: Statement;
  }
  | {
    readonly kind: "directive";
    readonly name: DirectiveName;
    readonly args: readonly Operand[];
    readonly token: Token;
    readonly stmt: Statement;
  };

/** Largest magnitude of an untyped integer (positions, offsets, counts). */
export const INT_LIMIT = 0x7fffffff;

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TYPED_RE = /^([A-Za-z_][A-Za-z0-9_]*):(.*)$/s;
const INT_RE = /^[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

const DIRECTIVES = new Map<string, { name: DirectiveName; sig: readonly string[] }>([
  ["ORG", { name: "ORG", sig: ["position"] }],
  ["DIR", { name: "DIR", sig: ["direction"] }],
  ["PLACE", { name: "PLACE", sig: ["value", "position"] }],
  ["EMIT", { name: "EMIT", sig: ["value"] }],
  ["REG", { name: "REG", sig: ["alias", "register"] }],
  ["DEFINE", { name: "DEFINE", sig: ["name", "value"] }],
  ["ENTRY", { name: "ENTRY", sig: [] }],
  ["DIRECTION", { name: "DIRECTION", sig: ["direction"] }],
  ["IPDIR", { name: "DIRECTION", sig: ["direction"] }],
]);

const DIRECTIVE_LIST = ".ORG, .DIR, .PLACE, .EMIT, .REG, .DEFINE, .ENTRY, .DIRECTION or .IPDIR";

/** Parses a decimal or `0x` integer with optional sign; undefined if malformed. */
export function parseInteger(s: string): number | undefined {
  if (!INT_RE.test(s)) return undefined;
  const neg = s.startsWith("-");
  const body = s.replace(/^[+-]/, "");
  const v = body.length > 2 && (body[1] === "x" || body[1] === "X")
    ? parseInt(body.slice(2), 16)
    : parseInt(body, 10);
  return neg ? -v : v;
}

function plural(n: number): string {
  return n === 1 ? "argument" : "arguments";
}

/** `NOP` or `NOP^n`: a gap of n cells rather than an instruction of the ISA. */
const NOP_RE = /^NOP(?:\^(.*))?$/i;

/** A statement split after its labels: the head (directive or instruction) and its arguments. */
interface StatementParts {
  readonly head: Token;
  readonly args: readonly Token[];
  readonly stmt: Statement;
}

/** An argument count to check; a mismatch is reported at the first extra argument, if any. */
interface CountCheck {
  readonly head: Token;
  /** What is named in the message, e.g. `.ORG` or `SETI`. */
  readonly what: string;
  /** The expected arguments, listed in the message. */
  readonly sig: readonly string[];
  readonly args: readonly Token[];
}

/** Parses the statements of one file. Throws {@link AssemblyError} on syntax errors. */
export function parse(statements: readonly Statement[], file: string): Node[] {
  const parser = new FileParser(file);
  const nodes: Node[] = [];
  for (const stmt of statements) parser.statement(stmt, nodes);
  return nodes;
}

/** Parses one file's statements; holds the file name, which every error message starts with. */
class FileParser {
  constructor(private readonly file: string) {}

  /**
   * Throws at `column` of `tok`'s line: a part of a token (a vector component, a typed value)
   * is reported at its own column, not at the token's start.
   */
  private fail(tok: Token, column: number, what: string, expected?: string): never {
    throw new AssemblyError(this.file, tok.line, column, what, expected);
  }

  /** Throws at the start of `tok`. */
  private failAt(tok: Token, what: string, expected?: string): never {
    return this.fail(tok, tok.column, what, expected);
  }

  /**
   * Appends the nodes of one statement. Labels lead a line and may stack (`A: B: NOP`), all
   * naming the same place; each becomes a node of its own.
   */
  statement(stmt: Statement, nodes: Node[]): void {
    let i = 0;
    for (let tok = stmt.tokens[i]; tok?.kind === "label"; tok = stmt.tokens[++i]) {
      nodes.push({ kind: "label", name: tok.text.slice(0, -1).toUpperCase(), token: tok, stmt });
    }
    const head = stmt.tokens[i];
    if (head === undefined) return;
    nodes.push(this.body({ head, args: stmt.tokens.slice(i + 1), stmt }));
  }

  /**
   * Parses what follows the labels. `NOP` is caught before the ISA lookup: it assembles to a
   * gap of empty cells (`NOP^n` to n of them), not to an instruction cell.
   */
  private body(parts: StatementParts): Node {
    if (parts.head.kind === "directive") return this.directive(parts);
    const nop = NOP_RE.exec(parts.head.text);
    if (nop) return this.nop(parts, nop[1]);
    return this.instruction(parts);
  }

  /** Parses a directive; `.IPDIR` is an alias of `.DIRECTION`. */
  private directive({ head, args, stmt }: StatementParts): Node {
    const d = DIRECTIVES.get(head.text.slice(1).toUpperCase());
    if (d === undefined) {
      return this.failAt(head, `unknown directive '${head.text}'`, DIRECTIVE_LIST);
    }
    this.checkCount({ head, what: head.text.toUpperCase(), sig: d.sig, args });
    return {
      kind: "directive",
      name: d.name,
      args: args.map((tok) => this.operand(tok)),
      token: head,
      stmt,
    };
  }

  /** Parses `NOP` or `NOP^n`; the count is checked where it stands, after the `^`. */
  private nop({ head, args, stmt }: StatementParts, countText: string | undefined): Node {
    let count = 1;
    if (countText !== undefined) {
      const column = head.column + 4;
      count = this.integer(head, column, countText);
      if (count < 1) return this.fail(head, column, `bad NOP count ${countText}`, "a count >= 1");
    }
    this.checkCount({ head, what: "NOP", sig: [], args });
    return { kind: "nop", count, token: head, stmt };
  }

  /** Parses an instruction of the ISA. */
  private instruction({ head, args, stmt }: StatementParts): Node {
    const spec = instructionByName(head.text);
    if (spec === undefined) return this.failAt(head, `unknown instruction '${head.text}'`);
    this.checkCount({ head, what: spec.name, sig: spec.args, args });
    return {
      kind: "instruction",
      spec,
      args: args.map((tok) => this.operand(tok)),
      token: head,
      stmt,
    };
  }

  /**
   * Checked before the arguments are parsed, so a missing or extra argument is reported as such
   * rather than as a bad argument in the wrong place.
   */
  private checkCount({ head, what, sig, args }: CountCheck): void {
    if (args.length === sig.length) return;
    const at = args[sig.length] ?? head;
    const detail = sig.length > 0 ? ` (${sig.join(" ")})` : "";
    this.failAt(
      at,
      `${what} expects ${sig.length} ${plural(sig.length)}${detail}, got ${args.length}`,
    );
  }

  /** Parses one argument; the syntax alone tells its kind, meaning is the assembler's part. */
  private operand(tok: Token): Operand {
    const t = tok.text;
    if (t.startsWith("%")) return this.register(tok);
    const typed = TYPED_RE.exec(t);
    if (typed) return this.typed(tok, typed);
    if (t.includes("|") || t.includes("..") || t.startsWith("@")) return this.vector(tok);
    if (INT_RE.test(t)) return { kind: "int", value: this.integer(tok, tok.column, t), token: tok };
    if (IDENT_RE.test(t)) return { kind: "name", name: t.toUpperCase(), token: tok };
    return this.failAt(
      tok,
      `bad argument '${t}'`,
      "a register, TYPE:value, integer, vector a|b or name",
    );
  }

  /** Parses `%NAME`; whether it names a register or a `.REG` alias is the assembler's to check. */
  private register(tok: Token): Operand {
    const t = tok.text;
    const name = t.slice(1);
    if (!IDENT_RE.test(name)) {
      return this.failAt(tok, `bad register '${t}'`, "%DR0..%DR7, %LR0..%LR3 or a .REG alias");
    }
    return { kind: "register", name: name.toUpperCase(), token: tok };
  }

  /** Parses `TYPE:value`; the value must fit a molecule, not just an integer. */
  private typed(tok: Token, typed: RegExpExecArray): Operand {
    const t = tok.text;
    const typeName = (typed[1] ?? "").toUpperCase();
    const valueText = typed[2] ?? "";
    const type = MOLECULE_TYPE_NAMES.indexOf(typeName);
    if (type < 0) {
      return this.failAt(
        tok,
        `unknown molecule type '${typed[1]}'`,
        MOLECULE_TYPE_NAMES.join(", "),
      );
    }
    const column = tok.column + typeName.length + 1;
    const value = parseInteger(valueText);
    if (value === undefined) {
      return this.fail(tok, column, `bad value '${valueText}' in '${t}'`, "an integer");
    }
    if (value < VALUE_MIN || value > VALUE_MAX) {
      return this.fail(
        tok,
        column,
        `value ${valueText} out of range`,
        `${VALUE_MIN}..${VALUE_MAX}`,
      );
    }
    return { kind: "typed", type, value, token: tok };
  }

  /** Parses `a|b|...`, each component a term or a range `from..to`, tracking columns for errors. */
  private vector(tok: Token): Operand {
    const components: Component[] = [];
    let column = tok.column;
    for (const part of tok.text.split("|")) {
      const bounds = part.split("..");
      const [a, b] = bounds;
      if (a === undefined || bounds.length > 2) {
        return this.fail(tok, column, `bad vector component '${part}'`, "n, @+k or a..b");
      }
      const from = this.term(tok, column, a);
      if (b === undefined) components.push({ from, column });
      else components.push({ from, to: this.term(tok, column + a.length + 2, b), column });
      column += part.length + 1;
    }
    return { kind: "vector", components, token: tok };
  }

  /** Parses an integer or a cursor term `@`, `@+k`, `@-k`; the sign is required after `@`. */
  private term(tok: Token, column: number, text: string): Term {
    if (text === "@") return { cursor: true, offset: 0 };
    if (text.startsWith("@")) {
      const rest = text.slice(1);
      if (!rest.startsWith("+") && !rest.startsWith("-")) {
        return this.fail(tok, column, `bad cursor offset '${text}'`, "@, @+k or @-k");
      }
      return { cursor: true, offset: this.integer(tok, column + 1, rest) };
    }
    return { cursor: false, offset: this.integer(tok, column, text) };
  }

  /** Parses an untyped integer, refused beyond {@link INT_LIMIT} so that it fits an int32. */
  private integer(tok: Token, column: number, text: string): number {
    const v = parseInteger(text);
    if (v === undefined) return this.fail(tok, column, `bad number '${text}'`, "an integer");
    if (Math.abs(v) > INT_LIMIT) {
      return this.fail(tok, column, `number ${text} out of range`, `-${INT_LIMIT}..${INT_LIMIT}`);
    }
    return v;
  }
}
