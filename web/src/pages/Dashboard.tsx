import { Alert, Badge, Button, Card, Group, Modal, Progress, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useApi, useLoad } from "../api/context";
import type { JobInfo, ListingInfo, ModelDetail } from "../api/types";
import { splitMetrics } from "../api/metrics";
import { downloadJson, Empty, ErrorAlert, Loading, metric, num, when } from "../components/common";

const STATUS_COLOR: Record<string, string> = { queued: "gray.7", running: "blue.9", succeeded: "teal.9", failed: "red.9", cancelled: "dark" };
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

export function elapsed(from: string, to?: string): string {
  const ms = (to ? new Date(to).getTime() : Date.now()) - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

function JobProgress({ jobId, onDone }: { jobId: string; onDone: (job: JobInfo) => void }) {
  const { client } = useApi();
  const [job, setJob] = useState<JobInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [, setNow] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const j = await client.job(jobId);
        if (!live) return;
        setJob(j);
        setError(null);
        if (FINISHED.has(j.status)) {
          onDone(j);
          return;
        }
      } catch (err) {
        if (!live) return;
        setError(err);
      }
      setNow(Date.now());
      timer = setTimeout(poll, 1000);
    };
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, jobId]);
  if (error) return <ErrorAlert error={error} />;
  if (!job) return <Loading label="Loading the training job…" />;
  const done = FINISHED.has(job.status);
  return (
    <Card withBorder aria-live="polite" data-testid="job-status">
      <Group justify="space-between">
        <Text fw={600}>Training job <span className="mono">{job.job_id}</span></Text>
        <Badge color={STATUS_COLOR[job.status]}>{job.status}</Badge>
      </Group>
      <Progress value={done ? 100 : job.status === "running" ? 60 : 15} animated={!done} striped={!done} mt="sm" aria-label="Training progress" />
      <Text size="sm" mt="xs">
        {job.kind} · {job.template} · {done ? `took ${elapsed(job.created_at, job.updated_at)}` : `running for ${elapsed(job.created_at)}`}
      </Text>
      {job.error && <Alert color="red" mt="sm" title="The job failed">{job.error}</Alert>}
    </Card>
  );
}

const VERIFY_POLL_MS = 2000;

function ShareModal({ model, opened, onClose }: { model: ModelDetail; opened: boolean; onClose: () => void }) {
  const { client } = useApi();
  const [title, setTitle] = useState(`${model.name}: ${model.template.replace(/_/g, " ")}`);
  const [description, setDescription] = useState(`${model.algorithm} on ${model.features.length} features, ${model.task}.`);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [listing, setListing] = useState<Pick<ListingInfo, "listing_id" | "status" | "rejection"> | null>(null);
  useEffect(() => {
    // publishing answers 202 "verifying": the verification backtest runs as a job; poll the listing until it is decided
    if (!listing || listing.status !== "verifying") return;
    let stopped = false;
    const timer = window.setTimeout(async () => {
      try {
        const card = await client.card(listing.listing_id);
        if (!stopped) setListing({ listing_id: card.listing_id, status: card.status, rejection: card.rejection ?? null });
      } catch (err) {
        if (!stopped) setError(err);
      }
    }, VERIFY_POLL_MS);
    return () => { stopped = true; window.clearTimeout(timer); };
  }, [client, listing]);
  const publish = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setListing(await client.publish({ model_name: model.name, title, description, reported_metrics: splitMetrics(model.metrics, model.baseline_metrics).model }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Share on the marketplace" closeButtonProps={{ "aria-label": "Close" }}>
      {listing?.status === "verifying" ? (
        <Stack>
          <Alert color="blue" title="Verifying" data-testid="verifying">
            Listing <span className="mono">{listing.listing_id}</span>: Pitwall is re-running a backtest of your model; it is listed once verified.
          </Alert>
          <Progress value={100} animated striped aria-label="Verification running" />
          <ErrorAlert error={error} />
        </Stack>
      ) : listing?.status === "rejected" ? (
        <Alert color="red" title="Not listed" data-testid="rejected">
          {listing.rejection ? `${listing.rejection.field}: ${listing.rejection.message}` : "The verification rejected this model."}
        </Alert>
      ) : listing ? (
        <Stack>
          <Alert color="green" title="Published" data-testid="published">
            Listing <span className="mono">{listing.listing_id}</span>: Pitwall re-ran a backtest and shows its verified metrics beside yours.
          </Alert>
          <Button component={Link} to="/marketplace">Open the marketplace</Button>
        </Stack>
      ) : (
        <Stack component="form" onSubmit={publish}>
          <TextInput label="Title" value={title} onChange={(e) => setTitle(e.currentTarget.value)} required maxLength={120} />
          <Textarea label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} required autosize minRows={3} />
          <Text size="xs" c="dimmed">Your holdout metrics are listed as the author's claims; publishing runs a verification backtest (can take a little while).</Text>
          <ErrorAlert error={error} />
          <Button type="submit" loading={busy}>Publish</Button>
        </Stack>
      )}
    </Modal>
  );
}

