import { describe, expect, it } from "vitest";
import { ApiClient, buildUrl } from "./client";
import { ApiError } from "./errors";

interface Call { url: string; init?: RequestInit }

function fake(responses: { status: number; body?: unknown; headers?: Record<string, string> }[]) {
  const calls: Call[] = [];
  const fetcher = async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    const r = responses.shift() ?? { status: 500 };
    return new Response(r.body === undefined ? "" : JSON.stringify(r.body), { status: r.status, headers: r.headers });
  };
  return { calls, fetcher };
}

describe("buildUrl", () => {
  it("joins the base, /api/v1 and the query, dropping empty values", () => {
    expect(buildUrl("", "/models")).toBe("/api/v1/models");
    expect(buildUrl("https://x.example/", "/data/races", { season: 2024, empty: "", none: undefined })).toBe(
      "https://x.example/api/v1/data/races?season=2024",
    );
  });
});

describe("ApiClient", () => {
  it("sends the key as x-api-key and JSON bodies, only to /api/v1", async () => {
    const { calls, fetcher } = fake([{ status: 202, body: { job_id: "j1", status: "queued" } }]);
    const client = new ApiClient("pw_secret", "", fetcher);
    const job = await client.startJob({ template: "race_winner", name: "rw" });
    expect(job.job_id).toBe("j1");
    expect(calls[0].url).toBe("/api/v1/jobs");
    expect(calls[0].init?.method).toBe("POST");
    const headers = calls[0].init?.headers as Record<string, string>;
    expect(headers["x-api-key"]).toBe("pw_secret");
    expect(headers["content-type"]).toBe("application/json");
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ template: "race_winner", name: "rw" });
  });

  it("encodes path parameters", async () => {
    const { calls, fetcher } = fake([{ status: 200, body: { race: {}, results: [] } }]);
    await new ApiClient("k", "", fetcher).raceResult("monaco 2024/x");
    expect(calls[0].url).toBe("/api/v1/data/races/monaco%202024%2Fx");
  });

  it("throws the API's own error with code, field and Retry-After", async () => {
    const body = { error: { code: "training_jobs_quota_exceeded", message: "training jobs limit of 5 per day reached", field: null } };
    const { fetcher } = fake([{ status: 429, body, headers: { "retry-after": "3600" } }]);
    const err = await new ApiClient("k", "", fetcher).startJob({ template: "t", name: "n" }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    expect(err.code).toBe("training_jobs_quota_exceeded");
    expect(err.message).toBe("training jobs limit of 5 per day reached");
    expect(err.retryAfterSeconds).toBe(3600);
  });

  it("retries a rate-limited request after Retry-After; a write only when the request rate refused it", async () => {
    const limited = { status: 429, body: { error: { code: "rate_limited", message: "rate limit" } }, headers: { "retry-after": "1" } };
    const read = fake([limited, { status: 200, body: { models: [] } }]);
    expect(await new ApiClient("k", "", read.fetcher).models()).toEqual({ models: [] });
    expect(read.calls).toHaveLength(2);
    const write = fake([limited, { status: 200, body: { model: "m" } }]); // refused before anything was done
    expect(await new ApiClient("k", "", write.fetcher).deploy("m")).toEqual({ model: "m" });
    expect(write.calls).toHaveLength(2);
    const throttled = fake([{ status: 429, body: { message: "Too Many Requests" } }, { status: 200, body: {} }]); // API Gateway
    await new ApiClient("k", "", throttled.fetcher).deploy("m");
    expect(throttled.calls).toHaveLength(2);
    const limit = { status: 429, body: { error: { code: "deployed_models_limit", message: "tier 'free' allows 3 deployed models" } } };
    const final = fake([limit, { status: 200, body: {} }]);
    await expect(new ApiClient("k", "", final.fetcher).deploy("m")).rejects.toMatchObject({ code: "deployed_models_limit" });
    expect(final.calls).toHaveLength(1);
  });

  it("turns a network failure and a non-JSON error into ApiErrors with a message", async () => {
    const down = new ApiClient("k", "", async () => { throw new TypeError("Failed to fetch"); });
    await expect(down.health()).rejects.toMatchObject({ code: "network_error", message: expect.stringContaining("Failed to fetch") });
    const html = new ApiClient("k", "", async () => new Response("<html>", { status: 502 }));
    await expect(html.health()).rejects.toMatchObject({ status: 502, message: expect.stringContaining("HTTP 502") });
  });
});
