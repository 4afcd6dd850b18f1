/**
 * Kafka broker lists as configs and the environment give them (`host:port,host:port`). Apart
 * from the client (./client.ts) so that what only reads a broker list (the permissions of a
 * service process) does not load kafkajs.
 *
 * @module
 */

/** Splits a broker list (`a:1,b:2`), rejecting entries without a port. */
export function parseBrokers(list: string[] | string, source: string): string[] {
  const items = (Array.isArray(list) ? list : list.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new RangeError(`${source}: no Kafka brokers given`);
  for (const b of items) {
    if (!/^[^\s:]+:\d+$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(b)) {
      throw new RangeError(`${source}: broker "${b}" is not host:port`);
    }
  }
  return items;
}
