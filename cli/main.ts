/**
 * The `evochora` command line: `deno task evochora <command> [options]`.
 *
 * @module
 */

import { AssemblyError } from "../services/simulation_engine/assembler/mod.ts";
import { ConfigError } from "../services/simulation_engine/runtime/mod.ts";
import { CliError } from "./cli_error.ts";

const USAGE = `Usage: evochora <command> [options]

Commands:
  dev        the in-process pipeline with defaults, until Ctrl-C
  run        the in-process pipeline for N ticks; waits until everything is stored
  inspect    verify the runs in storage and print their states (exit 0: all finished)
  runs       list the runs in storage: state, ticks, stored bytes, last activity
  delete     remove everything of a run from storage (delete ID --yes)
  serve      the query API and web client over existing data
  service    run services of a config file, each as a least-privilege process of its own
  sim        run the simulation engine alone and print a summary
  status     every service of a deployment (heartbeats): host, pid, state, lag, last seen

Run 'evochora <command> --help' for a command's options.`;

type Command = (args: string[]) => Promise<number>;

/**
 * Each command's module, loaded when the command runs: a command pays for its own modules only
 * (`sim` loads no storage or API, `run` no web server).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  sim: async () => (await import("./sim_command.ts")).simCommand,
  run: async () => (await import("./run_command.ts")).runCommand,
  dev: async () => (await import("./run_command.ts")).devCommand,
  inspect: async () => (await import("./inspect_command.ts")).inspectCommand,
  runs: async () => (await import("./runs_command.ts")).runsCommand,
  delete: async () => (await import("./delete_command.ts")).deleteCommand,
  service: async () => (await import("./service_command.ts")).serviceCommand,
  serve: async () => (await import("./serve_command.ts")).serveCommand,
  status: async () => (await import("./status_command.ts")).statusCommand,
};

/**
 * Runs the CLI; returns the exit code. Bad input (CliError, a config or program the engine
 * cannot use, unknown flags) becomes one line on stderr and exit code 2 (CliError may choose
 * another); anything else is unexpected and propagates with its stack.
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`evochora: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await command())(rest);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`evochora ${name}: ${oneLine(e.message)}`);
      return e.exitCode;
    }
    if (e instanceof AssemblyError || e instanceof ConfigError) {
      console.error(`evochora ${name}: ${oneLine(e.message)}`);
      return 2;
    }
    // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for bad flags.
    const code = (e as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      const message = oneLine((e as Error).message).replace(/\.$/, "");
      console.error(`evochora ${name}: ${message}; see 'evochora ${name} --help'`);
      return 2;
    }
    throw e;
  }
}

/** A message as one line: the CLI's errors are one line each, whatever produced them. */
function oneLine(message: string): string {
  return message.trim().replace(/\s*\n\s*/g, " ");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
