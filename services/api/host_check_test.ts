import assert from "node:assert/strict";
import { FilesystemStorage } from "../../resources/storage/filesystem_storage.ts";
import type { ApiError } from "./api_types.ts";
import { createApp } from "./app.ts";
import { acceptedHosts, hostName, isLoopbackBind } from "./host_check.ts";

const root = await Deno.makeTempDir({ prefix: "evochora-host-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const storage = new FilesystemStorage({ root });
const loopback = createApp({ storage, allowedHosts: acceptedHosts("127.0.0.1", ["proxy.lan"])! });

async function withHost(host: string): Promise<Response> {
  return await loopback.request("http://127.0.0.1/api/runs", { headers: { host } });
}

Deno.test("a loopback server answers 421 to a Host that names another host (DNS rebinding)", async () => {
  for (const host of ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "10.0.0.1"]) {
    const res = await withHost(host);
    assert.equal(res.status, 421, host);
    assert.equal((await res.json() as ApiError).error.code, "misdirected_request");
  }
});

Deno.test("a loopback server answers loopback names, its address and allowed hosts, with any port", async () => {
  for (
    const host of [
      "localhost",
      "LOCALHOST:8080",
      "localhost.",
      "127.0.0.1",
      "127.0.0.1:65535",
      "[::1]",
      "[::1]:8080",
      "proxy.lan",
      "proxy.lan:443",
    ]
  ) {
    const res = await withHost(host);
    assert.equal(res.status, 200, host);
    await res.body?.cancel();
  }
});

Deno.test("a Host header that is no host name answers 400", async () => {
  for (const host of ["user@localhost", "localhost/x", "local host", "[::1"]) {
    const res = await withHost(host);
    assert.equal(res.status, 400, host);
    assert.equal((await res.json() as ApiError).error.code, "bad_host");
  }
});

Deno.test("loopback binds and host names are recognised", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopbackBind(h), h);
  }
  for (const h of ["0.0.0.0", "::", "192.168.1.5", "example.org", "128.0.0.1"]) {
    assert.ok(!isLoopbackBind(h), h);
  }
  assert.equal(hostName("Example.ORG:80"), "example.org");
  assert.equal(hostName("[::1]:8080"), "[::1]");
  assert.equal(hostName("a b"), null);
  assert.deepEqual(acceptedHosts("0.0.0.0"), undefined, "beyond loopback: any Host");
  assert.deepEqual(acceptedHosts("0.0.0.0", ["api.lan"]), ["api.lan"]);
  assert.ok(acceptedHosts("127.0.0.2")!.includes("127.0.0.2"), "its own address");
  assert.ok(acceptedHosts("::1")!.includes("[::1]"));
});
