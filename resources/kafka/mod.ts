/**
 * Shared Kafka client code for KafkaQueue and KafkaTopic: connection settings from options and
 * environment, the kafkajs client behind narrow interfaces, the zstd codec, topic setup, the
 * quiet log sink, the batching producer and the pull consumer.
 *
 * @module
 */

export { createKafkaClient, type CreateKafkaClientOptions } from "./client.ts";
export type {
  AdminClient,
  ConsumerClient,
  KafkaClient,
  ProducerClient,
} from "./client_interfaces.ts";
export {
  type KafkaConnectionOptions,
  resolveConnection,
  type ResolvedConnection,
} from "./connection.ts";
export { parseBrokers } from "./brokers.ts";
export type { EnvReader } from "../common/env_reader.ts";
export { ensureTopic, type EnsureTopicOptions, TopicMismatchError } from "./admin.ts";
export { type KafkaLogRecord, KafkaLogSink, type KafkaLogSummary } from "./logger.ts";
export { registerZstdCodec, zstdCodec } from "./zstd_codec.ts";
export type { KafkaLogOptions, KafkaStatus } from "./kafka_log.ts";
export { PART_COUNT, PART_INDEX, PART_MSG } from "./large_messages.ts";
export { KafkaQueue, type KafkaQueueOptions } from "./kafka_queue.ts";
export { KafkaTopic, type KafkaTopicOptions } from "./kafka_topic.ts";
