import assert from "node:assert/strict";
import { join } from "node:path";
import { checkGenerated, describeStale, listFiles, PROTO_DIR } from "../scripts/gen_proto.ts";

Deno.test("generated code matches the .proto files", async () => {
  const stale = await checkGenerated();
  assert.equal(
    stale.length,
    0,
    `proto/gen is stale; run \`deno task proto\` and commit the result:\n${describeStale(stale)}`,
  );
});

Deno.test("the stale check notices a .proto edited without regenerating", async () => {
  // A copy of the buf module (buf.yaml and the .proto tree) with one field added to tick.proto.
  const copy = await Deno.makeTempDir({ prefix: "evochora-proto-edited-" });
  try {
    const files = [
      "buf.yaml",
      ...(await listFiles(join(PROTO_DIR, "evochora")))
        .filter((f) => f.endsWith(".proto")).map((f) => `evochora/${f}`),
    ];
    for (const file of files) {
      const target = join(copy, ...file.split("/"));
      await Deno.mkdir(join(target, ".."), { recursive: true });
      await Deno.copyFile(join(PROTO_DIR, ...file.split("/")), target);
    }
    const tick = join(copy, "evochora", "v1", "tick.proto");
    const text = await Deno.readTextFile(tick);
    const edited = text.replace(
      "repeated int32 owner = 3;",
      "repeated int32 owner = 3;\n  repeated int32 age = 4;",
    );
    assert.notEqual(edited, text, "tick.proto no longer has CellColumns.owner; update this test");
    await Deno.writeTextFile(tick, edited);

    const stale = await checkGenerated({ protoDir: copy });
    assert.deepEqual(stale, [{ path: "evochora/v1/tick_pb.ts", kind: "differs" }]);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
