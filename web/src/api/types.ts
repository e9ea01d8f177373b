// Response shapes of the /api/v1 operations the UI uses (see GET /api/v1/openapi.json).

export type Metrics = Record<string, number>;

export interface Baseline { name: string; doc: string; kind: string }
export interface TemplateInfo {
  name: string; title: string; task: "ranking" | "regression" | "classification"; description: string;
  target: string; moment: string; moment_doc: string; features: string[]; scenario_inputs: string[];
  default_algorithm: string; primary_metric: string; top_k: number | null; first_season: number;
  baselines: Baseline[]; card_note: string;
}
/** One parameter a job may set for an algorithm (`hyperparameters`); int / float within low..high, choice among choices. */
export interface HyperparameterInfo {
  name: string; kind: "int" | "float" | "choice"; default: number | string | null; low: number | null; high: number | null;
  choices: (number | string)[];
}
export interface TemplateList {
  templates: TemplateInfo[]; algorithms: string[]; tuning_methods: string[];
  /** per algorithm, the parameters a job may set */
  hyperparameters: Record<string, HyperparameterInfo[]>;
}
export interface NotebookResponse { template: string; filename: string; notebook: Record<string, unknown> }

export interface FeatureInfo {
  name: string; group: string; definition: string; source: string; dtype: string; moments: string[];
  known_at: string | null; available: boolean; unavailable_reason: string | null;
}
export interface FeatureCatalog { groups: { name: string; features: FeatureInfo[] }[]; conditions: string[] }

export interface CircuitInfo { circuit_id: string; name: string; country_id: string | null; races: number; first_season: number; last_season: number }
export interface StoredRace {
  race_id: string; season: number; round: number; grand_prix_id: string | null; name: string | null;
  date: string | null; circuit_id: string | null; ref: string; has_results: boolean;
}
export interface Entrant { id: string; name: string; last_season: number }
export interface EntrantList { drivers: Entrant[]; constructors: Entrant[] }
export interface ResultRow {
  position: number | null; position_text: string | null; driver_id: string; driver_name: string | null;
  constructor_id: string | null; grid_position: number | null; points: number | null;
}
export interface RaceResult { race: StoredRace; results: ResultRow[] }
export interface DatasetStatus { dataset: string; seasons: number[]; races: number | null; rows: number }
export interface DataStatus { datasets: DatasetStatus[]; seasons: number[]; races: number; last_ingest: string | null; attribution: string }

export interface Usage {
  tenant_id: string; tier: string; day: string; training_jobs_today: number; training_jobs_per_day: number | null;
  training_jobs_left: number | null; deployed_models: number; max_deployed_models: number | null;
  marketplace_downloads_today: number; marketplace_downloads_per_day: number | null; requests_today: number; requests_per_day: number;
}

export interface JobRequest {
  template: string; name: string; algorithm?: string; auto_tune?: boolean; cv_folds?: number; seasons?: number[];
  features?: string[]; experiment?: string; idempotency_key?: string; [extra: string]: unknown;
}
export interface JobInfo {
  job_id: string; status: "queued" | "running" | "succeeded" | "failed" | "cancelled"; kind: string; model_name: string;
  template: string; created_at: string; updated_at: string; max_runtime_seconds: number; params: Record<string, unknown>;
  experiment: string | null; error: string | null; result: Record<string, unknown>;
}

export interface ModelSummary {
  name: string; latest_version: number; deployed_version: number | null; template: string; task: string;
  algorithm: string; created_at: string; metrics: Metrics;
}
export interface ModelDetail {
  name: string; version: number; deployed_version: number | null; status: "registered" | "deployed"; template: string;
  task: string; algorithm: string; target: string; features: string[]; data_window: Record<string, unknown>;
  metrics: Metrics; baseline_metrics: Metrics; params: Record<string, unknown>; auto_retrain: boolean;
  experiment: string | null; created_at: string;
  versions: { version: number; algorithm: string; created_at: string; metrics: Metrics; experiment: string | null; job_id: string | null }[];
}
export interface RaceScore { race_id: string; season: number; round: number; name: string | null; model: number | null; baseline: number | null }
export interface ModelReport {
  model: string; version: number; template: string; metric: string; higher_is_better: boolean; season: number;
  out_of_sample: boolean; holdout?: boolean; importance: Record<string, number>; metrics: Metrics; baseline_metrics: Metrics;
  races: RaceScore[]; confusion_labels: string[] | null; confusion_matrix: number[][] | null;
  calibration?: { low: number; high: number; predicted: number; observed: number; count: number }[] | null;
}
export interface DeploymentInfo { model: string; version: number | null; backend: string; endpoint: string | null; status: string }

