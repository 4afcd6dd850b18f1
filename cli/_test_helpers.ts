/**
 * Running the CLI as a subprocess in tests.
 *
 * @module
 */

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** The path of cli/main.ts. */
export const CLI_MAIN = MAIN;

/** Runs `evochora <args>` with the tasks' permissions; returns exit code and output. */
export async function evochora(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The JSON object on the last line of `stdout`. */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}
