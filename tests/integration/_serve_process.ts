/**
 * `evochora serve` as a child process on a free loopback port, for suites that talk to the API
 * over a real socket (and measure the process).
 *
 * @module
 */

import { cliCommand } from "../fixtures/cli_process.ts";

/** A running `serve`. */
export interface ServeProcess {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  pid: number;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `serve --data-dir D --port 0` with `args` added; resolves once it listens. */
export async function startServe(dataDir: string, args: string[] = []): Promise<ServeProcess> {
  const child = cliCommand(["serve", "--data-dir", dataDir, "--port", "0", ...args], {
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Exited already.
    }
    await lines.cancel().catch(() => {});
    await child.status;
  };
  let seen = "";
  const deadline = setTimeout(() => stop(), 120_000);
  try {
    while (true) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`serve exited before listening:\n${seen}`);
      seen += value;
      const m = /Evochora: (http:\/\/[^\s/]+)\//.exec(seen);
      if (m !== null) {
        // Keep reading, so that a full pipe never blocks the server.
        (async () => {
          while (!(await lines.read().catch(() => ({ done: true }))).done) { /* drain */ }
        })();
        return { url: m[1]!, pid: child.pid, stop };
      }
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(deadline);
  }
}
