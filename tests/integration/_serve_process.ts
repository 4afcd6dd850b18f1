/**
 * `evochora serve` as a child process on a free loopback port, for suites that talk to the API
 * over a real socket (and measure the process).
 *
 * @module
 */

import { type ServeProcess, startServeArgs } from "../fixtures/serve_process.ts";

export type { ServeProcess };

/** Starts `serve --data-dir D --port 0` with `args` added; resolves once it listens. */
export async function startServe(dataDir: string, args: string[] = []): Promise<ServeProcess> {
  return await startServeArgs(["--data-dir", dataDir, "--port", "0", ...args]);
}
