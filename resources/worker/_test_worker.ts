/**
 * A worker for worker_rpc_test.ts: answers its thread's nice value (Linux), or throws a
 * RangeError when asked to, or posts the events it is given before answering.
 *
 * @module
 */

import { postEvent, serveRequests } from "./worker_rpc.ts";

/** The nice value of the calling thread, from /proc (field 19 of its stat line). */
function threadNice(): number {
  const stat = Deno.readTextFileSync("/proc/thread-self/stat");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

serveRequests<{ fail?: boolean; events?: string[] }>(({ fail, events }) => {
  if (fail === true) throw new RangeError("asked to fail");
  for (const e of events ?? []) postEvent(e);
  return { value: threadNice() };
});
