// The monitoring view's logic: the drift table's order and verdicts, the live record's chart rows,
// and the live verified record set beside the backtest (the registry's holdout metrics).
import type { ColumnDrift, DriftReport, LiveRecord, Metrics, RecordRace } from "./types";

export interface DriftRow extends ColumnDrift {
  drifted: string | null; // why the feature counts as drifted (null: it does not)
}

/** Features for the drift table: drifted first, then the model's top features, then by PSI (largest first). */
export function driftRows(drift: DriftReport | null): DriftRow[] {
  if (!drift) return [];
  const reasons = drift.drifted_features ?? {};
  const rank = (f: ColumnDrift) => (reasons[f.name] ? 0 : f.top ? 1 : 2);
  return drift.features
    .map((f) => ({ ...f, drifted: reasons[f.name] ?? null }))
    .sort((a, b) => rank(a) - rank(b) || (b.psi ?? -1) - (a.psi ?? -1) || a.name.localeCompare(b.name));
}

export interface RecordPoint {
  race: string;
  value: number | null;
  baseline: number | null;
  cumulative: number | null;
  baseline_cumulative: number | null;
}

/** One chart point per scored race, in race order. */
export function recordPoints(record: LiveRecord): RecordPoint[] {
  return [...record.races]
    .sort((a, b) => a.race_id.localeCompare(b.race_id))
    .map((r) => ({ race: r.race_id, value: r.value, baseline: r.baseline, cumulative: r.cumulative, baseline_cumulative: r.baseline_cumulative }));
}

export type Verdict = "better" | "worse" | "equal" | null;

/** `a` compared with `b` for a metric going `direction` (null when either is unknown). */
export function compare(a: number | null | undefined, b: number | null | undefined, direction: RecordRace["direction"]): Verdict {
  if (a === null || a === undefined || b === null || b === undefined || !direction) return null;
  if (a === b) return "equal";
  return (direction === "maximize" ? a > b : a < b) ? "better" : "worse";
}

export interface LiveVsBacktest {
  metric: string | null;
  direction: RecordRace["direction"] | undefined;
  n_races: number;
  live: number | null; // mean per-race metric over the live verified races
  live_baseline: number | null; // the template's naive baseline on the same races
  backtest: number | null; // the registry's holdout metric of the model (backtest verified)
  backtest_baseline: number | null;
  vs_baseline: Verdict; // live record vs the baseline on the same races
  vs_backtest: Verdict; // live record vs what the backtest promised
}

/** The live verified record beside the backtest: same metric, never mixed with reconstructed races. */
export function liveVsBacktest(live: LiveRecord, metrics: Metrics = {}, baselineMetrics: Metrics = {}): LiveVsBacktest {
  const metric = live.metric;
  const direction = live.races.find((r) => r.direction)?.direction;
  const pick = (table: Metrics, name: string | null, prefix: string) =>
    name === null ? null : (table[name] ?? table[`${prefix}${name}`] ?? null);
  const backtest = pick(metrics, metric, "test_");
  const backtestBaseline = pick(baselineMetrics, metric, "") ?? pick(metrics, metric, "baseline_");
  return {
    metric,
    direction,
    n_races: live.n_races,
    live: live.cumulative,
    live_baseline: live.baseline_cumulative,
    backtest,
    backtest_baseline: backtestBaseline,
    vs_baseline: compare(live.cumulative, live.baseline_cumulative, direction),
    vs_backtest: compare(live.cumulative, backtest, direction),
  };
}
