import { describe, expect, it } from "vitest";
import { ApiError, describeError, toApiError } from "./errors";

describe("toApiError", () => {
  it("keeps the API's code, message, field and details", () => {
    const err = toApiError(422, { error: { code: "unknown_race", message: "'x_2024': no grand prix", field: "race", details: [{ field: "race", message: "m" }] } }, null);
    expect(err).toMatchObject({ status: 422, code: "unknown_race", message: "'x_2024': no grand prix", field: "race" });
    expect(err.details).toHaveLength(1);
  });
  it("reads Retry-After when the body has no retry_after_seconds", () => {
    expect(toApiError(429, { error: { code: "rate_limited", message: "slow down" } }, "2").retryAfterSeconds).toBe(2);
  });
  it("says what happened when the body is not the API's error", () => {
    expect(toApiError(500, null, null).message).toMatch(/HTTP 500/);
  });
});

describe("describeError", () => {
  it("always shows the API's message, with the field", () => {
    const view = describeError(new ApiError(400, "invalid", "cv_folds: must be at most 10", "cv_folds"));
    expect(view.message).toBe("cv_folds: must be at most 10 (field: cv_folds)");
  });
  it("explains a used-up training quota (429) instead of dumping it", () => {
    const view = describeError(new ApiError(429, "training_jobs_quota_exceeded", "training jobs limit of 5 per day reached", null, 7200));
    expect(view.title).toBe("Training quota reached");
    expect(view.message).toContain("limit of 5 per day");
    expect(view.hint).toMatch(/5 a day/);
    expect(view.hint).toMatch(/try again in 2 h/);
  });
  it("tells a request-rate 429 from a daily quota", () => {
    expect(describeError(new ApiError(429, "rate_limited", "rate limit of 5 requests/second", null, 1)).title).toBe("Too many requests");
    expect(describeError(new ApiError(429, "deployed_models_limit", "tier 'free' allows 3 deployed models")).hint).toMatch(/undeploy/);
  });
  it("maps 401 to the key and other failures to a network error", () => {
    expect(describeError(new ApiError(401, "unauthorized", "unknown API key")).title).toBe("API key not accepted");
    expect(describeError(new TypeError("Failed to fetch")).title).toBe("Network error");
  });
});
