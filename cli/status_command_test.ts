import assert from "node:assert/strict";
import { join } from "node:path";
import type { ClusterService } from "../services/common/cluster_status.ts";
import { renderStatusTable, statusCommand } from "./status_command.ts";
import { CliError } from "./cli_error.ts";

function service(over: Partial<ClusterService>): ClusterService {
  return {
    id: "x",
    name: "persistence-1",
    kind: "persistence",
    host: "node-a",
    pid: 4242,
    startedAt: 1,
    state: "running",
    reportedState: "running",
    metrics: {},
    lag: null,
    lastSeenAt: 0,
    ageMs: 1234,
    ...over,
  };
}

Deno.test("the status table aligns name, kind, host, pid, state (with what a waiting service waits for), lag and last seen", () => {
  const text = renderStatusTable([
    service({}),
    service({
      name: "stats-indexer",
      kind: "indexer",
      host: "node-b",
      pid: 7,
      state: "lost",
      lag: 12,
      ageMs: 15_000,
      error: "S3 down",
    }),
    service({
      name: "persistence-2",
      state: "waiting",
      reportedState: "waiting",
      detail: "waiting for broker 10.0.0.5:9092 (connection refused)",
    }),
  ]);
  assert.deepEqual(text.split("\n"), [
    "NAME           KIND         HOST    PID   STATE                                                  LAG  LAST SEEN",
    "persistence-1  persistence  node-a  4242  running                                                -    1.2 s ago",
    "stats-indexer  indexer      node-b  7     lost (S3 down)                                         12   15.0 s ago",
    "persistence-2  persistence  node-a  4242  waiting for broker 10.0.0.5:9092 (connection refused)  -    1.2 s ago",
  ]);
});

Deno.test("evochora status refuses a config without a status topic, saying what to add", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evochora-status-" });
  try {
    const file = join(dir, "c.config.ts");
    await Deno.writeTextFile(
      file,
      `export default ${
        JSON.stringify({
          resources: { s: { kind: "filesystem", root: dir } },
          services: { api: { kind: "http-api", storage: "s" } },
        })
      };\n`,
    );
    await assert.rejects(
      () => statusCommand(["--config", file]),
      (e) =>
        e instanceof CliError &&
        /names no status topic: add a kafka-topic resource/.test(e.message) &&
        /status: "status-topic"/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evochora status --help names its flags", async () => {
  const logged: string[] = [];
  const log = console.log;
  console.log = (m: string) => logged.push(m);
  try {
    assert.equal(await statusCommand(["--help"]), 0);
  } finally {
    console.log = log;
  }
  for (const flag of ["--config F", "--json", "--watch", "--wait MS"]) {
    assert.ok(logged[0]!.includes(flag), flag);
  }
});
