// Live race mode: a live model's per-lap P(win) / P(podium) / expected position, updated each lap —
// streamed (SSE) from `pitwall serve`, polled (?since=) from the cloud API, which cannot stream.
import { Badge, Button, Card, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useApi } from "../api/context";
import { applySnapshot, chartSeries, EMPTY_HISTORY, followLive, gapText, type LiveHistory, type LiveStatus } from "../api/live";
import { ErrorAlert, pct, when } from "../components/common";

const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: "connecting…",
  streaming: "live (stream)",
  polling: "live (polling)",
  waiting: "waiting for the first lap",
  finished: "session finished",
};
const COLORS = ["#c92a2a", "#1864ab", "#2b8a3e", "#e67700", "#5f3dc4"];

export function LivePage() {
  const { client } = useApi();
  const [params, setParams] = useSearchParams();
  const model = params.get("model") ?? "live_v1";
  const [draft, setDraft] = useState(model);
  const [history, setHistory] = useState<LiveHistory>(EMPTY_HISTORY);
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const abort = new AbortController();
    setHistory(EMPTY_HISTORY);
    setError(null);
    client
      .health()
      .then((h) =>
        followLive(
          client,
          model,
          h.backend === "local" ? "stream" : "poll",
          {
            onSnapshot: (snap) => { setError(null); setHistory((prev) => applySnapshot(prev, snap)); },
            onStatus: setStatus,
            onError: setError,
          },
          abort.signal,
        ),
      )
      .catch((err) => { if (!abort.signal.aborted) setError(err); });
    return () => abort.abort();
  }, [client, model]);

  const snap = history.latest;
  const { drivers: top, rows } = chartSeries(history);
  const anyNextLap = snap?.drivers.some((d) => d.next_lap) ?? false;
  return (
    <Stack>
      <Title order={1} size="h2">Live race</Title>
      <Group align="flex-end" component="form" onSubmit={(e: React.FormEvent) => { e.preventDefault(); setParams({ model: draft.trim() }); }}>
        <TextInput label="Live model" value={draft} onChange={(e) => setDraft(e.currentTarget.value)} w={240} />
        <Button type="submit" variant="light">Follow</Button>
        <Badge color={status === "waiting" ? "gray.7" : status === "finished" ? "dark" : "teal.9"} data-testid="live-status">{STATUS_TEXT[status]}</Badge>
      </Group>
      <ErrorAlert error={error} />
      {!snap ? (
        <Text size="sm">
          No lap of <code>{model}</code> yet. Locally, publish a race: <code>pitwall live replay 2024 8 --model {model} --publish --speed 20</code>;
          in the cloud the poller publishes during races.
        </Text>
      ) : (
        <>
          <Card withBorder>
            <Group justify="space-between">
              <Text fw={700} data-testid="live-lap">
                {snap.race_id ?? snap.session} — lap {snap.lap}/{snap.total_laps} ({snap.laps_remaining} to go)
              </Text>
              <Text size="sm">{snap.track_status.length ? snap.track_status.join(", ") : "green"} · updated {when(snap.updated_at)}</Text>
            </Group>
            <Text size="xs" c="dimmed">Known inputs: {snap.known_inputs}</Text>
          </Card>
          <div className="table-scroll">
            <Table striped data-testid="live-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Pos</Table.Th><Table.Th>Driver</Table.Th><Table.Th>Team</Table.Th><Table.Th>Gap</Table.Th>
                  <Table.Th>Tyre</Table.Th><Table.Th>Stops</Table.Th><Table.Th>P(win)</Table.Th><Table.Th>P(podium)</Table.Th>
                  <Table.Th>E(pos)</Table.Th>{anyNextLap && <Table.Th>Next lap (s)</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {snap.drivers.map((d) => (
                  <Table.Tr key={d.driver_number}>
                    <Table.Td>{d.position}</Table.Td>
                    <Table.Td>{d.driver_code ?? d.driver_number}</Table.Td>
                    <Table.Td>{d.team ?? ""}</Table.Td>
                    <Table.Td>{gapText(d, snap.lap)}</Table.Td>
                    <Table.Td>{(d.compound ?? "?").slice(0, 1)}{d.tyre_age_laps ?? ""}</Table.Td>
                    <Table.Td>{d.stops}</Table.Td>
                    <Table.Td>{pct(d.p_win)}</Table.Td>
                    <Table.Td>{pct(d.p_podium)}</Table.Td>
                    <Table.Td>{d.expected_position.toFixed(1)}</Table.Td>
                    {anyNextLap && <Table.Td>{d.next_lap?.lap_time_s?.toFixed(3) ?? ""}</Table.Td>}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
          <Card withBorder>
            <Title order={2} size="h4">P(win) by lap</Title>
            <div style={{ width: "100%", height: 280 }}>
              <ResponsiveContainer>
                <LineChart data={rows}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="lap" />
                  <YAxis domain={[0, 1]} />
                  <Tooltip />
                  <Legend />
                  {top.map((d, i) => <Line key={d} type="monotone" dataKey={d} stroke={COLORS[i % COLORS.length]} dot={false} isAnimationActive={false} />)}
                </LineChart>
              </ResponsiveContainer>
            </div>
          </Card>
        </>
      )}
    </Stack>
  );
}
