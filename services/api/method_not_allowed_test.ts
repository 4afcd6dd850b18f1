import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { ApiError } from "./api_types.ts";
import { createApp } from "./app.ts";
import { ALLOW, servesPath } from "./method_not_allowed.ts";

const root = await Deno.makeTempDir({ prefix: "evochora-405-" });
const web = await Deno.makeTempDir({ prefix: "evochora-405-web-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(root, { recursive: true });
  Deno.removeSync(web, { recursive: true });
});
await Deno.writeTextFile(`${web}/index.html`, "<!doctype html>");
await Deno.writeTextFile(`${web}/app.js`, "1");
const app = createApp({ storage: new FilesystemStorage({ root }), webRoot: web });

const PATHS = [
  "/",
  "/api/openapi.json",
  "/api/runs",
  "/api/runs/r1",
  "/api/runs/r1/ticks",
  "/api/runs/r1/world/10",
  "/api/runs/r1/organisms/10",
  "/api/runs/r1/organisms/10/3",
  "/api/runs/r1/lineage",
  "/api/runs/r1/stats",
  "/api/runs/r1/export/stats.parquet",
  "/api/runs/r1/live",
  "/api/pipeline",
  "/metrics",
  "/app.js",
];

Deno.test("methods other than GET and HEAD answer 405 with Allow and a JSON error on every route", async () => {
  for (const path of PATHS) {
    // TRACE too (schemathesis sends it over the socket), but Request refuses to build one here.
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"]) {
      const res = await app.request(path, { method });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get("allow"), ALLOW);
      const body = await res.json() as ApiError;
      assert.equal(body.error.code, "method_not_allowed");
      assert.match(body.error.message, new RegExp(`${method} is not allowed`));
    }
  }
});

Deno.test("paths no route serves still answer 404, whatever the method", async () => {
  for (const path of ["/api/nothing", "/api/runs/r1/nothing", "/missing.js", "/api/runs/"]) {
    const res = await app.request(path, { method: "POST" });
    assert.equal(res.status, 404, path);
    assert.equal((await res.json() as ApiError).error.code, "not_found");
  }
});

Deno.test("the 405 test covers every GET route of the app", () => {
  for (const route of app.routes.filter((r) => r.method === "GET")) {
    assert.ok(PATHS.some(servesPath([route])), `no 405 case for ${route.path}`);
  }
});
