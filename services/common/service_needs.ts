/**
 * What one service needs of the outside world, stated in terms of its own config (resource
 * names, its listen address): the contract between each service's `permissions.ts` and the
 * wiring, which turns the needs into Deno permission flags (services/runner/permissions.ts)
 * knowing what each resource kind touches (a directory, brokers, an S3 endpoint).
 *
 * @module
 */

/** How a service uses one storage resource. */
export interface StorageNeed {
  /** The storage resource's name in the config. */
  resource: string;
  /** "read" only, or "write" (which includes reading: writers list and re-read what they wrote). */
  access: "read" | "write";
}

/** The needs of one service. */
export interface ServiceNeeds {
  /** The storages it reads or writes. */
  storages: readonly StorageNeed[];
  /** The queues and topics it produces to or consumes from. */
  messaging: readonly string[];
  /** The address it listens on (port 0: any free port of that host). */
  listen?: { host: string; port: number };
  /** Environment variables the service itself reads (its resources' are the wiring's). */
  env: readonly string[];
  /** Runs zstd on a worker thread, whose module the process must be allowed to load. */
  compressionWorker?: boolean;
  /** Encodes the engine's chunks on a worker thread, whose modules it must be allowed to load. */
  encoderWorker?: boolean;
  /** Derives index files on a worker thread, whose modules it must be allowed to load. */
  indexWorker?: boolean;
  /**
   * Serves the web client: from `root`, or (undefined) from the repository's web/dist, which
   * it checks against web/'s sources before serving.
   */
  web?: { root: string | undefined };
}
