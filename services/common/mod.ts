/**
 * What the pipeline's services share, and nothing else: the {@link Service} contract and its
 * one {@link Lifecycle}, the one consumer loop ({@link runConsumerLoop}), the storage layout
 * and run-id grammar, the batch record headers, dead-letter writing, the index schema and the
 * indexes' coverage of a run, the end-of-run record, run states and the format-version rule.
 * Services import this module, `proto/`, resource interfaces and their own folder; never
 * another service.
 *
 * @module
 */

export * from "./batch_record.ts";
export * from "./consumer_loop.ts";
export * from "./dead_letters.ts";
export * from "./format_version.ts";
export * from "./index_coverage.ts";
export * from "./index_schema.ts";
export * from "./lifecycle.ts";
export * from "./run_end.ts";
export * from "./run_state.ts";
export * from "./service.ts";
export * from "./storage_layout.ts";
