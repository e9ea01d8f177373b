import { describe, expect, it } from "vitest";
import { compare, driftRows, liveVsBacktest, recordPoints } from "./monitoring";
import type { ColumnDrift, DriftReport, LiveRecord } from "./types";

function column(name: string, psi: number | null, top = false): ColumnDrift {
  return {
    name, psi, ks: null, ks_pvalue: null, missing_train: 0, missing_served: 0, n_train: 100, n_served: 60,
    importance: null, top, train_mean: null, served_mean: null,
  };
}

function report(features: ColumnDrift[], drifted: Record<string, string>): DriftReport {
  return {
    version: 1, template: "race_winner", training_seasons: [2022, 2023], n_train_rows: 100, n_served_rows: 60, n_requests: 3,
    psi_threshold: 0.2, min_served_rows: 50, min_served_requests: 1, missing_threshold: 0.2, features, prediction: null, generated_at: "2024-06-01T00:00:00Z",
    served_from: null, served_to: null, status: Object.keys(drifted).length ? "drift" : "ok", note: null, drifted_features: drifted,
  };
}

const live: LiveRecord = {
  label: "live verified", n_races: 2, metric: "winner_nll", cumulative: 1.5, baseline_cumulative: 1.9,
  races: [
    { race_id: "2024-09", version: 1, metric: "winner_nll", direction: "minimize", value: 1.0, baseline: 1.8, cumulative: 1.5, baseline_cumulative: 1.9, captured_at: "2024-06-08T10:00:00+00:00" },
    { race_id: "2024-08", version: 1, metric: "winner_nll", direction: "minimize", value: 2.0, baseline: 2.0, cumulative: 2.0, baseline_cumulative: 2.0, captured_at: "2024-05-25T10:00:00+00:00" },
  ],
};

describe("driftRows", () => {
  it("lists drifted features first, then top features, then by PSI", () => {
    const rows = driftRows(report([column("a", 0.05), column("b", 0.5), column("c", 0.3, true), column("d", 0.25, true)], { d: "PSI 0.250 > 0.2" }));
    expect(rows.map((r) => r.name)).toEqual(["d", "c", "b", "a"]);
    expect(rows[0].drifted).toBe("PSI 0.250 > 0.2");
    expect(rows[1].drifted).toBeNull();
  });
  it("is empty without a report", () => {
    expect(driftRows(null)).toEqual([]);
  });
});

describe("recordPoints", () => {
  it("orders races by race id", () => {
    expect(recordPoints(live).map((p) => p.race)).toEqual(["2024-08", "2024-09"]);
  });
});

describe("compare", () => {
  it("follows the metric's direction", () => {
    expect(compare(1.0, 2.0, "minimize")).toBe("better");
    expect(compare(1.0, 2.0, "maximize")).toBe("worse");
    expect(compare(1.0, 1.0, "maximize")).toBe("equal");
    expect(compare(null, 2.0, "maximize")).toBeNull();
    expect(compare(1.0, 2.0, undefined)).toBeNull();
  });
});

describe("liveVsBacktest", () => {
  it("sets the live record beside the backtest metric of the same name", () => {
    const view = liveVsBacktest(live, { winner_nll: 1.2, top1_accuracy: 0.5 }, { winner_nll: 1.7 });
    expect(view.metric).toBe("winner_nll");
    expect([view.live, view.live_baseline, view.backtest, view.backtest_baseline]).toEqual([1.5, 1.9, 1.2, 1.7]);
    expect(view.vs_baseline).toBe("better");
    expect(view.vs_backtest).toBe("worse");
  });
  it("reads flat test_/baseline_ tables and has no verdict without live races", () => {
    const empty: LiveRecord = { label: "live verified", n_races: 0, metric: null, cumulative: null, baseline_cumulative: null, races: [] };
    expect(liveVsBacktest(empty, { test_mae: 1 }).vs_backtest).toBeNull();
    const flat = liveVsBacktest({ ...live, metric: "mae", races: live.races.map((r) => ({ ...r, direction: "minimize" as const })) }, { test_mae: 1.4, baseline_mae: 1.6 });
    expect([flat.backtest, flat.backtest_baseline]).toEqual([1.4, 1.6]);
  });
});
