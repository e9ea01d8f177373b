// The training wizard's form state: a pure reducer, per-step validation and the job request it
// becomes. Options the training API does not accept (yet) are never sent: `toJobRequest` keeps
// only fields named in the API's own JobRequest schema and reports the rest.
import type { FeatureInfo, HyperparameterInfo, JobRequest, TemplateInfo } from "../api/types";

export type Mode = "template" | "custom" | "notebook";
export type Scenario = "dry" | "wet" | "mixed";
export type Tuning = "grid" | "random" | "bayes";
export type Validation = "kfold" | "holdout" | "walk_forward";

export const STEPS = ["Model type", "Data", "Features", "Training"] as const;

export type Relative = "teammate" | "field";
export const RELATIVE: Relative[] = ["teammate", "field"];
export const MAX_LAG = 10;
export const MAX_WINDOW = 20;

/** The third feature source (pitwall.features.auto): lags, previous-race means and team-mate /
 * field differences generated from base columns; sent as the job's `auto_features`. */
export interface AutoFeatures {
  base: string[];
  lags: number[];
  windows: number[];
  relative: Relative[];
}

export function initialAutoFeatures(): AutoFeatures {
  return { base: [], lags: [1], windows: [3], relative: [...RELATIVE] };
}

/** The columns the training generates for `auto` (same names as pitwall.auto_feature_rules). */
export function autoFeatureNames(auto: AutoFeatures): string[] {
  const out: string[] = [];
  for (const b of auto.base) {
    for (const k of auto.lags) out.push(`${b}_lag${k}`);
    for (const n of auto.windows) out.push(`${b}_prev${n}_mean`);
    for (const r of auto.relative) out.push(`${b}_vs_${r}`);
  }
  return out;
}

/** Columns a template's auto-features may start from: its features and its target. */
export function autoFeatureBases(template: TemplateInfo | null): string[] {
  if (!template || template.moment === "in_race") return [];
  return [...template.features, ...(template.features.includes(template.target) ? [] : [template.target])];
}

/** Whether `feature` may be an input: the template's own features; in the custom mode also any
 * built-in feature defined at the template's moment (the training request's catalogue rule), except
 * for templates predicting within a race. */
export function featureAllowed(mode: Mode, template: TemplateInfo | null, feature: FeatureInfo): boolean {
  if (!template) return true;
  if (template.features.includes(feature.name)) return true;
  return mode === "custom" && template.moment !== "in_race" && feature.moments.includes(template.moment);
}

/** Problems of an auto-features choice (empty: fine, or none chosen). */
export function autoFeatureErrors(auto: AutoFeatures, target: string | null = null): string[] {
  if (auto.base.length === 0) return [];
  const errors: string[] = [];
  const bad = (values: number[], top: number) => values.some((v) => !Number.isInteger(v) || v < 1 || v > top);
  if (bad(auto.lags, MAX_LAG)) errors.push(`Auto-feature lags: whole numbers from 1 to ${MAX_LAG}.`);
  if (bad(auto.windows, MAX_WINDOW)) errors.push(`Auto-feature windows: whole numbers from 1 to ${MAX_WINDOW}.`);
  if (auto.lags.length + auto.windows.length + auto.relative.length === 0) errors.push("Auto-features: choose at least one lag, window or difference.");
  if (target && auto.base.includes(target) && auto.relative.length > 0)
    errors.push(`Auto-features: team-mate / field differences of the target '${target}' would read the outcome; untick them or the target.`);
  return errors;
}

/** A hyperparameter's typed value: a number for int / float, the matching choice; the text itself
 * when it is no number (the check then says so). */
export function hyperparameterValue(param: HyperparameterInfo, text: string): unknown {
  if (param.kind === "choice") return param.choices.find((c) => String(c) === text) ?? text;
  const value = Number(text.trim());
  return text.trim() === "" || Number.isNaN(value) ? text : value;
}

/** Why `text` is not accepted for `param` (null: it is), worded like the API's check. */
export function hyperparameterError(param: HyperparameterInfo, text: string): string | null {
  const value = hyperparameterValue(param, text);
  if (param.kind === "choice") {
    return param.choices.some((c) => String(c) === text) ? null : `${param.name}: must be one of ${param.choices.join(", ")}; got ${text}`;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) return `${param.name}: must be a number; got ${text}`;
  if (param.kind === "int" && !Number.isInteger(value)) return `${param.name}: must be a whole number; got ${text}`;
  if ((param.low !== null && value < param.low) || (param.high !== null && value > param.high))
    return `${param.name}: must be between ${param.low} and ${param.high}; got ${text}`;
  return null;
}

/** The chosen algorithm's settable parameters (none for "auto": AutoML picks them). */
export function algorithmHyperparameters(state: WizardState): HyperparameterInfo[] {
  return state.algorithm === "auto" ? [] : (state.space[state.algorithm] ?? []);
}

