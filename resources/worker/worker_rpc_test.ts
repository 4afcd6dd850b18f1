import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { threadNice, workerThreads } from "../../tests/fixtures/threads.ts";
import { WorkerRequestError, WorkerRpc } from "./worker_rpc.ts";

const url = new URL("./_test_worker.ts", import.meta.url);

Deno.test({
  name: "a worker runs below the priority of the thread that started it",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const rpc = new WorkerRpc<{ fail?: boolean }, number>(url, "test");
    try {
      equal(await rpc.call({}), Math.min(19, threadNice() + 5));
    } finally {
      rpc.close();
    }
  },
});

Deno.test("a worker's error reaches the caller with its name", async () => {
  const rpc = new WorkerRpc<{ fail?: boolean }, number>(url, "test");
  try {
    await rejects(
      rpc.call({ fail: true }),
      (e) =>
        e instanceof WorkerRequestError && e.errorName === "RangeError" &&
        /asked to/.test(e.message),
    );
  } finally {
    rpc.close();
  }
});

Deno.test("a worker's events reach onEvent in order, before the reply they precede", async () => {
  const seen: unknown[] = [];
  const rpc = new WorkerRpc<{ events?: string[] }, number>(url, "test", (e) => seen.push(e));
  try {
    const nice = await rpc.call({ events: ["a", "b"] });
    equal(typeof nice, "number");
    deepEqual(seen, ["a", "b"]);
  } finally {
    rpc.close();
  }
});

Deno.test({
  name: "after close() a request is refused and starts no thread",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const rpc = new WorkerRpc<{ fail?: boolean }, number>(url, "test");
    await rpc.call({});
    rpc.close();
    await new Promise((r) => setTimeout(r, 100)); // the thread is gone
    const before = workerThreads();
    await rejects(rpc.call({}), /test worker closed/);
    rpc.warmUp();
    await new Promise((r) => setTimeout(r, 100));
    ok(workerThreads() <= before, "a thread started after close()");
  },
});
