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

/** Parses the statements of one file. Throws {@link AssemblyError} on syntax errors. */
export function parse(statements: readonly Statement[], file: string): Node[] {
  const fail = (line: number, column: number, what: string, expected?: string): never => {
    throw new AssemblyError(file, line, column, what, expected);
  };
  const failAt = (tok: Token, what: string, expected?: string): never =>
    fail(tok.line, tok.column, what, expected);

  const checkInt = (tok: Token, column: number, text: string, limit: number): number => {
    const v = parseInteger(text);
    if (v === undefined) return fail(tok.line, column, `bad number '${text}'`, "an integer");
    if (Math.abs(v) > limit) {
      return fail(tok.line, column, `number ${text} out of range`, `-${limit}..${limit}`);
    }
    return v;
  };

  const parseTerm = (tok: Token, column: number, text: string): Term => {
    if (text === "@") return { cursor: true, offset: 0 };
    if (text.startsWith("@")) {
      const rest = text.slice(1);
      if (!rest.startsWith("+") && !rest.startsWith("-")) {
        return fail(tok.line, column, `bad cursor offset '${text}'`, "@, @+k or @-k");
      }
      return { cursor: true, offset: checkInt(tok, column + 1, rest, INT_LIMIT) };
    }
    return { cursor: false, offset: checkInt(tok, column, text, INT_LIMIT) };
  };

  const parseVector = (tok: Token): Operand => {
    const components: Component[] = [];
    let column = tok.column;
    for (const part of tok.text.split("|")) {
      const bounds = part.split("..");
      const [a, b] = bounds;
      if (a === undefined || bounds.length > 2) {
        return fail(tok.line, column, `bad vector component '${part}'`, "n, @+k or a..b");
      }
      const from = parseTerm(tok, column, a);
      if (b === undefined) components.push({ from, column });
      else components.push({ from, to: parseTerm(tok, column + a.length + 2, b), column });
      column += part.length + 1;
    }
    return { kind: "vector", components, token: tok };
  };

  const parseOperand = (tok: Token): Operand => {
    const t = tok.text;
    if (t.startsWith("%")) {
      const name = t.slice(1);
      if (!IDENT_RE.test(name)) {
        return failAt(tok, `bad register '${t}'`, "%DR0..%DR7, %LR0..%LR3 or a .REG alias");
      }
      return { kind: "register", name: name.toUpperCase(), token: tok };
    }
    const typed = TYPED_RE.exec(t);
    if (typed) {
      const typeName = (typed[1] ?? "").toUpperCase();
      const valueText = typed[2] ?? "";
      const type = MOLECULE_TYPE_NAMES.indexOf(typeName);
      if (type < 0) {
        return failAt(tok, `unknown molecule type '${typed[1]}'`, MOLECULE_TYPE_NAMES.join(", "));
      }
      const column = tok.column + typeName.length + 1;
      const value = parseInteger(valueText);
      if (value === undefined) {
        return fail(tok.line, column, `bad value '${valueText}' in '${t}'`, "an integer");
      }
      if (value < VALUE_MIN || value > VALUE_MAX) {
        return fail(
          tok.line,
          column,
          `value ${valueText} out of range`,
          `${VALUE_MIN}..${VALUE_MAX}`,
        );
      }
      return { kind: "typed", type, value, token: tok };
    }
    if (t.includes("|") || t.includes("..") || t.startsWith("@")) return parseVector(tok);
    if (INT_RE.test(t)) {
      return { kind: "int", value: checkInt(tok, tok.column, t, INT_LIMIT), token: tok };
    }
    if (IDENT_RE.test(t)) return { kind: "name", name: t.toUpperCase(), token: tok };
    return failAt(
      tok,
      `bad argument '${t}'`,
      "a register, TYPE:value, integer, vector a|b or name",
    );
  };

  const checkCount = (
    head: Token,
    what: string,
    sig: readonly string[],
    args: readonly Token[],
  ) => {
    if (args.length === sig.length) return;
    const at = args[sig.length] ?? head;
    const detail = sig.length > 0 ? ` (${sig.join(" ")})` : "";
    failAt(at, `${what} expects ${sig.length} ${plural(sig.length)}${detail}, got ${args.length}`);
  };

  const nodes: Node[] = [];
  for (const stmt of statements) {
    let i = 0;
    for (let tok = stmt.tokens[i]; tok?.kind === "label"; tok = stmt.tokens[++i]) {
      nodes.push({ kind: "label", name: tok.text.slice(0, -1).toUpperCase(), token: tok, stmt });
    }
    const head = stmt.tokens[i];
    if (head === undefined) continue;
    const rest = stmt.tokens.slice(i + 1);
    if (head.kind === "directive") {
      const d = DIRECTIVES.get(head.text.slice(1).toUpperCase());
      if (d === undefined) return failAt(head, `unknown directive '${head.text}'`, DIRECTIVE_LIST);
      checkCount(head, head.text.toUpperCase(), d.sig, rest);
      nodes.push({
        kind: "directive",
        name: d.name,
        args: rest.map(parseOperand),
        token: head,
        stmt,
      });
      continue;
    }
    const nop = /^NOP(?:\^(.*))?$/i.exec(head.text);
    if (nop) {
      const countText = nop[1];
      let count = 1;
      if (countText !== undefined) {
        const column = head.column + 4;
        count = checkInt(head, column, countText, INT_LIMIT);
        if (count < 1) return fail(head.line, column, `bad NOP count ${countText}`, "a count >= 1");
      }
      checkCount(head, "NOP", [], rest);
      nodes.push({ kind: "nop", count, token: head, stmt });
      continue;
    }
    const spec = instructionByName(head.text);
    if (spec === undefined) return failAt(head, `unknown instruction '${head.text}'`);
    checkCount(head, spec.name, spec.args, rest);
    nodes.push({ kind: "instruction", spec, args: rest.map(parseOperand), token: head, stmt });
  }
  return nodes;
}