export interface Prediction {
  driver_id: string | null; race_id: string | null; rank: number | null; score: number | null; probability: number | null;
  value: number | null; label: string | null; probabilities: Record<string, number> | null;
}
export interface PredictResponse {
  model: string; version: number; template: string; kind: string; top_k: number | null;
  race: { race_id: string; season: number; round: number; grand_prix_id: string | null; name: string | null; date: string | null; known_inputs?: string | null } | null;
  moment?: string | null; notes?: string[]; unknown_inputs?: string[];
  predictions: Prediction[];
}
export interface ChampionshipResponse {
  model: string; version: number; season: number; after_round: number; simulated_rounds: number[]; simulations: number;
  points_system: string;
  drivers: { driver_id: string; constructor_id: string | null; current_points: number; expected_points: number; title_probability: number }[];
  constructors: { constructor_id: string; current_points: number; expected_points: number; title_probability: number }[];
}

export interface ListingRejection { code: string; field: string; message: string }
export type ListingStatus = "verifying" | "listed" | "rejected";
export interface ListingInfo {
  listing_id: string; status: ListingStatus; rejection?: ListingRejection | null; author_tenant_id: string; model_name: string; model_version: number; title: string; description: string;
  template: string; task: string; algorithm: string; features: string[]; target: string; data_window: Record<string, unknown>;
  verified: boolean; verified_metrics: Metrics; verified_at: string; reported_metrics: Metrics; baseline_metrics: Metrics;
  feature_importance: Record<string, number> | null; sha256: string; created_at: string; downloads: number;
  rating_avg: number | null; rating_count: number;
}
export interface ModelCard extends Omit<ListingInfo, "sha256"> { metrics_note: string; my_rating: number | null }
export interface ListingPage { listings: ListingInfo[]; next_token: string | null }
export interface TopListings { listings: { listing: ListingInfo; downloads_7d: number; ratings_7d: number }[] }
export interface DownloadInfo {
  listing_id: string; model_name: string; model_version: number; file_name: string; sha256: string; bundle_sha256: string;
  size_bytes: number; downloads: number; bundle_base64: string | null; url: string | null;
}
export interface ForkInfo { model: string; version: number; template: string; algorithm: string; created_at: string }
export interface RatingInfo { listing_id: string; stars: number; rating_avg: number | null; rating_count: number }
export interface ExperimentList { experiments: { name: string; job_ids: string[]; model_names: string[]; last_activity: string }[] }

// GET /models/{model}/monitoring (pitwall.monitoring.summary): the monitoring job's latest summary.
export interface RecordRace {
  race_id: string; version: number; metric: string; direction?: "maximize" | "minimize"; value: number | null;
  baseline: number | null; cumulative: number | null; baseline_cumulative: number | null; captured_at: string | null;
}
export interface LiveRecord {
  label: string; n_races: number; metric: string | null; cumulative: number | null; baseline_cumulative: number | null;
  races: RecordRace[];
}
export interface ColumnDrift {
  name: string; psi: number | null; ks: number | null; ks_pvalue: number | null; missing_train: number; missing_served: number;
  n_train: number; n_served: number; importance: number | null; top: boolean; train_mean: number | null; served_mean: number | null;
}
export interface DriftReport {
  version: number; template: string; training_seasons: number[]; n_train_rows: number; n_served_rows: number; n_requests: number;
  psi_threshold: number; min_served_rows: number; min_served_requests: number; missing_threshold: number; features: ColumnDrift[]; prediction: ColumnDrift | null;
  generated_at: string; served_from: string | null; served_to: string | null; status: "ok" | "drift" | "insufficient_data";
  note: string | null; drifted_features: Record<string, string>;
}
export interface MonitoringAlert { kind: string; model: string; version: number; message: string; raised_at: string; details: Record<string, unknown> }
export interface MonitoringView {
  tenant_id: string; model: string; generated_at: string | null; settings: Record<string, number | string>;
  drift: DriftReport | null; live_verified: LiveRecord; reconstructed: LiveRecord; alerts: MonitoringAlert[];
}
