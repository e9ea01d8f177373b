// A model's metrics as two aligned tables: the model's holdout scores and the naive baseline's.
// Model records carry either `metrics` + `baseline_metrics`, or one flat table with `test_<m>`
// (holdout) and `baseline_<m>` keys (`baseline_<rule>_<m>` per named baseline rule).
import type { Metrics } from "./types";

const SKIP = new Set(["k", "n_races"]);

export interface MetricTable {
  names: string[];
  model: Metrics;
  baseline: Metrics;
}

export function splitMetrics(metrics: Metrics, baselineMetrics: Metrics = {}, primary?: string): MetricTable {
  const model: Metrics = {};
  const baseline: Metrics = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (k.startsWith("baseline_") || k.startsWith("cv_")) continue;
    const name = k.startsWith("test_") ? k.slice(5) : k;
    if (SKIP.has(name)) continue;
    if (k.startsWith("test_") || !(name in model)) model[name] = v;
  }
  for (const name of Object.keys(model)) {
    const value = baselineMetrics[name] ?? metrics[`baseline_${name}`];
    if (value !== undefined) baseline[name] = value;
  }
  const names = Object.keys(model).sort();
  if (primary && names.includes(primary)) names.splice(names.indexOf(primary), 1), names.unshift(primary);
  return { names, model, baseline };
}
