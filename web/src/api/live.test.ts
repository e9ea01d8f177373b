import { describe, expect, it } from "vitest";
import { ApiClient } from "./client";
import { applySnapshot, chartSeries, EMPTY_HISTORY, followLive, gapText, parseSse, type LiveDriver, type LiveSnapshot, type LiveStatus } from "./live";

function driver(n: number, code: string, pWin: number, extra: Partial<LiveDriver> = {}): LiveDriver {
  return {
    driver_number: n, driver_code: code, team: "T", position: n, laps_completed: 10, running: true,
    gap_to_leader_s: n === 1 ? 0 : n * 1.5, interval_s: null, laps_down: 0, last_lap_time_s: 80, compound: "MEDIUM",
    tyre_age_laps: 10, stops: 0, grid_position: n, p_win: pWin, p_podium: 0.5, expected_position: n, ...extra,
  };
}

function snap(lap: number, session = "2024-08", pWins = [0.7, 0.2, 0.1], finished = false): LiveSnapshot {
  return {
    model: "live_v1", session, source: "replay", race_id: session, session_key: null, lap, total_laps: 78,
    laps_remaining: 78 - lap, finished, track_status: [], weather: null, updated_at: "2024-05-26T13:00:00Z",
    known_inputs: `laps 1-${lap}`, drivers: pWins.map((p, i) => driver(i + 1, ["LEC", "PIA", "SAI"][i], p)), updates: [],
  };
}

describe("parseSse", () => {
  it("splits complete events, keeps the unfinished rest, skips comments and retry", () => {
    const text = "retry: 2000\n\nid: 2024-08:1\nevent: lap\ndata: {\"lap\":1}\n\n: keep-alive\n\nid: 2024-08:2\r\nevent: lap\r\ndata: {\"lap\"";
    const { events, rest } = parseSse(text);
    expect(events).toEqual([{ id: "2024-08:1", event: "lap", data: "{\"lap\":1}" }]);
    expect(rest).toBe("id: 2024-08:2\nevent: lap\ndata: {\"lap\"");
    const more = parseSse(rest + ":2}\n\nevent: end\ndata: {}\n\n");
    expect(more.events.map((e) => [e.id, e.event, e.data])).toEqual([["2024-08:2", "lap", "{\"lap\":2}"], [null, "end", "{}"]]);
    expect(more.rest).toBe("");
  });
  it("joins multi-line data", () => {
    expect(parseSse("data: a\ndata: b\n\n").events).toEqual([{ id: null, event: "message", data: "a\nb" }]);
  });
});

describe("live history", () => {
  it("keeps the latest lap, records P(win) per lap and restarts on a new session", () => {
    let h = applySnapshot(EMPTY_HISTORY, snap(1));
    h = applySnapshot(h, snap(3, "2024-08", [0.5, 0.45, 0.05]));
    h = applySnapshot(h, snap(2));  // a late, older lap: charted, not the latest
    expect(h.latest?.lap).toBe(3);
    const series = chartSeries(h, 2);
    expect(series.drivers).toEqual(["LEC", "PIA"]);
    expect(series.rows.map((r) => r.lap)).toEqual([1, 2, 3]);
    expect(series.rows[2]).toEqual({ lap: 3, LEC: 0.5, PIA: 0.45 });
    const next = applySnapshot(h, snap(1, "2024-09"));
    expect(next.pWin.size).toBe(1);
    expect(next.latest?.session).toBe("2024-09");
  });
  it("writes gaps as the CLI does", () => {
    expect(gapText(driver(1, "LEC", 1), 10)).toBe("leader");
    expect(gapText(driver(2, "PIA", 0, { gap_to_leader_s: 1.2345 }), 10)).toBe("+1.234");
    expect(gapText(driver(5, "X", 0, { gap_to_leader_s: null, laps_down: 2 }), 10)).toBe("+2 laps");
    expect(gapText(driver(9, "Y", 0, { running: false, laps_completed: 4 }), 10)).toBe("out");
  });
});

describe("followLive", () => {
  function streamResponse(chunks: string[]): Response {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  }

  it("streams laps, resumes with Last-Event-ID after a dropped connection, stops at end", async () => {
    const calls: Array<Record<string, string>> = [];
    const answers = [
      streamResponse([`id: 2024-08:1\nevent: lap\ndata: ${JSON.stringify(snap(1))}\n\n`, "id: 2024-08:2\nevent: lap\nda"]),
      streamResponse([`id: 2024-08:2\nevent: lap\ndata: ${JSON.stringify(snap(2, "2024-08", undefined, true))}\n\nevent: end\ndata: {}\n\n`]),
    ];
    const client = new ApiClient("pw_key", "http://x", async (_url, init) => {
      calls.push(init?.headers as Record<string, string>);
      return answers.shift()!;
    });
    const laps: number[] = [];
    const statuses: LiveStatus[] = [];
    const abort = new AbortController();
    await followLive(client, "live_v1", "stream", { onSnapshot: (s) => laps.push(s.lap), onStatus: (s) => statuses.push(s), onError: (e) => { throw e; } }, abort.signal);
    expect(laps).toEqual([1, 2]);
    expect(calls.map((h) => h["last-event-id"])).toEqual([undefined, "2024-08:1"]);
    expect(calls[0]["x-api-key"]).toBe("pw_key");
    expect(statuses.at(-1)).toBe("finished");
  });

  it("polls with since= and reports waiting while nothing is published", async () => {
    const urls: string[] = [];
    const abort = new AbortController();
    const bodies: Array<[number, unknown]> = [
      [404, { error: { code: "no_live_updates", message: "none yet", field: "model" } }],
      [200, { ...snap(5), updates: [] }],
      [200, { ...snap(5), updates: [snap(1), snap(2), snap(3), snap(4), snap(5)] }],
      [200, { ...snap(7), updates: [snap(6), snap(7)] }],
    ];
    const client = new ApiClient("k", "", async (url) => {
      urls.push(url);
      const [status, body] = bodies.shift() ?? [200, snap(7)];
      if (!bodies.length) abort.abort();
      return new Response(JSON.stringify(body), { status });
    });
    const laps: number[] = [];
    const statuses: LiveStatus[] = [];
    await followLive(client, "live_v1", "poll", { onSnapshot: (s) => laps.push(s.lap), onStatus: (s) => statuses.push(s), onError: (e) => { throw e; } }, abort.signal, 1);
    expect(statuses).toContain("waiting");
    expect(urls.slice(1)).toEqual(["/api/v1/live/live_v1", "/api/v1/live/live_v1?since=0", "/api/v1/live/live_v1?since=5"]);
    expect(laps).toEqual([1, 2, 3, 4, 5, 5, 6, 7, 7]);
  });
});
