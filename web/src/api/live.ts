// Live race mode: the snapshot type of GET /api/v1/live/{model}, the SSE parser for its stream under
// `pitwall serve`, and the page's state (latest lap + P(win) history) built from either transport.
import type { ApiClient } from "./client";

export interface LiveNextLap {
  lap: number;
  lap_time_s: number | null;
}

export interface LiveDriver {
  driver_number: number;
  driver_code: string | null;
  team: string | null;
  driver_id?: string | null;
  position: number;
  laps_completed: number;
  running: boolean;
  gap_to_leader_s: number | null;
  interval_s: number | null;
  laps_down: number;
  last_lap_time_s: number | null;
  compound: string | null;
  tyre_age_laps: number | null;
  stops: number;
  grid_position: number | null;
  p_win: number;
  p_podium: number;
  expected_position: number;
  next_lap?: LiveNextLap | null;
}

export interface LiveSnapshot {
  model: string;
  session: string;
  source: string;
  race_id: string | null;
  session_key: number | null;
  lap: number;
  total_laps: number;
  laps_remaining: number;
  finished: boolean;
  track_status: string[];
  weather: Record<string, number | boolean | null> | null;
  updated_at: string;
  known_inputs: string;
  drivers: LiveDriver[];
  updates?: LiveSnapshot[];
}

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Split an SSE text buffer into complete events (blank-line terminated) and the unfinished rest.
 * Comments (":...") and `retry:` lines are skipped; multi-line `data:` is joined with "\n". */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const text = buffer.replace(/\r\n?/g, "\n");
  const blocks = text.split("\n\n");
  const rest = blocks.pop() ?? "";
  const events: SseEvent[] = [];
  for (const block of blocks) {
    let id: string | null = null;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length || event !== "message") events.push({ id, event, data: data.join("\n") });
  }
  return { events, rest };
}

export interface LiveHistory {
  session: string | null;
  latest: LiveSnapshot | null;
  /** lap -> driver code -> P(win) */
  pWin: Map<number, Record<string, number>>;
}

export const EMPTY_HISTORY: LiveHistory = { session: null, latest: null, pWin: new Map() };

function code(d: LiveDriver): string {
  return d.driver_code ?? String(d.driver_number);
}

/** Fold one lap's snapshot into the history (a new session starts a new history; older laps are
 * recorded in the chart but never replace a later latest lap). */
export function applySnapshot(history: LiveHistory, snap: LiveSnapshot): LiveHistory {
  const fresh = history.session !== snap.session;
  const pWin = new Map(fresh ? [] : history.pWin);
  pWin.set(snap.lap, Object.fromEntries(snap.drivers.map((d) => [code(d), d.p_win])));
  const latest = !fresh && history.latest && history.latest.lap > snap.lap ? history.latest : snap;
  return { session: snap.session, latest, pWin };
}

/** Chart rows (lap order) of the drivers with the highest P(win) in the latest lap. */
export function chartSeries(history: LiveHistory, top = 5): { drivers: string[]; rows: Array<Record<string, number>> } {
  const latest = history.latest;
  if (!latest) return { drivers: [], rows: [] };
  const drivers = [...latest.drivers].sort((a, b) => b.p_win - a.p_win).slice(0, top).map(code);
  const rows = [...history.pWin.entries()]
    .sort(([a], [b]) => a - b)
    .map(([lap, p]) => ({ lap, ...Object.fromEntries(drivers.map((d) => [d, p[d] ?? 0])) }));
  return { drivers, rows };
}

export function gapText(d: LiveDriver, lap: number): string {
  if (!d.running) return d.laps_completed < lap ? "out" : "";
  if (d.position === 1) return "leader";
  if (d.gap_to_leader_s === null) return d.laps_down ? `+${d.laps_down} lap${d.laps_down > 1 ? "s" : ""}` : "";
  return `+${d.gap_to_leader_s.toFixed(3)}`;
}

export type LiveStatus = "connecting" | "streaming" | "polling" | "waiting" | "finished";

export interface FollowHandlers {
  onSnapshot: (snap: LiveSnapshot) => void;
  onStatus: (status: LiveStatus) => void;
  onError: (error: unknown) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

function isNoUpdates(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "no_live_updates";
}

/** Read one SSE response to its end; returns the last event id and whether the session ended. */
export async function readEvents(response: Response, onEvent: (e: SseEvent) => void): Promise<void> {
  if (!response.body) throw new Error("the stream has no body");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    parsed.events.forEach(onEvent);
  }
}

/** Follow a model's live updates: the SSE stream against `pitwall serve` (reconnecting with
 * Last-Event-ID), polling `?since=` every `pollMs` against the cloud (API Gateway cannot stream).
 * Waits (retrying) while the model has nothing published. Stops when `signal` aborts. */
export async function followLive(
  client: ApiClient,
  model: string,
  mode: "stream" | "poll",
  handlers: FollowHandlers,
  signal: AbortSignal,
  pollMs = 5000,
): Promise<void> {
  let lastId: string | null = null;
  let lastLap: number | undefined;
  let session: string | null = null;
  handlers.onStatus("connecting");
  while (!signal.aborted) {
    try {
      if (mode === "stream") {
        const response = await client.liveEvents(model, lastId, signal);
        handlers.onStatus("streaming");
        let ended = false;
        await readEvents(response, (e) => {
          if (e.event === "lap") {
            lastId = e.id;
            handlers.onSnapshot(JSON.parse(e.data) as LiveSnapshot);
          } else if (e.event === "end") ended = true;
        });
        if (ended) {
          handlers.onStatus("finished");
          return;
        }
      } else {
        const snap = await client.liveSnapshot(model, session === null ? undefined : lastLap, signal);
        if (snap.session !== session) {
          session = snap.session;
          (await client.liveSnapshot(model, 0, signal)).updates?.forEach(handlers.onSnapshot);
        } else snap.updates?.forEach(handlers.onSnapshot);
        handlers.onSnapshot(snap);
        lastLap = snap.lap;
        handlers.onStatus(snap.finished ? "finished" : "polling");
      }
    } catch (err) {
      if (signal.aborted) return;
      if (isNoUpdates(err)) handlers.onStatus("waiting");
      else handlers.onError(err);
    }
    await sleep(mode === "stream" ? 2000 : pollMs, signal);
  }
}
