/**
 * The topic: notifications with consumer groups (Kafka's model, see topic.ts).
 *
 * @module
 */

export * from "./topic.ts";
export { ClosedError } from "../queue/queue.ts";
export { MemoryTopic, type MemoryTopicOptions } from "./memory_topic.ts";
export { type ContractOptions, topicContract, type TopicFactory } from "./topic_contract.ts";
