/**
 * `deno task test:system`: the distributed deployment under faults, on hosts that are network
 * namespaces on a private bridge (tests/system/_netns.ts): `infra` (a Kafka broker and
 * SeaweedFS S3 bound to its own address), `sim` (engine, metadata persistence), `work1` and
 * `work2` (two persistence workers each) and `view` (three indexers, the API). Every service
 * is its own least-privilege process; nothing crosses 127.0.0.1 between hosts.
 *
 * First a run without faults (its ticks/s is the yardstick), then one long run under a seeded
 * fault schedule: persistence workers SIGKILLed and restarted, work1 cut off, the broker and
 * S3 stopped and restarted, the engine host killed and the run resumed, a poison record, the
 * view host killed and restarted. Each run must end verified (see ./_run.ts); a table of the
 * faults and both runs' ticks/s is printed. Needs root; fails (never skips) without it.
 *
 *   deno task test:system [--seed N]
 *   EVOCHORA_SYSTEM_SEED=N EVOCHORA_SYSTEM_FAULTS=broker-restart,poison deno task test:system
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Netns, removeLeftovers, requireNetns } from "./_netns.ts";
import { Infra } from "./_infra.ts";
import { KafkaProbe } from "./_probe.ts";
import { type Deployment, PLACEMENT } from "./_deployment.ts";
import { parseFaultKinds, planFaults, scheduleMs } from "./_faults.ts";
import { runOnHosts, type RunResult } from "./_run.ts";
import { printTable } from "./_table.ts";

const SAMPLING = 5;
/** The run without faults (the run under faults is as long as its schedule needs). */
const CLEAN_TICKS = 20_000;
/** Bounds the verification's work (every batch is read and decoded). */
const MAX_FAULT_TICKS = 300_000;

function seedOf(): number {
  const { values } = parseArgs({ args: Deno.args, options: { seed: { type: "string" } } });
  const raw = values.seed ?? Deno.env.get("EVOCHORA_SYSTEM_SEED");
  if (raw === undefined || raw === "") return Math.floor(Math.random() * 2 ** 31);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`--seed '${raw}': not an integer >= 0`);
  return n;
}

async function main(): Promise<void> {
  const seed = seedOf();
  const kinds = parseFaultKinds(Deno.env.get("EVOCHORA_SYSTEM_FAULTS"));
  const schedule = planFaults(seed, kinds);
  console.log(`system test: seed ${seed} (replay: deno task test:system --seed ${seed})`);
  console.log(
    `fault schedule: ${
      schedule.map((f) => `${f.kind}${f.worker ? `(${f.worker})` : ""}+${f.downMs}ms`).join(", ")
    }`,
  );
  await requireNetns();
  const removed = await removeLeftovers();
  if (removed.length > 0) console.log(`removed leftovers of crashed runs: ${removed.join(", ")}`);
  const t0 = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "evochora-netns-" });
  const net = await Netns.create({ hosts: ["infra", ...Object.keys(PLACEMENT)] });
  const deployments: Deployment[] = [];
  const infra = new Infra({
    host: net.host("infra").address,
    runDir: `${dir}/infra`,
    launcher: net.launcher("infra"),
  });
  let probe: KafkaProbe | undefined;
  const teardown = async () => {
    for (const d of deployments) await d.stopAll(5000).catch(() => {});
    await probe?.close();
    await infra.stop();
  };
  net.atInterrupt(teardown);
  let ok = false;
  try {
    console.log(`hosts: ${[...net.hosts.values()].map((h) => `${h.name}=${h.address}`).join(" ")}`);
    await infra.provision();
    await Promise.all([infra.startKafka(), infra.startS3()]);
    probe = await KafkaProbe.open(infra.env.KAFKA_BOOTSTRAP_SERVERS!);
    const common = {
      seed,
      net,
      infra,
      probe,
      dir,
      onDeployment: (d: Deployment) => deployments.push(d),
    };
    const stamp = net.suffix;
    const clean = await runOnHosts({
      ...common,
      label: "no faults",
      tag: `clean-${stamp}`,
      run: { ticks: CLEAN_TICKS, sampling: SAMPLING },
      faults: [],
    });
    // Long enough that the engine produces through the whole schedule, at the clean run's pace.
    const ticks = Math.min(
      MAX_FAULT_TICKS,
      Math.max(
        40_000,
        Math.round(clean.ticksPerSecond * (scheduleMs(schedule) + 20_000) / 1e6) * 1000,
      ),
    );
    const faulty = await runOnHosts({
      ...common,
      label: "under faults",
      tag: `faults-${stamp}`,
      run: { ticks, sampling: SAMPLING },
      faults: schedule,
    });
    printTable(seed, [clean, faulty] as RunResult[]);
    ok = true;
    console.log(
      `system test: passed in ${((performance.now() - t0) / 1000).toFixed(0)} s (seed ${seed})`,
    );
  } catch (e) {
    for (const d of deployments) for (const p of d.processes) console.error(p.describe());
    console.error(`system test: FAILED (seed ${seed}; logs in ${dir}): ${(e as Error).stack}`);
  } finally {
    await teardown();
    await net.remove();
    if (ok) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  if (!ok) Deno.exit(1);
}

await main();
