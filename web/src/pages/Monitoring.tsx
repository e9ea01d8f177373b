// Model monitoring of a deployed model: drift per feature vs the training window, the live verified
// race-by-race record beside the backtest (reconstructed races apart, never labelled live), alerts.
import { Badge, Card, Group, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useNavigate, useParams } from "react-router-dom";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useLoad } from "../api/context";
import { driftRows, liveVsBacktest, recordPoints, type Verdict } from "../api/monitoring";
import type { DriftReport, LiveRecord, ModelDetail, MonitoringView } from "../api/types";
import { Empty, ErrorAlert, Loading, metric, num, pct, when } from "../components/common";

const STATUS_COLOR: Record<string, string> = { ok: "teal.9", drift: "red.9", insufficient_data: "gray.7" };
const VERDICT_TEXT: Record<string, string> = { better: "better than", worse: "worse than", equal: "level with" };

function verdict(v: Verdict, what: string): string {
  return v === null ? `not comparable with ${what}` : `${VERDICT_TEXT[v]} ${what}`;
}

function Stat({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">{label}</Text>
      <Text fw={700} size="lg">{value}</Text>
      {note && <Text size="xs">{note}</Text>}
    </Card>
  );
}

function RecordTable({ record, testId }: { record: LiveRecord; testId: string }) {
  return (
    <div className="table-scroll">
      <Table striped data-testid={testId}>
        <Table.Thead>
          <Table.Tr><Table.Th>Race</Table.Th><Table.Th>Version</Table.Th><Table.Th>Model</Table.Th><Table.Th>Baseline</Table.Th><Table.Th>Cumulative</Table.Th><Table.Th>Captured</Table.Th></Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {record.races.map((r) => (
            <Table.Tr key={r.race_id}>
              <Table.Td>{r.race_id}</Table.Td>
              <Table.Td>v{r.version}</Table.Td>
              <Table.Td>{metric(r.metric, r.value)}</Table.Td>
              <Table.Td>{metric(r.metric, r.baseline)}</Table.Td>
              <Table.Td>{metric(r.metric, r.cumulative)}</Table.Td>
              <Table.Td>{r.captured_at ? when(r.captured_at) : "—"}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

function LiveRecordSection({ view, detail }: { view: MonitoringView; detail: ModelDetail | null }) {
  const live = view.live_verified;
  const cmp = liveVsBacktest(live, detail?.metrics, detail?.baseline_metrics);
  const name = cmp.metric ?? "metric";
  const points = recordPoints(live);
  return (
    <Card withBorder>
      <Stack>
        <Title order={2} size="h4">Live verified record</Title>
        <Text size="sm">
          Scored after each race from predictions captured before it. The backtest is the model's holdout score at
          training time; reconstructed races (below) never count here.
        </Text>
        {live.n_races === 0 ? (
          <Empty title="No live verified races yet">A race counts once a prediction for it was captured before the race day and its result is ingested.</Empty>
        ) : (
          <>
            <SimpleGrid cols={{ base: 1, sm: 3 }} data-testid="live-vs-backtest">
              <Stat label={`Live ${name} (${cmp.n_races} race${cmp.n_races === 1 ? "" : "s"})`} value={metric(name, cmp.live)} note={verdict(cmp.vs_baseline, "the baseline")} />
              <Stat label="Naive baseline, same races" value={metric(name, cmp.live_baseline)} />
              <Stat label={`Backtest ${name}`} value={metric(name, cmp.backtest)} note={`live is ${verdict(cmp.vs_backtest, "the backtest")}`} />
            </SimpleGrid>
            <div className="chart-box" role="img" aria-label={`Live ${name} per race and cumulative, against the baseline`}>
              <ResponsiveContainer width="100%" height={240}>
                <LineChart data={points} margin={{ left: 8, right: 16 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="race" tick={{ fontSize: 11 }} />
                  <YAxis tick={{ fontSize: 11 }} />
                  <Tooltip />
                  <Legend />
                  <Line dataKey="value" name={`${name} per race`} stroke="#1864ab" isAnimationActive={false} />
                  <Line dataKey="cumulative" name="cumulative" stroke="#c92a2a" isAnimationActive={false} />
                  <Line dataKey="baseline_cumulative" name="baseline cumulative" stroke="#495057" strokeDasharray="4 4" isAnimationActive={false} />
                  {cmp.backtest !== null && <ReferenceLine y={cmp.backtest} stroke="#2b8a3e" label={{ value: "backtest", fontSize: 11 }} />}
                </LineChart>
              </ResponsiveContainer>
            </div>
            <RecordTable record={live} testId="live-record" />
          </>
        )}
        <Title order={3} size="h5">{view.reconstructed.label}</Title>
        {view.reconstructed.n_races === 0 ? (
          <Text size="sm" c="dimmed">No reconstructed races.</Text>
        ) : (
          <>
            <Text size="sm">What the deployed version would have predicted from the pre-race features, for races nobody asked about. Not live.</Text>
            <RecordTable record={view.reconstructed} testId="reconstructed-record" />
          </>
        )}
      </Stack>
    </Card>
  );
}

function DriftSection({ drift }: { drift: DriftReport | null }) {
  if (!drift) {
    return (
      <Card withBorder>
        <Title order={2} size="h4">Drift</Title>
        <Empty title="No drift report yet">The monitoring job writes one after the next race is ingested (or run pitwall monitor report NAME).</Empty>
      </Card>
    );
  }
  const rows = driftRows(drift);
  const top = rows.filter((r) => r.top && r.psi !== null).slice(0, 10).map((r) => ({ feature: r.name, psi: Number((r.psi ?? 0).toFixed(3)) }));
  return (
    <Card withBorder>
      <Stack>
        <Group justify="space-between">
          <Title order={2} size="h4">Drift</Title>
          <Badge color={STATUS_COLOR[drift.status] ?? "gray.7"} data-testid="drift-status">{drift.status.replace("_", " ")}</Badge>
        </Group>
        <Text size="sm">
          {drift.n_served_rows} served rows from {drift.n_requests} captured requests ({when(drift.served_from)} to {when(drift.served_to)}) against
          {" "}{drift.n_train_rows} training rows of seasons {drift.training_seasons.join(", ")}. A top feature drifts when its PSI exceeds
          {" "}{drift.psi_threshold}.{drift.note ? ` ${drift.note}.` : ""}
        </Text>
        {top.length > 0 && (
          <div className="chart-box" role="img" aria-label={`PSI of the top features: ${top.slice(0, 3).map((t) => `${t.feature} ${t.psi}`).join(", ")}`}>
            <ResponsiveContainer width="100%" height={Math.max(140, top.length * 28)}>
              <BarChart data={top} layout="vertical" margin={{ left: 8, right: 16 }}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis type="number" />
                <YAxis type="category" dataKey="feature" width={140} tick={{ fontSize: 11 }} interval={0} />
                <Tooltip />
                <ReferenceLine x={drift.psi_threshold} stroke="#c92a2a" strokeDasharray="4 4" />
                <Bar dataKey="psi" name="PSI" fill="#1864ab" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
        <div className="table-scroll">
          <Table striped data-testid="drift-table">
            <Table.Thead>
              <Table.Tr><Table.Th>Feature</Table.Th><Table.Th>PSI</Table.Th><Table.Th>KS</Table.Th><Table.Th>Missing (train → served)</Table.Th><Table.Th>Mean (train → served)</Table.Th><Table.Th>Verdict</Table.Th></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((r) => (
                <Table.Tr key={r.name}>
                  <Table.Td>{r.name}{r.top && <Badge ml={6} size="xs" variant="outline" color="gray.7">top</Badge>}</Table.Td>
                  <Table.Td>{num(r.psi)}</Table.Td>
                  <Table.Td>{num(r.ks)}</Table.Td>
                  <Table.Td>{pct(r.missing_train)} → {pct(r.missing_served)}</Table.Td>
                  <Table.Td>{num(r.train_mean, 2)} → {num(r.served_mean, 2)}</Table.Td>
                  <Table.Td>{r.drifted ? <Text size="sm" c="red.9" fw={600}>{r.drifted}</Text> : "—"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
        {drift.prediction && (
          <Text size="sm">Predictions: PSI {num(drift.prediction.psi)}, KS {num(drift.prediction.ks)} (mean {num(drift.prediction.train_mean)} in training, {num(drift.prediction.served_mean)} served).</Text>
        )}
      </Stack>
    </Card>
  );
}

function AlertsSection({ view }: { view: MonitoringView }) {
  return (
    <Card withBorder>
      <Stack>
        <Title order={2} size="h4">Alerts</Title>
        {view.alerts.length === 0 ? (
          <Text size="sm" c="dimmed">No alerts raised.</Text>
        ) : (
          <div className="table-scroll">
            <Table striped data-testid="alerts-table">
              <Table.Thead><Table.Tr><Table.Th>Raised</Table.Th><Table.Th>Kind</Table.Th><Table.Th>Version</Table.Th><Table.Th>Message</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {[...view.alerts].reverse().map((a, i) => (
                  <Table.Tr key={`${a.raised_at}-${i}`}>
                    <Table.Td>{when(a.raised_at)}</Table.Td>
                    <Table.Td style={{ whiteSpace: "nowrap" }}><Text size="sm" fw={700} c={a.kind === "feature_drift" ? "red.9" : "orange.9"}>{a.kind.replace(/_/g, " ")}</Text></Table.Td>
                    <Table.Td>v{a.version}</Table.Td>
                    <Table.Td>{a.message}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Stack>
    </Card>
  );
}

function ModelMonitoring({ name }: { name: string }) {
  const view = useLoad((c) => c.monitoring(name), [name]);
  const detail = useLoad((c) => c.model(name), [name]);
  if (view.loading && !view.data) return <Loading label="Loading monitoring…" />;
  if (view.error || !view.data) return <ErrorAlert error={view.error} />;
  const v = view.data;
  const capture = v.settings.capture_percent;
  return (
    <Stack data-testid="monitoring-view">
      <Text size="sm">
        Capturing {capture !== undefined ? `${capture}%` : "—"} of requests. Monitoring last ran {v.generated_at ? when(v.generated_at) : "never (it runs after each ingested race)"}.
      </Text>
      <LiveRecordSection view={v} detail={detail.data} />
      <DriftSection drift={v.drift} />
      <AlertsSection view={v} />
    </Stack>
  );
}

export function MonitoringPage() {
  const { name } = useParams();
  const navigate = useNavigate();
  const models = useLoad((c) => c.models());
  if (models.loading && !models.data) return <Loading />;
  if (models.error) return <ErrorAlert error={models.error} />;
  const deployed = (models.data?.models ?? []).filter((m) => m.deployed_version !== null);
  const current = name ?? deployed[0]?.name ?? null;
  return (
    <Stack>
      <Title order={1} size="h2">Monitoring</Title>
      {deployed.length === 0 && !name ? (
        <Empty title="No deployed models">Deploy a model; its captured requests, drift and live record show here.</Empty>
      ) : (
        <>
          <Select
            label="Deployed model"
            maw={360}
            allowDeselect={false}
            value={current}
            data={Array.from(new Set([...deployed.map((m) => m.name), ...(current ? [current] : [])]))}
            onChange={(v) => v && navigate(`/monitoring/${encodeURIComponent(v)}`)}
          />
          {current && <ModelMonitoring key={current} name={current} />}
        </>
      )}
    </Stack>
  );
}
