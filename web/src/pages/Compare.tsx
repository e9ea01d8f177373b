import { Card, MultiSelect, Stack, Table, Text, Title, UnstyledButton } from "@mantine/core";
import { Fragment, useMemo, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useSearchParams } from "react-router-dom";
import type { ApiClient } from "../api/client";
import { useLoad } from "../api/context";
import { splitMetrics } from "../api/metrics";
import type { JobInfo, Metrics, ModelDetail, ModelReport } from "../api/types";
import { Empty, ErrorAlert, Loading, metric } from "../components/common";
import { elapsed } from "./Dashboard";

const COLORS = ["#c92a2a", "#1971c2", "#2f9e44", "#f08c00", "#6741d9", "#0c8599"];

interface Run { model: ModelDetail; report: ModelReport | null; job: JobInfo | null; metrics: Metrics }

async function loadRuns(client: ApiClient, names: string[]): Promise<Run[]> {
  const models = await Promise.all(names.map((n) => client.model(n)));
  const first = await client.report(names[0]).catch(() => null);
  const reports = await Promise.all(names.map((n, i) => (i === 0 ? Promise.resolve(first) : client.report(n, first?.season).catch(() => null))));
  const jobs = await Promise.all(models.map((m) => {
    const id = m.versions.at(-1)?.job_id;
    return id ? client.job(id).catch(() => null) : Promise.resolve(null);
  }));
  return models.map((model, i) => ({ model, report: reports[i], job: jobs[i], metrics: splitMetrics(model.metrics, model.baseline_metrics).model }));
}

/** Runs sorted by `key` (a metric name, "name", "algorithm" or "time"); higher-is-better metrics descending. */
export function sortRuns(runs: Run[], key: string, descending: boolean): Run[] {
  const value = (r: Run): number | string => {
    if (key === "name") return r.model.name;
    if (key === "algorithm") return r.model.algorithm;
    if (key === "time") return r.job ? new Date(r.job.updated_at).getTime() - new Date(r.job.created_at).getTime() : Infinity;
    return r.metrics[key] ?? -Infinity;
  };
  return [...runs].sort((a, b) => {
    const x = value(a), y = value(b);
    const c = typeof x === "string" ? x.localeCompare(String(y)) : (x as number) - (y as number);
    return descending ? -c : c;
  });
}

export function ComparePage() {
  const [params, setParams] = useSearchParams();
  const selected = (params.get("models") ?? "").split(",").filter(Boolean);
  const models = useLoad((c) => c.models());
  const runs = useLoad((c) => (selected.length ? loadRuns(c, selected) : Promise.resolve([] as Run[])), [selected.join(",")]);
  const [sort, setSort] = useState<{ key: string; descending: boolean } | null>(null);

  const data = runs.data ?? [];
  const primary = data[0]?.report?.metric ?? (data[0] ? Object.keys(data[0].metrics)[0] : "");
  const higher = data[0]?.report?.higher_is_better ?? true;
  const metricNames = useMemo(() => {
    if (!data.length) return [];
    const shared = data.map((r) => new Set(Object.keys(r.metrics))).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
    return [primary, ...[...shared].filter((k) => k !== primary).sort()].filter((k) => shared.has(k));
  }, [data, primary]);
  const best = data.length > 1 ? sortRuns(data, primary, higher)[0]?.model.name : null;
  const ordered = sort ? sortRuns(data, sort.key, sort.descending) : data;
  const chart = useMemo(() => {
    const rows = new Map<string, Record<string, number | string | null>>();
    for (const r of data) for (const x of r.report?.races ?? []) {
      const row = rows.get(x.race_id) ?? { race: `R${x.round}`, baseline: x.baseline };
      row[r.model.name] = x.model;
      rows.set(x.race_id, row);
    }
    return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  }, [data]);

  const header = (key: string, label: string) => {
    const active = sort?.key === key;
    return (
      <Table.Th aria-sort={active ? (sort!.descending ? "descending" : "ascending") : "none"}>
        <UnstyledButton onClick={() => setSort({ key, descending: active ? !sort!.descending : true })} fw={700} fz="sm">
          {label} {active ? (sort!.descending ? "▼" : "▲") : ""}
        </UnstyledButton>
      </Table.Th>
    );
  };

  return (
    <Stack>
      <Title order={1} size="h2">Compare experiments</Title>
      {models.error ? <ErrorAlert error={models.error} /> : (
        <MultiSelect label="Runs to compare" placeholder={selected.length ? undefined : "Choose two or more models"} searchable
          data={(models.data?.models ?? []).map((m) => ({ value: m.name, label: `${m.name} (${m.template}, ${m.algorithm})` }))}
          value={selected} onChange={(v) => setParams(v.length ? { models: v.join(",") } : {})} />
      )}
      {selected.length === 0 ? <Empty title="Nothing selected">Pick runs above (ideally of the same template) to compare them.</Empty>
        : runs.loading && !runs.data ? <Loading label="Loading runs and scoring them race by race…" />
        : runs.error ? <ErrorAlert error={runs.error} /> : (
          <>
            <Card withBorder>
              <div className="table-scroll">
                <Table striped data-testid="compare-table">
                  <Table.Thead>
                    <Table.Tr>
                      {header("name", "Experiment")}
                      {header("algorithm", "Algorithm")}
                      {metricNames.map((k) => <Fragment key={k}>{header(k, k)}</Fragment>)}
                      {header("time", "Training time")}
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {ordered.map((r) => (
                      <Table.Tr key={r.model.name}>
                        <Table.Td>{r.model.name}{r.model.name === best ? <span aria-label="best"> ★</span> : ""}</Table.Td>
                        <Table.Td>{r.model.algorithm}</Table.Td>
                        {metricNames.map((k) => <Table.Td key={k}>{metric(k, r.metrics[k])}</Table.Td>)}
                        <Table.Td>{r.job ? elapsed(r.job.created_at, r.job.updated_at) : "—"}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </div>
              <Text size="xs" c="dimmed" mt="xs">★ best by {primary} ({higher ? "higher" : "lower"} is better), on each run's holdout of its latest races. Click a column to sort.</Text>
            </Card>
            <Card withBorder>
              <Title order={2} size="h4">{primary} by race{data[0]?.report ? `, ${data[0].report.season}` : ""}</Title>
              {chart.length === 0 ? <Empty title="No per-race scores" /> : (
                <div className="chart-box" data-testid="compare-chart" role="img" aria-label={`${primary} by race for ${data.map((r) => r.model.name).join(", ")} and the baseline`}>
                  <ResponsiveContainer width="100%" height={280}>
                    <LineChart data={chart}>
                      <CartesianGrid strokeDasharray="3 3" />
                      <XAxis dataKey="race" tick={{ fontSize: 11 }} />
                      <YAxis />
                      <Tooltip />
                      <Legend />
                      {data.map((r, i) => <Line key={r.model.name} dataKey={r.model.name} stroke={COLORS[i % COLORS.length]} isAnimationActive={false} />)}
                      <Line dataKey="baseline" stroke="#495057" strokeDasharray="4 4" isAnimationActive={false} />
                    </LineChart>
                  </ResponsiveContainer>
                </div>
              )}
            </Card>
          </>
        )}
    </Stack>
  );
}