function ModelView({ name }: { name: string }) {
  const { client } = useApi();
  const navigate = useNavigate();
  const model = useLoad((c) => c.model(name), [name]);
  const report = useLoad((c) => c.report(name), [name]);
  const templates = useLoad((c) => c.templates());
  const job = useLoad((c) => {
    const id = model.data?.versions.at(-1)?.job_id;
    return id ? c.job(id) : Promise.resolve(null);
  }, [model.data?.version]);
  const [action, setAction] = useState<{ busy: string | null; error: unknown; message: string | null }>({ busy: null, error: null, message: null });
  const [sharing, setSharing] = useState(false);

  if (model.loading && !model.data) return <Loading label="Loading the model…" />;
  if (model.error) return <ErrorAlert error={model.error} />;
  const m = model.data!;
  const r = report.data;
  const spec = templates.data?.templates.find((t) => t.name === m.template);
  const table = splitMetrics(m.metrics, m.baseline_metrics, spec?.primary_metric ?? r?.metric);
  const primary = spec?.primary_metric ?? r?.metric ?? table.names[0];
  const metricNames = table.names;
  const importance = r ? Object.entries(r.importance).slice(0, 15).map(([feature, value]) => ({ feature, value: Number(value.toFixed(4)) })) : [];

  const deploy = async () => {
    setAction({ busy: "deploy", error: null, message: null });
    try {
      const d = await client.deploy(m.name);
      setAction({ busy: null, error: null, message: `Deployed version ${d.version} of ${d.model}.` });
      model.reload();
    } catch (err) {
      setAction({ busy: null, error: err, message: null });
    }
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">Experiment: {m.name}</Title>
        <Group gap="xs">
          <Button onClick={deploy} loading={action.busy === "deploy"}>{m.deployed_version ? "Redeploy" : "Deploy model"}</Button>
          <Button variant="outline" onClick={() => navigate(`/compare?models=${encodeURIComponent(m.name)}`)}>Compare</Button>
          <Button variant="outline" onClick={() => downloadJson(`${m.name}-v${m.version}.json`, { model: m, report: r })}>Download</Button>
          <Button variant="outline" onClick={() => setSharing(true)}>Share</Button>
        </Group>
      </Group>
      {action.message && (
        <Alert color="green" role="status" data-testid="action-message">
          {action.message} <Link to="/deployments">Go to deployments</Link>
        </Alert>
      )}
      <ErrorAlert error={action.error} />
      <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
        <Card withBorder><Text size="xs" c="dimmed">Status</Text><Text fw={700}>{m.status === "deployed" ? `Completed, deployed (v${m.deployed_version})` : "Completed"}</Text></Card>
        <Card withBorder><Text size="xs" c="dimmed">Duration</Text><Text fw={700}>{job.data ? elapsed(job.data.created_at, job.data.updated_at) : "—"}</Text></Card>
        <Card withBorder><Text size="xs" c="dimmed">Created</Text><Text fw={700}>{when(m.created_at)}</Text></Card>
        <Card withBorder><Text size="xs" c="dimmed">Model</Text><Text fw={700}>{m.template} · {m.algorithm} · v{m.version}</Text></Card>
      </SimpleGrid>
      <Card withBorder data-testid="primary-metric">
        <Text size="xs" c="dimmed">Primary metric on the latest races held out ({String(m.data_window.last_race ?? "")})</Text>
        <Group gap="xl" mt={4}>
          <div><Text size="sm">Model</Text><Text fw={800} size="xl">{metric(primary, table.model[primary])}</Text></div>
          <div><Text size="sm">Naive baseline</Text><Text fw={800} size="xl">{metric(primary, table.baseline[primary])}</Text></div>
          <Text size="sm">{primary}</Text>
        </Group>
      </Card>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={2} size="h4" mb="xs">Metrics</Title>
          <div className="table-scroll">
            <Table striped data-testid="metrics-table">
              <Table.Thead><Table.Tr><Table.Th>Metric</Table.Th><Table.Th>Model</Table.Th><Table.Th>Baseline</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {metricNames.map((k) => (
                  <Table.Tr key={k}><Table.Td>{k}</Table.Td><Table.Td>{metric(k, table.model[k])}</Table.Td><Table.Td>{metric(k, table.baseline[k])}</Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        </Card>
        <Card withBorder>
          <Title order={2} size="h4" mb="xs">Feature importance</Title>
          {report.loading && !r ? <Loading label="Scoring the model…" /> : report.error ? <ErrorAlert error={report.error} /> : importance.length === 0 ? <Empty title="No importance recorded" /> : (
            <div className="chart-box" data-testid="importance-chart" role="img" aria-label={`Feature importance: ${importance.slice(0, 5).map((i) => `${i.feature} ${i.value}`).join(", ")}`}>
              <ResponsiveContainer width="100%" height={Math.max(200, importance.length * 24)}>
                <BarChart data={importance} layout="vertical" margin={{ left: 8, right: 16 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis type="number" />
                  <YAxis type="category" dataKey="feature" width={150} tick={{ fontSize: 11 }} interval={0} />
                  <Tooltip />
                  <Bar dataKey="value" name="importance" fill="#c92a2a" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          )}
        </Card>
      </SimpleGrid>
      {r && (
        <Card withBorder>
          <Title order={2} size="h4">Per-race backtest: {r.metric} by race, {r.season}</Title>
          <Text size="xs" c="dimmed" mb="xs">
            {r.holdout
              ? `Season ${r.season} as the training run scored it: by the same recipe fitted on the seasons before (the registered model was then refitted with ${r.season}).`
              : r.out_of_sample ? `Season ${r.season} comes after every race the model was trained on.` : `In sample: season ${r.season} is part of the training window.`}
            {" "}Model {metric(r.metric, r.metrics[r.metric])} vs baseline {metric(r.metric, r.baseline_metrics[r.metric])} over {r.races.length} races.
          </Text>
          <div className="chart-box" data-testid="race-chart" role="img" aria-label={`${r.metric} per race of ${r.season}, model and baseline`}>
            <ResponsiveContainer width="100%" height={260}>
              <LineChart data={r.races.map((x) => ({ race: `R${x.round}`, model: x.model, baseline: x.baseline }))}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="race" tick={{ fontSize: 11 }} />
                <YAxis />
                <Tooltip />
                <Legend />
                <Line dataKey="model" stroke="#c92a2a" isAnimationActive={false} />
                <Line dataKey="baseline" stroke="#495057" strokeDasharray="4 4" isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </Card>
      )}
      {r?.calibration && r.calibration.length > 0 && (
        <Card withBorder>
          <Title order={2} size="h4">Calibration ({r.season})</Title>
          <Text size="xs" c="dimmed" mb="xs">Mean predicted probability against how often it happened, per probability bin (the diagonal is perfect calibration).</Text>
          <div className="chart-box" data-testid="calibration-chart" role="img" aria-label={`Calibration: ${r.calibration.map((b) => `predicted ${(b.predicted * 100).toFixed(0)}% happened ${(b.observed * 100).toFixed(0)}% of ${b.count}`).join("; ")}`}>
            <ResponsiveContainer width="100%" height={240}>
              <LineChart data={r.calibration.map((b) => ({ predicted: Number(b.predicted.toFixed(3)), observed: Number(b.observed.toFixed(3)), perfect: Number(b.predicted.toFixed(3)), count: b.count }))}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="predicted" type="number" domain={[0, 1]} name="predicted" />
                <YAxis domain={[0, 1]} />
                <Tooltip />
                <Legend />
                <Line dataKey="observed" stroke="#c92a2a" isAnimationActive={false} />
                <Line dataKey="perfect" stroke="#495057" strokeDasharray="4 4" dot={false} isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </div>
        </Card>
      )}
      {r?.confusion_matrix && r.confusion_labels && (
        <Card withBorder>
          <Title order={2} size="h4" mb="xs">Confusion matrix ({r.season}; rows: actual, columns: predicted)</Title>
          <div className="table-scroll">
            <Table withTableBorder>
              <Table.Thead><Table.Tr><Table.Th>actual \ predicted</Table.Th>{r.confusion_labels.map((l) => <Table.Th key={l}>{l}</Table.Th>)}</Table.Tr></Table.Thead>
              <Table.Tbody>
                {r.confusion_matrix.map((row, i) => (
                  <Table.Tr key={i}><Table.Th>{r.confusion_labels![i]}</Table.Th>{row.map((v, j) => <Table.Td key={j}>{v}</Table.Td>)}</Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        </Card>
      )}
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">Training data and features</Title>
        <Text size="sm">Seasons {(m.data_window.seasons as number[] | undefined)?.join(", ") ?? "—"} · {String(m.data_window.races ?? "—")} races · {String(m.data_window.rows ?? "—")} rows · {num(m.features.length, 0)} features</Text>
        <Text size="sm" className="mono" mt={4}>{m.features.join(", ")}</Text>
      </Card>
      {sharing && <ShareModal model={m} opened={sharing} onClose={() => setSharing(false)} />}
    </Stack>
  );
}

export function DashboardPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const jobId = params.get("job");
  const [finished, setFinished] = useState<JobInfo | null>(null);
  if (jobId && (!finished || finished.status !== "succeeded")) {
    return (
      <Stack>
        <Title order={1} size="h2">Experiment: {name}</Title>
        <JobProgress jobId={jobId} onDone={(job) => {
          setFinished(job);
          if (job.status === "succeeded") setParams({}, { replace: true });
        }} />
      </Stack>
    );
  }
  return <ModelView name={name} />;
}