/** Per parameter name, the problem of its set value (parameters left empty use the default). */
export function hyperparameterErrors(state: WizardState): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const param of algorithmHyperparameters(state)) {
    const text = state.hyperparameters[param.name] ?? "";
    const problem = text === "" ? null : hyperparameterError(param, text);
    if (problem) errors[param.name] = problem;
  }
  return errors;
}

/** The job's `hyperparameters`: the set ones, typed (empty when none is set). */
export function hyperparameterValues(state: WizardState): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const param of algorithmHyperparameters(state)) {
    const text = state.hyperparameters[param.name] ?? "";
    if (text !== "") values[param.name] = hyperparameterValue(param, text);
  }
  return values;
}

export interface WizardState {
  step: number;
  mode: Mode;
  template: string | null;
  seasons: number[];
  circuits: string[];
  drivers: string[];
  teams: string[];
  scenario: Scenario | null;
  features: string[];
  algorithm: string;
  ensemble: boolean;
  autoTune: boolean;
  tuning: Tuning;
  trials: number;
  cvFolds: number;
  validation: Validation;
  name: string;
  experiment: string;
  autoFeatures: AutoFeatures;
  /** The chosen template's target (auto-features of it: lags and means only). */
  target: string | null;
  /** Per algorithm, the parameters a job may set (GET /templates `hyperparameters`). */
  space: Record<string, HyperparameterInfo[]>;
  /** The chosen algorithm's parameters as typed, by name; empty or absent: its default (not sent). */
  hyperparameters: Record<string, string>;
  /** The k of the template's yes/no option "finishes in the top k" (ranking templates with top_k; else null). */
  topK: number | null;
  /** Train the yes/no model of finishing in the top k instead of the ranking (sent as task "classification"). */
  yesNoTopK: boolean;
}

export function initialState(): WizardState {
  return {
    step: 0, mode: "template", template: null, seasons: [], circuits: [], drivers: [], teams: [], scenario: null,
    features: [], algorithm: "", ensemble: true, autoTune: false, tuning: "bayes", trials: 10, cvFolds: 3,
    validation: "kfold", name: "", experiment: "", autoFeatures: initialAutoFeatures(), target: null,
    space: {}, hyperparameters: {}, topK: null, yesNoTopK: false,
  };
}

export type Action =
  | { type: "pickTemplate"; template: TemplateInfo; mode?: Mode }
  | { type: "setMode"; mode: Mode }
  | { type: "toggleSeason"; season: number }
  | { type: "setSeasonRange"; from: number; to: number }
  | { type: "set"; patch: Partial<Omit<WizardState, "step">> }
  | { type: "toggleFeature"; feature: string }
  | { type: "toggleAutoBase"; column: string }
  | { type: "setAuto"; patch: Partial<AutoFeatures> }
  | { type: "setHyperparameter"; name: string; text: string }
  | { type: "next" }
  | { type: "back" }
  | { type: "goto"; step: number };

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = Math.min(from, to); s <= Math.max(from, to); s++) out.push(s);
  return out;
}

export const MAX_NAME = 64;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The problems blocking a step (empty: the step is complete). */
export function stepErrors(state: WizardState, step: number = state.step): string[] {
  const errors: string[] = [];
  if (step === 0) {
    if (!state.template) errors.push("Choose a model type.");
    if (state.mode === "notebook") errors.push("Import notebook downloads a notebook; pick a template card to train here.");
  }
  if (step === 1 && state.seasons.length === 0) errors.push("Select at least one training season.");
  if (step === 2) {
    if (state.features.length === 0) errors.push("Select at least one feature.");
    errors.push(...autoFeatureErrors(state.autoFeatures, state.target));
  }
  if (step === 3) {
    if (!NAME_RE.test(state.name)) errors.push("Model name: letters, digits, '_', '.', '-' (start with a letter or digit, at most 64).");
    if (!state.algorithm) errors.push("Choose an algorithm.");
    if (state.cvFolds < 2 || state.cvFolds > 10 || !Number.isInteger(state.cvFolds)) errors.push("Cross-validation folds: 2 to 10.");
    if (state.autoTune && (state.trials < 1 || state.trials > 200 || !Number.isInteger(state.trials))) errors.push("Tuning budget: 1 to 200 trials.");
    errors.push(...Object.values(hyperparameterErrors(state)));
  }
  return errors;
}

