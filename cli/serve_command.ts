/**
 * `evochora serve`: the query API and the web client over existing data, with the indexers
 * catching up on whatever batches lack their index files.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ApiService } from "../services/api/mod.ts";
import { Pipeline, type PipelineConfig, resolveConfig } from "../services/runner/mod.ts";
import { CliError, intFlag } from "./cli_error.ts";

export const SERVE_USAGE = `Usage: evochora serve [--data-dir D] [--port P] [--host H] [--no-index]

Serves the query API and the web client over the runs in D, and indexes batches that have no
index files yet. Binds 127.0.0.1 unless --host says otherwise.

Options:
  --data-dir D   root of filesystem storage (default ./data)
  --port P       port (default 8080; 0 picks a free one)
  --host H       interface to bind (default 127.0.0.1)
  --no-index     do not run the indexers
  -h, --help     show this help`;

/** The serve setup: storage, an idle topic for the indexers, indexers, API. */
export function serveConfig(
  dataDir: string,
  host: string,
  port: number,
  index: boolean,
): PipelineConfig {
  const services: PipelineConfig["services"] = {};
  if (index) {
    for (const i of ["stats", "organisms", "catalog"] as const) {
      services[`${i}-indexer`] = {
        kind: "indexer",
        index: i,
        input: "batch-topic",
        storage: "tick-storage",
      };
    }
  }
  services["http-api"] = { kind: "http-api", storage: "tick-storage", host, port };
  return {
    resources: {
      "batch-topic": { kind: "memory-topic", partitions: 1 },
      "tick-storage": { kind: "filesystem", root: dataDir },
    },
    services,
  };
}

/** Runs `evochora serve`. */
export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      "data-dir": { type: "string", default: "./data" },
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      "no-index": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const port = intFlag("port", values.port, 8080);
  if (port > 65535) throw new CliError(`--port must be 0..65535, got ${port}`);
  const dir = values["data-dir"]!;
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error();
  } catch {
    throw new CliError(`--data-dir '${dir}' is not a directory; pass the directory a run wrote to`);
  }
  const config = resolveConfig(serveConfig(dir, values.host!, port, !values["no-index"]));
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.create(config);
    await pipeline.start();
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  const api = pipeline.services.find((s): s is ApiService => s instanceof ApiService)!;
  console.log(`Evochora: ${api.url}/ (data in ${dir}); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
  await pipeline.stop(0);
  return 0;
}
