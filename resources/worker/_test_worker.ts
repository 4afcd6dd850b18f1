/**
 * A worker for worker_rpc_test.ts: answers its thread's nice value (Linux), or throws a
 * RangeError when asked to, or posts the events it is given before answering.
 *
 * @module
 */

import { threadNice } from "../../tests/fixtures/threads.ts";
import { postEvent, serveRequests } from "./worker_rpc.ts";

serveRequests<{ fail?: boolean; events?: string[] }>(({ fail, events }) => {
  if (fail === true) throw new RangeError("asked to fail");
  for (const e of events ?? []) postEvent(e);
  return { value: threadNice() };
});
