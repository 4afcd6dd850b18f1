/**
 * The queue: work distribution between competing consumers (Kafka's model, see queue.ts).
 *
 * @module
 */

export * from "./queue.ts";
export { MemoryQueue, type MemoryQueueOptions } from "./memory_queue.ts";
export { murmur2, partitionForKey } from "./partitioned_log.ts";
export { type ContractOptions, queueContract, type QueueFactory } from "./queue_contract.ts";
