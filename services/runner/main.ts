/**
 * The entry point of a process that runs services of different kinds together: those tied
 * to each other by an in-memory queue or topic, which exists in one process only (e.g. a whole
 * in-process pipeline run as `evochora service` with a memory-queue config). Same options as
 * each service's own `main.ts` (cli/service_process.ts); any kind may be named.
 *
 * @module
 */

import { serviceProcessMain } from "../../cli/service_process.ts";

if (import.meta.main) {
  Deno.exit(await serviceProcessMain({ kind: undefined, args: Deno.args }));
}
