/**
 * Running the CLI as a subprocess in tests.
 *
 * @module
 */

import { CLI_MAIN, cliCommand } from "../tests/fixtures/cli_process.ts";

export { CLI_MAIN };

/** Runs `evochora <args>` with the tasks' permissions; returns exit code and output. */
export async function evochora(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await cliCommand(args, {
    permissions: ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"],
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
