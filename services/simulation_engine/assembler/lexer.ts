/**
 * Splits assembler source into statements of tokens.
 *
 * Comments run from `#` to the end of the line, `;` separates statements on one line,
 * whitespace and commas separate tokens. The lexer never fails: odd characters end up in
 * tokens the parser rejects.
 *
 * @module
 */

/** `label` is `NAME:`, `directive` starts with `.`, everything else is a `word`. */
export type TokenKind = "label" | "directive" | "word";

/** One token with its 1-based position. */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

/** The tokens of one statement (never empty) and the line it stands on. */
export interface Statement {
  readonly line: number;
  /** The whole source line, trimmed (for source maps and listings). */
  readonly lineText: string;
  readonly tokens: readonly Token[];
}

const LABEL_RE = /^[A-Za-z_][A-Za-z0-9_]*:$/;

function kindOf(text: string): TokenKind {
  if (text.startsWith(".")) return "directive";
  return LABEL_RE.test(text) ? "label" : "word";
}

const SPACE_RE = /\s/;

function isSeparator(c: string): boolean {
  return c === " " || c === "," || c === "\t" || (c > "~" || c < " ") && SPACE_RE.test(c);
}

/** Splits `source` into non-empty statements, in source order. */
export function tokenize(source: string): Statement[] {
  const out: Statement[] = [];
  const lines = source.split(/\r\n|\r|\n/);
  for (let l = 0; l < lines.length; l++) {
    const text = lines[l] ?? "";
    const line = l + 1;
    const lineText = text.trim();
    let tokens: Token[] = [];
    let start = -1;
    const endToken = (end: number) => {
      if (start < 0) return;
      const t = text.slice(start, end);
      tokens.push({ kind: kindOf(t), text: t, line, column: start + 1 });
      start = -1;
    };
    const endStatement = () => {
      if (tokens.length > 0) out.push({ line, lineText, tokens });
      tokens = [];
    };
    let i = 0;
    for (; i < text.length; i++) {
      const c = text[i] ?? "";
      if (c === "#") break;
      if (c === ";") {
        endToken(i);
        endStatement();
      } else if (isSeparator(c)) {
        endToken(i);
      } else if (start < 0) {
        start = i;
      }
    }
    endToken(i);
    endStatement();
  }
  return out;
}
