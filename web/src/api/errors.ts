// Every failed API call becomes an ApiError carrying the API's own message
// ({"error": {"code", "message", "field"}}); describeError turns it into what the UI shows.

export interface ErrorBody {
  error?: {
    code?: string;
    message?: string;
    field?: string | null;
    retry_after_seconds?: number | null;
    details?: { field?: string | null; message: string }[] | null;
  };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | null;
  readonly retryAfterSeconds: number | null;
  readonly details: { field?: string | null; message: string }[];

  constructor(
    status: number,
    code: string,
    message: string,
    field: string | null = null,
    retryAfterSeconds: number | null = null,
    details: { field?: string | null; message: string }[] = [],
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterSeconds = retryAfterSeconds;
    this.details = details;
  }
}

/** Build an ApiError from a status, the parsed body (if JSON) and the Retry-After header. */
export function toApiError(status: number, body: unknown, retryAfter: string | null): ApiError {
  const info = (body as ErrorBody | null)?.error;
  const headerSeconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  if (info && typeof info.message === "string") {
    return new ApiError(
      status,
      info.code ?? `http_${status}`,
      info.message,
      info.field ?? null,
      info.retry_after_seconds ?? headerSeconds,
      info.details ?? [],
    );
  }
  return new ApiError(status, `http_${status}`, `The server answered HTTP ${status} without an error message.`, null, headerSeconds);
}

export interface ErrorView {
  title: string;
  message: string;
  hint: string | null;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** What to show for an error: always the API's message, plus an explanation for the common cases. */
export function describeError(err: unknown): ErrorView {
  if (!(err instanceof ApiError)) {
    const message = err instanceof Error ? err.message : String(err);
    return { title: "Network error", message, hint: "Check that the Pitwall API is reachable." };
  }
  const field = err.field ? ` (field: ${err.field})` : "";
  const message = err.message + field;
  switch (err.status) {
    case 400:
    case 422:
      return { title: "The request was not accepted", message, hint: null };
    case 401:
      return { title: "API key not accepted", message, hint: "Enter a valid API key (Sign out, then paste your key)." };
    case 403:
      return { title: "Not allowed on your tier", message, hint: "This needs the Pro tier." };
    case 404:
      return { title: "Not found", message, hint: null };
    case 409:
      return { title: "Conflict", message, hint: null };
    case 413:
      return { title: "Too large", message, hint: null };
    case 429: {
      const wait = err.retryAfterSeconds !== null ? ` You can try again in ${duration(err.retryAfterSeconds)}.` : "";
      const views: Record<string, [string, string]> = {
        rate_limited: ["Too many requests", "You are sending requests faster than your tier allows (Free: 5 per second, bursts of 10)."],
        training_jobs_quota_exceeded: ["Training quota reached", "Your tier's training jobs for today are used up: the Free tier allows 5 a day (Pro: unlimited); the counter resets at 00:00 UTC."],
        marketplace_downloads_quota_exceeded: ["Download quota reached", "The Free tier allows 20 marketplace downloads and forks a day (Pro: unlimited); the counter resets at 00:00 UTC."],
        requests_quota_exceeded: ["Daily request quota reached", "The Free tier allows 1,000 requests a day (Pro: 100,000); the counter resets at 00:00 UTC."],
        deployed_models_limit: ["Deployed-model limit reached", "The Free tier serves at most 3 models at once: undeploy one on the Deployments page, or upgrade to Pro."],
      };
      const [title, hint] = views[err.code] ?? ["Quota reached", "A limit of your tier is used up."];
      return { title, message, hint: err.code === "deployed_models_limit" ? hint : hint + wait };
    }
    case 502:
    case 503:
      return { title: "Service unavailable", message, hint: "The model endpoint or training service is not available right now." };
    default:
      return { title: `Error ${err.status}`, message, hint: null };
  }
}
