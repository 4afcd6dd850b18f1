import assert from "node:assert/strict";
import { FAULT_KINDS, parseFaultKinds, planFaults, WORKER_KILLS } from "./_faults.ts";

Deno.test("a fault schedule is the same for the same seed and differs for another", () => {
  const kinds = parseFaultKinds(undefined);
  assert.deepEqual(planFaults(42, kinds), planFaults(42, kinds));
  assert.notDeepEqual(planFaults(42, kinds), planFaults(43, kinds));
});

Deno.test("a full schedule has every fault, five worker kills, and the engine host's kill early", () => {
  for (let seed = 0; seed < 200; seed++) {
    const plan = planFaults(seed, FAULT_KINDS);
    assert.equal(plan.length, FAULT_KINDS.length - 1 + WORKER_KILLS);
    assert.equal(plan.filter((f) => f.kind === "worker-kill").length, WORKER_KILLS);
    assert.ok(plan.findIndex((f) => f.kind === "sim-restart") <= 1, `seed ${seed}`);
    for (const f of plan) {
      if (f.kind === "broker-restart") assert.ok(f.downMs >= 5000 && f.downMs <= 10000);
      if (f.kind === "link-down" || f.kind === "s3-restart") assert.equal(f.downMs, 10000);
      if (f.kind === "worker-kill") assert.match(f.worker ?? "", /^persistence-[1-4]$/);
    }
  }
});

Deno.test("EVOCHORA_SYSTEM_FAULTS narrows the schedule, and an unknown fault is refused by name", () => {
  assert.deepEqual(planFaults(1, parseFaultKinds("broker-restart")).map((f) => f.kind), [
    "broker-restart",
  ]);
  assert.throws(
    () => parseFaultKinds("poison,disk-full"),
    /EVOCHORA_SYSTEM_FAULTS: unknown fault 'disk-full'; the faults are worker-kill, link-down/,
  );
});
