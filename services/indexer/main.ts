/**
 * The indexer service's entry point: `deno run <flags> services/indexer/main.ts --config F
 * <name>...` runs the named indexer services of config F until they finish or until
 * SIGINT/SIGTERM, then stops them cleanly (exit code 0; 1 when a service failed, 2 for bad
 * input). `evochora service` starts it with the flags of ./permissions.ts; see
 * cli/service_process.ts for the options.
 *
 * @module
 */

import { serviceProcessMain } from "../../cli/service_process.ts";

if (import.meta.main) {
  Deno.exit(await serviceProcessMain({ kind: "indexer", args: Deno.args }));
}
