import assert from "node:assert/strict";
import type net from "node:net";
import { EndpointHealth } from "../common/endpoint_health.ts";
import { watchedSocketFactory } from "./watched_socket.ts";

/** A port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connect(health: EndpointHealth, port: number, connectionTimeoutMs = 3000): net.Socket {
  const socket = watchedSocketFactory({
    health,
    connectionTimeoutMs,
    hint: (a) => `check ${a}`,
  })({ host: "127.0.0.1", port, ssl: undefined as never, onConnect: () => {} });
  socket.on("error", () => {}); // kafkajs listens for errors too
  return socket;
}

Deno.test("a refused connection marks the broker, naming why and what to check", async () => {
  const health = new EndpointHealth({ failGraceMs: 0 });
  const port = closedPort();
  connect(health, port);
  await until("the failure", () => health.problems().length === 1);
  assert.deepEqual(
    health.problems().map((p) => [p.kind, p.address, p.reason, p.hint]),
    [["broker", `127.0.0.1:${port}`, "connection refused", `check 127.0.0.1:${port}`]],
  );
});

Deno.test("a connection whose SYNs are dropped (full backlog) times out after the connection timeout", async () => {
  const health = new EndpointHealth({ failGraceMs: 0 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  try {
    // Never accepted: once the accept queue is full the kernel drops new connection attempts.
    for (;;) {
      const c = await Promise.race([
        Deno.connect({ hostname: "127.0.0.1", port }),
        new Promise<null>((r) => setTimeout(() => r(null), 500)),
      ]);
      if (c === null) break;
      held.push(c);
    }
    const socket = connect(health, port, 1000);
    await until("the timeout", () => health.problems().length === 1);
    assert.equal(health.problems()[0]!.reason, "connection timed out after 1 s");
    socket.destroy();
  } finally {
    for (const c of held) c.close();
    listener.close();
  }
});

Deno.test("a server that closes the connection without answering is named as such", async () => {
  const health = new EndpointHealth({ failGraceMs: 0 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const accepted = listener.accept().then((c) => c.close());
    connect(health, port);
    await accepted;
    await until("the failure", () => health.problems().length === 1);
    assert.equal(
      health.problems()[0]!.reason,
      "the connection was closed before the broker answered",
    );
  } finally {
    listener.close();
  }
});

Deno.test("a connection to a broker that answered before does not mark it when it ends", async () => {
  const health = new EndpointHealth({ failGraceMs: 0 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const accepted = listener.accept();
    connect(health, port);
    assert.ok(health.unanswered("broker", `127.0.0.1:${port}`), "tried from the start");
    health.answered("broker", `127.0.0.1:${port}`); // what the client does on a response
    (await accepted).close();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(health.anyUnanswered(), false);
  } finally {
    listener.close();
  }
});
