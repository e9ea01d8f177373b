// The one place that talks HTTP: every call goes to `${base}/api/v1/...` with the x-api-key header.
import { ApiError, toApiError } from "./errors";
import type { LiveSnapshot } from "./live";
import type * as T from "./types";

export const API_PREFIX = "/api/v1";

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
type Query = Record<string, string | number | undefined | null>;

export function buildUrl(base: string, path: string, query?: Query): string {
  const clean = base.replace(/\/+$/, "");
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return `${clean}${API_PREFIX}${path}${qs ? `?${qs}` : ""}`;
}

/** Whether a 429 may be sent again: a read always; a write only when the request rate refused it
 * (code `rate_limited`, or API Gateway's throttle, `{"message": "Too Many Requests"}`), which
 * happens before anything is done. A used-up quota or limit is final. */
function retryable(method: string, body: unknown): boolean {
  if (method === "GET") return true;
  const b = body as { error?: { code?: string }; message?: string } | null;
  return b?.error?.code === "rate_limited" || (b?.error === undefined && b?.message === "Too Many Requests");
}

export class ApiClient {
  constructor(
    readonly apiKey: string,
    private readonly base: string = "",
    private readonly fetcher: Fetch = (i, init) => fetch(i, init),
  ) {}

  async request<R>(method: string, path: string, options: { query?: Query; body?: unknown; signal?: AbortSignal; retries?: number } = {}): Promise<R> {
    const headers: Record<string, string> = { "x-api-key": this.apiKey, accept: "application/json" };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetcher(buildUrl(this.base, path, options.query), { method, headers, body, signal: options.signal });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", `Could not reach the API: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (response.status === 429 && (options.retries ?? 2) > 0 && retryable(method, parsed)) {
      // a burst over the tier's request rate: wait as told (at most 5 s), then try again
      const wait = Number(response.headers.get("retry-after") ?? "1");
      if (Number.isFinite(wait) && wait <= 5) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait) * 1000));
        return this.request<R>(method, path, { ...options, retries: (options.retries ?? 2) - 1 });
      }
    }
    if (!response.ok) throw toApiError(response.status, parsed, response.headers.get("retry-after"));
    if (parsed === null) throw new ApiError(response.status, "bad_response", "The API answered without a JSON body.");
    return parsed as R;
  }

  private get<R>(path: string, query?: Query) {
    return this.request<R>("GET", path, { query });
  }
  private post<R>(path: string, body?: unknown) {
    return this.request<R>("POST", path, { body });
  }

  health() { return this.get<{ status: string; version: string; backend: string }>("/health"); }
  openapi() { return this.get<Record<string, any>>("/openapi.json"); }
  usage() { return this.get<T.Usage>("/usage"); }
  templates() { return this.get<T.TemplateList>("/templates"); }
  notebook(template: string) { return this.get<T.NotebookResponse>(`/templates/${encodeURIComponent(template)}/notebook`); }
  features() { return this.get<T.FeatureCatalog>("/features"); }
  dataStatus() { return this.get<T.DataStatus>("/data/status"); }
  circuits() { return this.get<{ circuits: T.CircuitInfo[] }>("/data/circuits"); }
  races(season?: number) { return this.get<{ races: T.StoredRace[] }>("/data/races", { season }); }
  raceResult(race: string) { return this.get<T.RaceResult>(`/data/races/${encodeURIComponent(race)}`); }
  entrants(since?: number) { return this.get<T.EntrantList>("/data/entrants", { since }); }

  startJob(request: T.JobRequest) { return this.post<T.JobInfo>("/jobs", request); }
  job(id: string) { return this.get<T.JobInfo>(`/jobs/${encodeURIComponent(id)}`); }
  jobs() { return this.get<{ jobs: T.JobInfo[] }>("/jobs"); }
  cancelJob(id: string) { return this.post<T.JobInfo>(`/jobs/${encodeURIComponent(id)}/cancel`); }

  models() { return this.get<{ models: T.ModelSummary[] }>("/models"); }
  model(name: string) { return this.get<T.ModelDetail>(`/models/${encodeURIComponent(name)}`); }
  report(name: string, season?: number) { return this.get<T.ModelReport>(`/models/${encodeURIComponent(name)}/report`, { season }); }
  monitoring(name: string) { return this.get<T.MonitoringView>(`/models/${encodeURIComponent(name)}/monitoring`); }
  deploy(name: string) { return this.post<T.DeploymentInfo>(`/models/${encodeURIComponent(name)}/deploy`); }
  undeploy(name: string) { return this.post<T.DeploymentInfo>(`/models/${encodeURIComponent(name)}/undeploy`); }
  predict(name: string, body: { race: string; weather?: string }) { return this.post<T.PredictResponse>(`/predict/${encodeURIComponent(name)}`, body); }
  championship(name: string, body: { season: number; simulations?: number; seed?: number; remaining_races?: boolean; after_round?: number }) {
    return this.post<T.ChampionshipResponse>(`/predict/${encodeURIComponent(name)}/championship`, body);
  }
  experiments() { return this.get<T.ExperimentList>("/experiments"); }

  listings(query: { template?: string; text?: string; sort?: string; limit?: number; next_token?: string }) {
    return this.get<T.ListingPage>("/marketplace/listings", query);
  }
  top(limit = 10) { return this.get<T.TopListings>("/marketplace/top", { limit }); }
  card(id: string) { return this.get<T.ModelCard>(`/marketplace/listings/${encodeURIComponent(id)}`); }
  publish(body: { model_name: string; title: string; description: string; reported_metrics?: T.Metrics }) {
    return this.post<T.ListingInfo>("/marketplace/listings", body);
  }
  download(id: string) { return this.post<T.DownloadInfo>(`/marketplace/listings/${encodeURIComponent(id)}/download`); }
  fork(id: string, newName?: string) {
    return this.post<T.ForkInfo>(`/marketplace/listings/${encodeURIComponent(id)}/fork`, newName ? { new_name: newName } : {});
  }
  rate(id: string, stars: number) { return this.request<T.RatingInfo>("PUT", `/marketplace/listings/${encodeURIComponent(id)}/rating`, { body: { stars } }); }

  liveSnapshot(model: string, since?: number, signal?: AbortSignal) {
    return this.request<LiveSnapshot>("GET", `/live/${encodeURIComponent(model)}`, { query: { since }, signal });
  }
  /** The live SSE stream (pitwall serve). EventSource cannot send the x-api-key header, so this is a
   * streamed fetch; `readEvents` (./live) parses it. Errors are the API's (4xx) as for every call. */
  async liveEvents(model: string, lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { "x-api-key": this.apiKey, accept: "text/event-stream" };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    let response: Response;
    try {
      response = await this.fetcher(buildUrl(this.base, `/live/${encodeURIComponent(model)}/events`), { method: "GET", headers, signal });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", `Could not reach the API: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!response.ok) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(await response.text());
      } catch {
        parsed = null;
      }
      throw toApiError(response.status, parsed, response.headers.get("retry-after"));
    }
    return response;
  }
}
