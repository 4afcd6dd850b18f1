import assert from "node:assert/strict";
import { makeTwoRuns } from "../../tests/fixtures/stored_run.ts";
import type { ApiError } from "./api_types.ts";
import { createApp } from "./app.ts";
import {
  type Json,
  MAX_LINEAGE_DEPTH,
  MAX_ORGANISM_ID,
  MAX_STATS_POINTS,
  MAX_TICK,
  openApiDocument,
} from "./openapi.ts";

const fx = await makeTwoRuns();
const app = createApp({ storage: fx.storage });
const doc = openApiDocument();
const run = fx.indexed;

type Obj = Record<string, Json>;

/** The schema of parameter `name` of GET `path` (inline or from components). */
function schemaOf(path: string, name: string): Obj {
  const op = doc.paths[path]!.get as Obj;
  for (const p of op.parameters as Obj[]) {
    const ref = p.$ref as string | undefined;
    const resolved = ref === undefined
      ? p
      : doc.components.parameters[ref.split("/").at(-1)!] as Obj;
    if (resolved.name === name) return resolved.schema as Obj;
  }
  throw new Error(`${path} has no parameter ${name}`);
}

/** The status of a request, and the parameter a 400 names. */
async function answer(url: string): Promise<{ status: number; parameter?: string }> {
  const res = await app.request(url);
  if (res.status !== 400) {
    await res.body?.cancel();
    return { status: res.status };
  }
  const parameter = (await res.json() as ApiError).error.parameter;
  return parameter === undefined ? { status: 400 } : { status: 400, parameter };
}

async function accepted(url: string): Promise<void> {
  const { status } = await answer(url);
  assert.notEqual(status, 400, `${url} is within the documented limits`);
}

async function refused(url: string, parameter: string): Promise<void> {
  assert.deepEqual(await answer(url), { status: 400, parameter }, url);
}

Deno.test("the document states the numeric limits of tick, id, root, depth, from, to and maxPoints", () => {
  const tick = schemaOf("/api/runs/{run}/world/{tick}", "tick");
  assert.deepEqual([tick.minimum, tick.maximum], [0, MAX_TICK]);
  const id = schemaOf("/api/runs/{run}/organisms/{tick}/{id}", "id");
  assert.deepEqual([id.minimum, id.maximum], [1, MAX_ORGANISM_ID]);
  const lineage = "/api/runs/{run}/lineage";
  assert.deepEqual([schemaOf(lineage, "root").minimum, schemaOf(lineage, "root").maximum], [
    0,
    MAX_ORGANISM_ID,
  ]);
  assert.equal(schemaOf(lineage, "depth").maximum, MAX_LINEAGE_DEPTH);
  const stats = "/api/runs/{run}/stats";
  assert.equal(schemaOf(stats, "from").maximum, MAX_TICK);
  assert.equal(schemaOf(stats, "to").maximum, MAX_TICK);
  assert.deepEqual(
    [schemaOf(stats, "maxPoints").minimum, schemaOf(stats, "maxPoints").maximum],
    [1, MAX_STATS_POINTS],
  );
  const metrics = schemaOf(stats, "metrics");
  assert.equal(metrics.minLength, 1);
  assert.equal(typeof metrics.pattern, "string");
  const runId = schemaOf("/api/runs/{run}", "run");
  assert.deepEqual([runId.minLength, runId.maxLength], [1, 128]);
});

Deno.test("the server accepts each documented bound and refuses one past it, naming the parameter", async () => {
  await accepted(`/api/runs/${run}/world/${MAX_TICK}`);
  await refused(`/api/runs/${run}/world/${MAX_TICK + 1}`, "tick");
  await accepted(`/api/runs/${run}/organisms/0/${MAX_ORGANISM_ID}`);
  await refused(`/api/runs/${run}/organisms/0/${MAX_ORGANISM_ID + 1}`, "id");
  await refused(`/api/runs/${run}/organisms/0/0`, "id");
  await accepted(`/api/runs/${run}/lineage?root=${MAX_ORGANISM_ID}`);
  await refused(`/api/runs/${run}/lineage?root=${MAX_ORGANISM_ID + 1}`, "root");
  await accepted(`/api/runs/${run}/lineage?depth=${MAX_LINEAGE_DEPTH}`);
  await refused(`/api/runs/${run}/lineage?depth=${MAX_LINEAGE_DEPTH + 1}`, "depth");
  await accepted(`/api/runs/${run}/stats?from=${MAX_TICK}&to=${MAX_TICK}`);
  await refused(`/api/runs/${run}/stats?from=${MAX_TICK + 1}`, "from");
  await refused(`/api/runs/${run}/stats?to=${MAX_TICK + 1}`, "to");
  await accepted(`/api/runs/${run}/stats?maxPoints=${MAX_STATS_POINTS}`);
  await refused(`/api/runs/${run}/stats?maxPoints=${MAX_STATS_POINTS + 1}`, "maxPoints");
  await refused(`/api/runs/${run}/stats?maxPoints=0`, "maxPoints");
  await refused(`/api/runs/${"a".repeat(129)}`, "run");
  // Empty values of the integers with a default read as absent, as allowEmptyValue says.
  for (const q of ["root=", "depth="]) await accepted(`/api/runs/${run}/lineage?${q}`);
  for (const q of ["from=", "to=", "maxPoints="]) await accepted(`/api/runs/${run}/stats?${q}`);
  const lineage = (doc.paths["/api/runs/{run}/lineage"]!.get as Obj).parameters as Obj[];
  assert.ok(lineage.filter((p) => p.in === "query").every((p) => p.allowEmptyValue === true));
});

