/**
 * What the pipeline's services share, and nothing else: the {@link Service} contract and its
 * one {@link Lifecycle}, the one consumer loop ({@link runConsumerLoop}), the storage layout
 * and run-id grammar, the chunk record headers, dead-letter writing and the index schema.
 * Services import this module, `proto/`, resource interfaces and their own folder; never
 * another service.
 *
 * @module
 */

export * from "./chunk_record.ts";
export * from "./consumer_loop.ts";
export * from "./dead_letters.ts";
export * from "./index_schema.ts";
export * from "./lifecycle.ts";
export * from "./service.ts";
export * from "./storage_layout.ts";
