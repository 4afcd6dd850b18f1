import assert from "node:assert/strict";
import { displayPath, displayPaths } from "./display_paths.ts";

Deno.test("absolute paths show relative below the working directory, else by their last name", () => {
  const cwd = "/home/ada/evochora";
  assert.equal(displayPath("/home/ada/evochora/data", cwd), "./data");
  assert.equal(displayPath("/home/ada/evochora/data/", cwd), "./data");
  assert.equal(displayPath("/home/ada/evochora", cwd), ".");
  assert.equal(displayPath("/tmp/evochora-x", cwd), ".../evochora-x");
  assert.equal(displayPath("/home/ada/evochora-other/data", cwd), ".../data");
  assert.equal(displayPath("C:\\Users\\ada\\data", cwd), ".../data");
  assert.equal(displayPath("/tmp/x", ""), ".../x", "without a working directory");
});

Deno.test("paths inside status texts are replaced, URLs, keys and rates are left alone", () => {
  const cwd = "/srv/app";
  assert.equal(displayPaths("filesystem /srv/app/data", cwd), "filesystem ./data");
  assert.equal(
    displayPaths("Cannot use data directory '/x/file/data': a path above it is a file", cwd),
    "Cannot use data directory '.../data': a path above it is a file",
  );
  assert.equal(
    displayPaths("ENOENT: no such file, open '/var/lib/evochora/runs/r/raw/b.pb.zst'", cwd),
    "ENOENT: no such file, open '.../b.pb.zst'",
  );
  for (
    const text of [
      "s3://bucket/root at http://127.0.0.1:8333/path",
      "runs/r/raw/000/batch_1_2.pb.zst",
      "120 ticks/s, 3 MB/s, and/or 1/2",
      "memory queue, 6 partitions",
    ]
  ) {
    assert.equal(displayPaths(text, cwd), text);
  }
});
