import assert from "node:assert/strict";
import type { PipelineResponse } from "./api.ts";
import { renderPipeline } from "./pipeline_panel.ts";

const BASE: PipelineResponse = { mode: "serve", services: [], resources: [] };

function clusterService(
  over: Partial<NonNullable<PipelineResponse["cluster"]>["services"][number]>,
) {
  return {
    name: "persistence-1",
    kind: "persistence",
    host: "node-a",
    pid: 41,
    state: "running",
    reportedState: "running",
    metrics: {},
    lag: null,
    lastSeenAt: 0,
    ageMs: 1500,
    ...over,
  };
}

Deno.test("the panel lists the deployment's services with host, pid, state, lag and last seen; lost in red", () => {
  const html = renderPipeline({
    ...BASE,
    cluster: {
      lostAfterMs: 10_000,
      services: [
        clusterService({}),
        clusterService({ name: "<w2>", pid: 42, state: "lost", lag: 5, ageMs: 12_300 }),
      ],
    },
  });
  const rows = html.split('data-testid="cluster-service"').slice(1);
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /node-a<\/td><td>41<\/td>.*badge ok">running/);
  assert.match(rows[0]!, /1\.5 s ago/);
  assert.match(rows[1]!, /^ class="lost"><td>&lt;w2&gt;/);
  assert.match(rows[1]!, /badge bad">lost<\/span> <span class="muted">\(was running\)/);
  assert.match(rows[1]!, /<td>5<\/td><td class="failure">12\.3 s ago/);
  assert.match(html, /lost after 10 s of silence/);
  assert.match(html, /Services of this process/);
});

Deno.test("without a cluster the panel shows no deployment table", () => {
  const html = renderPipeline(BASE);
  assert.doesNotMatch(html, /Deployment/);
  assert.match(html, /<h4>Services<\/h4>/);
});

Deno.test("a waiting service shows what it waits for, in the deployment and in this process", () => {
  const detail = "waiting for broker 10.0.0.5:9092 (connection refused)";
  const html = renderPipeline({
    ...BASE,
    services: [{ name: "p1", kind: "persistence", state: "waiting", detail, metrics: {} }],
    cluster: {
      lostAfterMs: 10_000,
      services: [clusterService({ state: "waiting", reportedState: "waiting", detail })],
    },
  });
  const cluster = html.split('data-testid="cluster-service"')[1]!;
  assert.match(
    cluster,
    /badge warn">waiting<\/span><div class="muted" data-testid="state-detail">waiting for broker 10\.0\.0\.5:9092 \(connection refused\)/,
  );
  const own = html.split('data-testid="pipeline-service"')[1]!;
  assert.match(
    own,
    /badge warn">waiting<\/span><div class="muted" data-testid="state-detail">waiting for broker/,
  );
});
