/**
 * V8 flags and allocator settings every evochora process starts with: the `evochora`, `dev`
 * and `service` tasks (deno.json), the children of `evochora service`, and the compiled
 * binaries (flags baked in; the environment is the host's, see docs/deployment.md). V8 and
 * glibc read them only at process start (setting V8 flags later changes neither the running
 * isolate nor the worker threads started after), so they live on each command line.
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

/**
 * glibc malloc settings (environment variables). The pipeline's threads (engine, zstd,
 * indexing, the runtime's own) each got an arena of their own, and buffers between 128 KiB
 * and 32 MiB were carved from arenas after glibc raised its mmap threshold: the freed holes
 * stayed resident. Two arenas and a fixed 512 KiB threshold (larger buffers are mapped and
 * unmapped whole): `run` peak 393-411 MiB against 507-515 at the same wall time (a 128 KiB
 * threshold saved as much but cost 8-12% of the time); in the 10-minute soak the engine
 * process held 170 MiB against 282, persistence 178 against 221.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "524288",
};

/** {@link MALLOC_ENV} as `NAME=value` words, as a deno.json task line starts. */
export const MALLOC_ENV_WORDS: readonly string[] = Object.entries(MALLOC_ENV).map(
  ([k, v]) => `${k}=${v}`,
);

/**
 * What a child evochora process' environment needs on top of the parent's (which it
 * inherits): the {@link MALLOC_ENV} variables the parent does not set (an operator's own
 * choice wins).
 */
export function childEnv(
  get: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Record<string, string> {
  return Object.fromEntries(Object.entries(MALLOC_ENV).filter(([k]) => get(k) === undefined));
}
