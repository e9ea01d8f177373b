import { describe, expect, it } from "vitest";
import type { FeatureInfo, HyperparameterInfo, TemplateInfo } from "../api/types";
import {
  autoFeatureBases, autoFeatureNames, featureAllowed, hyperparameterErrors, initialState, quotaText, reducer, stepErrors, toJobRequest,
  type WizardState,
} from "./state";

const template = {
  name: "race_winner", title: "Race winner", task: "ranking", features: ["start_position", "quali_gap_to_pole"],
  default_algorithm: "xgboost", first_season: 1994, target: "position", moment: "pre_race",
} as unknown as TemplateInfo;

function filled(): WizardState {
  let s = reducer(initialState(), { type: "pickTemplate", template, mode: "template" });
  s = reducer(s, { type: "setSeasonRange", from: 2020, to: 2023 });
  return s;
}

const ACCEPTED = new Set(["template", "name", "algorithm", "auto_tune", "cv_folds", "seasons", "features", "experiment"]);

describe("wizard state", () => {
  it("picking a template fills its defaults", () => {
    const s = filled();
    expect(s.template).toBe("race_winner");
    expect(s.features).toEqual(["start_position", "quali_gap_to_pole"]);
    expect(s.algorithm).toBe("xgboost");
    expect(s.name).toBe("race_winner_v1");
    expect(s.seasons).toEqual([2020, 2021, 2022, 2023]);
  });

  it("does not advance past an incomplete step and says why", () => {
    const s = initialState();
    expect(reducer(s, { type: "next" }).step).toBe(0);
    expect(stepErrors(s)).toContain("Choose a model type.");
    const noSeasons = reducer({ ...filled(), step: 1, seasons: [] }, { type: "next" });
    expect(noSeasons.step).toBe(1);
    expect(stepErrors({ ...filled(), step: 3, name: "bad name!" })[0]).toMatch(/Model name/);
  });

  it("goto never skips an incomplete step", () => {
    const s = { ...filled(), features: [] };
    expect(reducer(s, { type: "goto", step: 3 }).step).toBe(2);
    expect(reducer(filled(), { type: "goto", step: 3 }).step).toBe(3);
  });

  it("toggles seasons (sorted) and features", () => {
    let s = reducer(filled(), { type: "toggleSeason", season: 2019 });
    expect(s.seasons).toEqual([2019, 2020, 2021, 2022, 2023]);
    s = reducer(s, { type: "toggleSeason", season: 2021 });
    expect(s.seasons).toEqual([2019, 2020, 2022, 2023]);
    s = reducer(s, { type: "toggleFeature", feature: "start_position" });
    expect(s.features).toEqual(["quali_gap_to_pole"]);
  });

  it("builds the job request; template defaults are not sent as a custom feature list", () => {
    const { request, notSent } = toJobRequest(filled(), ACCEPTED, template);
    expect(request).toEqual({ template: "race_winner", name: "race_winner_v1", algorithm: "xgboost", auto_tune: false, cv_folds: 3, seasons: [2020, 2021, 2022, 2023], experiment: "race_winner" });
    expect(notSent).toEqual([]);
    const custom = toJobRequest(reducer(filled(), { type: "toggleFeature", feature: "start_position" }), ACCEPTED, template);
    expect(custom.request.features).toEqual(["quali_gap_to_pole"]);
  });

  it("never sends options the API's JobRequest schema lacks, and reports them", () => {
    const s = { ...filled(), circuits: ["monaco"], autoTune: true, tuning: "grid" as const, trials: 20 };
    const { request, notSent } = toJobRequest(s, ACCEPTED, template);
    expect(request).not.toHaveProperty("circuits");
    expect(request).not.toHaveProperty("tuning");
    expect(notSent.map((n) => n.option)).toEqual(["circuit filter", "tuning method", "tuning budget"]);
    const supported = toJobRequest(s, new Set([...ACCEPTED, "circuits", "tuning", "n_trials"]), template);
    expect(supported.request).toMatchObject({ circuits: ["monaco"], tuning: "grid", n_trials: 20 });
    expect(supported.notSent).toEqual([]);
  });

  it("driver and team filters are sent for lap templates, never for a ranking of the whole field", () => {
    const all = new Set([...ACCEPTED, "drivers", "teams"]);
    const s = { ...filled(), drivers: ["charles-leclerc"], teams: ["ferrari"] };
    expect(toJobRequest(s, all, template).request).not.toHaveProperty("drivers");
    expect(toJobRequest(s, all, template).request).not.toHaveProperty("teams");
    const laps = { ...template, name: "lap_time", task: "regression" } as TemplateInfo;
    expect(toJobRequest({ ...s, template: "lap_time" }, all, laps).request).toMatchObject({ drivers: ["charles-leclerc"], teams: ["ferrari"] });
  });

  it("the conditions scenario is never a training filter", () => {
    const { request } = toJobRequest({ ...filled(), scenario: "wet" }, new Set([...ACCEPTED, "conditions", "weather"]), template);
    expect(JSON.stringify(request)).not.toMatch(/wet/);
  });

  it("auto-features: bases, generated names, checks and the job's auto_features", () => {
    expect(autoFeatureBases(template)).toEqual(["start_position", "quali_gap_to_pole", "position"]);
    expect(autoFeatureBases({ ...template, moment: "in_race" } as TemplateInfo)).toEqual([]);
    let s = reducer(filled(), { type: "toggleAutoBase", column: "start_position" });
    s = reducer(s, { type: "setAuto", patch: { lags: [2, 1, 2] } });
    expect(s.autoFeatures).toEqual({ base: ["start_position"], lags: [1, 2], windows: [3], relative: ["teammate", "field"] });
    expect(autoFeatureNames(s.autoFeatures)).toEqual([
      "start_position_lag1", "start_position_lag2", "start_position_prev3_mean", "start_position_vs_teammate", "start_position_vs_field",
    ]);
    const sent = toJobRequest(s, new Set([...ACCEPTED, "auto_features"]), template);
    expect(sent.request.auto_features).toEqual(s.autoFeatures);
    const old = toJobRequest(s, ACCEPTED, template);
    expect(old.request).not.toHaveProperty("auto_features");
    expect(old.notSent.map((n) => n.option)).toEqual(["auto-features"]);
    expect(toJobRequest(filled(), new Set([...ACCEPTED, "auto_features"]), template).request).not.toHaveProperty("auto_features");
    // the target's team-mate / field differences would read the outcome: the step says so
    const outcome = { ...reducer(s, { type: "toggleAutoBase", column: "position" }), step: 2 };
    expect(stepErrors(outcome).join(" ")).toMatch(/target 'position' would read the outcome/);
    expect(reducer(outcome, { type: "next" }).step).toBe(2);
    const lagsOnly = reducer(outcome, { type: "setAuto", patch: { relative: [] } });
    expect(stepErrors(lagsOnly)).toEqual([]);
    expect(stepErrors({ ...reducer(s, { type: "setAuto", patch: { windows: [25] } }), step: 2 })[0]).toMatch(/windows: whole numbers from 1 to 20/);
    // another template resets them
    const other = reducer(s, { type: "pickTemplate", template: { ...template, name: "podium" } as TemplateInfo });
    expect(other.autoFeatures.base).toEqual([]);
  });

  it("hyperparameters: checked like the API, sent only when set, dropped with another algorithm or 'auto'", () => {
    const space: Record<string, HyperparameterInfo[]> = {
      xgboost: [
        { name: "max_depth", kind: "int", default: 4, low: 1, high: 32, choices: [] },
        { name: "learning_rate", kind: "float", default: 0.05, low: 0.001, high: 1, choices: [] },
      ],
      random_forest: [{ name: "max_features", kind: "choice", default: "sqrt", low: null, high: null, choices: ["sqrt", "log2", 0.5, 1] }],
    };
    const accepted = new Set([...ACCEPTED, "hyperparameters", "task"]);
    let s = { ...reducer(filled(), { type: "set", patch: { space, algorithm: "xgboost" } }), step: 3 };
    expect(toJobRequest(s, accepted, template).request).not.toHaveProperty("hyperparameters");
    s = reducer(s, { type: "setHyperparameter", name: "max_depth", text: "3.5" });
    expect(hyperparameterErrors(s)).toEqual({ max_depth: "max_depth: must be a whole number; got 3.5" });
    expect(reducer(s, { type: "next" }).step).toBe(3);
    s = reducer(s, { type: "setHyperparameter", name: "max_depth", text: "99" });
    expect(stepErrors(s)).toContain("max_depth: must be between 1 and 32; got 99");
    s = reducer(s, { type: "setHyperparameter", name: "learning_rate", text: "fast" });
    expect(hyperparameterErrors(s).learning_rate).toBe("learning_rate: must be a number; got fast");
    s = reducer(reducer(s, { type: "setHyperparameter", name: "max_depth", text: "3" }), { type: "setHyperparameter", name: "learning_rate", text: " " });
    expect(stepErrors(s)).toEqual([]);
    expect(toJobRequest(s, accepted, template).request.hyperparameters).toEqual({ max_depth: 3 });
    expect(toJobRequest(s, ACCEPTED, template).notSent.map((n) => n.option)).toEqual(["hyperparameters"]);
    // a choice keeps its own type; another algorithm starts from its defaults; 'auto' has none
    let forest = reducer(s, { type: "set", patch: { algorithm: "random_forest" } });
    expect(forest.hyperparameters).toEqual({});
    forest = reducer(forest, { type: "setHyperparameter", name: "max_features", text: "0.5" });
    expect(toJobRequest(forest, accepted, template).request.hyperparameters).toEqual({ max_features: 0.5 });
    expect(hyperparameterErrors(reducer(forest, { type: "setHyperparameter", name: "max_features", text: "all" })).max_features).toMatch(/must be one of sqrt, log2, 0.5, 1/);
    const auto = { ...s, algorithm: "auto" };
    expect(hyperparameterErrors({ ...auto, hyperparameters: { max_depth: "99" } })).toEqual({});
    expect(toJobRequest({ ...auto, hyperparameters: { max_depth: "3" } }, accepted, template).request).not.toHaveProperty("hyperparameters");
  });

  it("task: the yes/no top-k option of a ranking template with top_k only", () => {
    const accepted = new Set([...ACCEPTED, "hyperparameters", "task"]);
    const podium = { ...template, name: "podium", top_k: 3 } as TemplateInfo;
    let s = reducer(initialState(), { type: "pickTemplate", template: podium });
    expect(s.topK).toBe(3);
    expect(toJobRequest(s, accepted, podium).request).not.toHaveProperty("task");
    s = reducer(s, { type: "set", patch: { yesNoTopK: true } });
    expect(toJobRequest(s, accepted, podium).request.task).toBe("classification");
    const qualifying = { ...template, name: "qualifying", top_k: null } as TemplateInfo;
    const q = reducer(s, { type: "pickTemplate", template: qualifying });
    expect(q.topK).toBeNull();
    expect(toJobRequest(q, accepted, qualifying).request).not.toHaveProperty("task");
    const dnf = { ...template, name: "dnf", task: "classification", top_k: 1 } as TemplateInfo;
    expect(reducer(s, { type: "pickTemplate", template: dnf }).topK).toBeNull();
  });

  it("a custom model may add built-in features known at the template's moment", () => {
    const feature = (name: string, moments: string[]) => ({ name, moments }) as unknown as FeatureInfo;
    expect(featureAllowed("template", template, feature("start_position", ["pre_race"]))).toBe(true);
    expect(featureAllowed("template", template, feature("career_wins", ["pre_qualifying", "pre_race"]))).toBe(false);
    expect(featureAllowed("custom", template, feature("career_wins", ["pre_qualifying", "pre_race"]))).toBe(true);
    const quali = { ...template, name: "qualifying", moment: "pre_qualifying", features: ["avg_quali_position_last_5"] } as TemplateInfo;
    expect(featureAllowed("custom", quali, feature("quali_gap_to_pole", ["pre_race"]))).toBe(false);
    const laps = { ...template, name: "lap_time", moment: "in_race" } as TemplateInfo;
    expect(featureAllowed("custom", laps, feature("career_wins", ["pre_qualifying", "pre_race"]))).toBe(false);
  });

  it("writes the quota line", () => {
    expect(quotaText(3, 5)).toBe("3 of 5 jobs left today");
    expect(quotaText(null, null)).toMatch(/Unlimited/);
  });
});
