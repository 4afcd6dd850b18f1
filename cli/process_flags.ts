/**
 * V8 flags every evochora process starts with: the `evochora`, `dev` and `service` tasks
 * (deno.json), the children of `evochora service`, and the compiled binaries. V8 reads them
 * only at process start (setting them later changes neither the running isolate nor the
 * worker threads started after), so they live on each command line.
 *
 * `--max-semi-space-size=4` (MB): V8's default lets each isolate's young generation grow to
 * 64 MB, and an in-process `run` has three isolates (the engine's thread, the zstd and the
 * indexing threads); the pipeline's large buffers are typed arrays outside that space, so the
 * smaller nursery costs scavenges of small objects only.
 *
 * @module
 */

/** The flags, as V8 takes them. */
export const V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The flags as one `deno run` / `deno compile` argument. */
export const V8_FLAGS_ARG = `--v8-flags=${V8_FLAGS.join(",")}`;