Deno.test("the metrics and region patterns accept exactly what the server parses", async () => {
  const metrics = new RegExp(schemaOf("/api/runs/{run}/stats", "metrics").pattern as string);
  for (const ok of ["alive", "alive,born", " alive , born ", "alive,alive"]) {
    assert.match(ok, metrics);
    await accepted(`/api/runs/${run}/stats?metrics=${encodeURIComponent(ok)}`);
  }
  for (const bad of ["", ",", "alive,", "nope", "alive,,born", "ALIVE"]) {
    assert.doesNotMatch(bad, metrics, bad);
    await refused(`/api/runs/${run}/stats?metrics=${encodeURIComponent(bad)}`, "metrics");
  }
  const region = new RegExp(schemaOf("/api/runs/{run}/world/{tick}", "region").pattern as string);
  for (const ok of ["0,0,16,16", " 0 ,0,16,\t16"]) {
    assert.match(ok, region);
    await accepted(`/api/runs/${run}/world/0?region=${encodeURIComponent(ok)}`);
  }
  for (const bad of ["", "1", "a,b,c,d", "-1,0,2,2", "1.5,0,2,2", "0,0,16,1234567890", "٣,0,4,4"]) {
    assert.doesNotMatch(bad, region, bad);
    await refused(`/api/runs/${run}/world/0?region=${encodeURIComponent(bad)}`, "region");
  }
});

Deno.test("the live stream is documented as text/event-stream of progress events and one end", () => {
  const op = doc.paths["/api/runs/{run}/live"]!.get as Obj;
  const ok = (op.responses as Obj)["200"] as Obj;
  const content = ok.content as Obj;
  assert.deepEqual(Object.keys(content), ["text/event-stream"]);
  const events = ((content["text/event-stream"] as Obj).schema as Obj).oneOf as Obj[];
  const byEvent = events.map((e) => {
    const props = e.properties as Obj;
    assert.equal((props.data as Obj).contentMediaType, "application/json");
    return [props.event, (props.data as Obj).contentSchema];
  });
  assert.deepEqual(byEvent, [
    [{ const: "progress" }, { $ref: "#/components/schemas/LiveProgress" }],
    [{ const: "end" }, { $ref: "#/components/schemas/LiveEnd" }],
  ]);
  const schemas = doc.components.schemas as Obj;
  const state = ((schemas.LiveProgress as Obj).properties as Obj).state as Obj;
  assert.deepEqual(state.enum, ["running", "finished", "incomplete", "corrupt"]);
  const summary = (schemas.RunSummary as Obj).properties as Obj;
  assert.deepEqual(summary.state, state, "runs document the same states");
});

Deno.test("every operation documents 401 and 421; the sample-tick routes a 502 (corrupt_batch)", () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    const responses = (item.get as Obj).responses as Obj;
    for (const status of ["400", "401", "421", "500"]) {
      assert.ok(responses[status], `${path} documents ${status}`);
    }
  }
  for (
    const path of [
      "/api/runs/{run}/world/{tick}",
      "/api/runs/{run}/organisms/{tick}",
      "/api/runs/{run}/organisms/{tick}/{id}",
    ]
  ) {
    const bad = ((doc.paths[path]!.get as Obj).responses as Obj)["502"] as Obj;
    assert.match(bad.description as string, /corrupt_batch/, path);
    assert.deepEqual(
      ((bad.content as Obj)["application/json"] as Obj).schema,
      { $ref: "#/components/schemas/ApiError" },
    );
  }
});

Deno.test("with a token the document requires the bearer scheme; the served one follows the app", async () => {
  assert.equal(doc.security, undefined);
  const secured = openApiDocument({ token: true });
  assert.deepEqual(secured.security, [{ bearerAuth: [] }]);
  assert.deepEqual(secured.components.securitySchemes.bearerAuth, {
    type: "http",
    scheme: "bearer",
    description: "The server's access token (serve --token, or EVOCHORA_API_TOKEN)",
  });
  const token = "0123456789abcdef-token";
  const withToken = createApp({ storage: fx.storage, token });
  const res = await withToken.request("/api/openapi.json", {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.deepEqual((await res.json()).security, [{ bearerAuth: [] }]);
});