export function reducer(state: WizardState, action: Action): WizardState {
  switch (action.type) {
    case "pickTemplate": {
      const t = action.template;
      const mode = action.mode ?? (state.mode === "notebook" ? "template" : state.mode);
      return {
        ...state,
        mode,
        template: t.name,
        features: [...t.features],
        algorithm: t.default_algorithm,
        name: state.name && state.template === t.name ? state.name : `${t.name}_v1`,
        experiment: state.experiment && state.template === t.name ? state.experiment : t.name,
        autoFeatures: state.template === t.name ? state.autoFeatures : initialAutoFeatures(),
        target: t.target,
        hyperparameters: {},
        topK: t.task === "ranking" ? t.top_k : null,
        yesNoTopK: state.template === t.name && state.yesNoTopK,
      };
    }
    case "setMode":
      return { ...state, mode: action.mode };
    case "toggleSeason": {
      const has = state.seasons.includes(action.season);
      const seasons = has ? state.seasons.filter((s) => s !== action.season) : [...state.seasons, action.season];
      return { ...state, seasons: seasons.sort((a, b) => a - b) };
    }
    case "setSeasonRange":
      return { ...state, seasons: range(action.from, action.to) };
    case "set": {
      // another algorithm has other parameters: the typed ones are dropped
      const algorithmChanged = action.patch.algorithm !== undefined && action.patch.algorithm !== state.algorithm;
      return { ...state, ...(algorithmChanged ? { hyperparameters: {} } : {}), ...action.patch };
    }
    case "setHyperparameter":
      return { ...state, hyperparameters: { ...state.hyperparameters, [action.name]: action.text.trim() === "" ? "" : action.text } };
    case "toggleFeature": {
      const has = state.features.includes(action.feature);
      return { ...state, features: has ? state.features.filter((f) => f !== action.feature) : [...state.features, action.feature] };
    }
    case "toggleAutoBase": {
      const base = state.autoFeatures.base;
      const next = base.includes(action.column) ? base.filter((b) => b !== action.column) : [...base, action.column];
      return { ...state, autoFeatures: { ...state.autoFeatures, base: next } };
    }
    case "setAuto": {
      const patch = { ...action.patch };
      for (const key of ["lags", "windows"] as const) {
        const values = patch[key];
        if (values) patch[key] = [...new Set(values)].sort((a, b) => a - b);
      }
      return { ...state, autoFeatures: { ...state.autoFeatures, ...patch } };
    }
    case "next":
      return stepErrors(state).length ? state : { ...state, step: Math.min(state.step + 1, STEPS.length - 1) };
    case "back":
      return { ...state, step: Math.max(state.step - 1, 0) };
    case "goto": {
      // forward only through complete steps
      for (let s = 0; s < action.step; s++) if (stepErrors(state, s).length) return { ...state, step: s };
      return { ...state, step: Math.max(0, Math.min(action.step, STEPS.length - 1)) };
    }
  }
}

export interface BuiltRequest {
  request: JobRequest;
  /** Wizard options the training API does not accept, so they were not sent (name -> why). */
  notSent: { option: string; reason: string }[];
}

/** The POST /api/v1/jobs body; `accepted` = property names of the API's JobRequest schema. */
export function toJobRequest(state: WizardState, accepted: Set<string>, template: TemplateInfo | null = null): BuiltRequest {
  if (!state.template) throw new Error("no template selected");
  const request: JobRequest = {
    template: state.template,
    name: state.name,
    algorithm: state.algorithm,
    auto_tune: state.autoTune,
    cv_folds: state.cvFolds,
    seasons: [...state.seasons],
    experiment: state.experiment || state.name,
  };
  const defaults = template ? [...template.features].sort().join(",") : null;
  if (defaults === null || [...state.features].sort().join(",") !== defaults) request.features = [...state.features];
  // a ranking template ranks the whole field of each race: a subset of drivers or teams is not a race
  const field = template?.task !== "ranking";
  const hyperparameters = hyperparameterValues(state);
  const optional: [string, unknown, boolean, string][] = [
    ["circuits", state.circuits, state.circuits.length > 0, "circuit filter"],
    ["drivers", state.drivers, field && state.drivers.length > 0, "driver filter"],
    ["teams", state.teams, field && state.teams.length > 0, "team filter"],
    ["tuning", state.tuning, state.autoTune, "tuning method"],
    ["n_trials", state.trials, state.autoTune, "tuning budget"],
    ["ensemble", state.ensemble, state.algorithm === "auto", "ensemble"],
    ["validation", state.validation, state.validation !== "kfold", "validation scheme"],
    ["auto_features", { ...state.autoFeatures }, state.autoFeatures.base.length > 0, "auto-features"],
    ["hyperparameters", hyperparameters, Object.keys(hyperparameters).length > 0, "hyperparameters"],
    ["task", "classification", state.yesNoTopK && state.topK !== null, "yes/no top-k task"],
  ];
  const notSent: BuiltRequest["notSent"] = [];
  for (const [field, value, used, label] of optional) {
    if (!used) continue;
    if (accepted.has(field)) request[field] = value;
    else notSent.push({ option: label, reason: `the training API does not accept '${field}' yet` });
  }
  for (const key of Object.keys(request)) if (!accepted.has(key) && accepted.size > 0) delete request[key];
  return { request, notSent };
}

/** "3 of 5 jobs left today" (or "Unlimited training jobs"). */
export function quotaText(left: number | null, perDay: number | null): string {
  if (perDay === null || left === null) return "Unlimited training jobs (Pro)";
  return `${left} of ${perDay} job${perDay === 1 ? "" : "s"} left today`;
}
