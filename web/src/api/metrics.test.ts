import { describe, expect, it } from "vitest";
import { splitMetrics } from "./metrics";

describe("splitMetrics", () => {
  it("reads separate model and baseline tables", () => {
    const t = splitMetrics({ top1_accuracy: 0.5, spearman: 0.7, k: 1, n_races: 5 }, { top1_accuracy: 0.4 }, "top1_accuracy");
    expect(t.names).toEqual(["top1_accuracy", "spearman"]);
    expect(t.baseline).toEqual({ top1_accuracy: 0.4 });
  });
  it("reads one flat table of test_ and baseline_ keys", () => {
    const t = splitMetrics({ test_mae: 1.2, baseline_mae: 1.5, baseline_grid_mae: 1.6, cv_mae: 1.1 });
    expect(t.model).toEqual({ mae: 1.2 });
    expect(t.baseline).toEqual({ mae: 1.5 });
  });
});
