import assert from "node:assert/strict";
import { metricName, renderPrometheus } from "./prometheus.ts";

Deno.test("Prometheus text: HELP and TYPE once per family, samples together, labels escaped", () => {
  const text = renderPrometheus([
    {
      name: "a_total",
      help: "A\nline",
      type: "counter",
      samples: [{ labels: { x: "1" }, value: 1 }],
    },
    { name: "b", help: "B", type: "gauge", samples: [{ labels: {}, value: NaN }] },
    {
      name: "a_total",
      help: "ignored",
      type: "counter",
      samples: [{ labels: { x: 'q"\\\n' }, value: Infinity }, { labels: { x: "1" }, value: 5 }],
    },
  ]);
  assert.equal(
    text,
    [
      "# HELP a_total A\\nline",
      "# TYPE a_total counter",
      'a_total{x="1"} 1',
      'a_total{x="q\\"\\\\\\n"} +Inf',
      "# HELP b B",
      "# TYPE b gauge",
      "b NaN",
      "",
    ].join("\n"),
  );
  assert.throws(() => renderPrometheus([{ name: "1x", help: "", type: "gauge", samples: [] }]));
  assert.throws(() =>
    renderPrometheus([{
      name: "x",
      help: "",
      type: "gauge",
      samples: [{ labels: { "a-b": "" }, value: 1 }],
    }])
  );
});

Deno.test("metric names from status keys", () => {
  assert.equal(metricName("ticksPerSecond"), "ticks_per_second");
  assert.equal(metricName("lag.persistence-1"), "lag_persistence_1");
  assert.equal(metricName("9lives"), "_9lives");
});
