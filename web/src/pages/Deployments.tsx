import { Badge, Button, Card, Code, CopyButton, Group, NumberInput, Select, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { Link } from "react-router-dom";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useApi, useLoad } from "../api/context";
import { API_PREFIX } from "../api/client";
import { maskKey } from "../api/key";
import type { ChampionshipResponse, ModelSummary, PredictResponse, RaceResult } from "../api/types";
import { Empty, ErrorAlert, Loading, pct } from "../components/common";

function endpoint(name: string): string {
  return `${window.location.origin}${API_PREFIX}/predict/${encodeURIComponent(name)}`;
}

export function curlSnippet(url: string, key: string, race: string): string {
  return `curl -s -X POST ${url} \\\n  -H "x-api-key: ${key}" -H 'content-type: application/json' \\\n  -d '{"race": "${race}"}'`;
}

function TryIt({ model }: { model: ModelSummary }) {
  const { client } = useApi();
  const status = useLoad((c) => c.dataStatus());
  const seasons = status.data?.seasons ?? [];
  const [season, setSeason] = useState<string | null>(null);
  const chosenSeason = season ?? (seasons.length ? String(seasons[seasons.length - 1]) : null);
  const races = useLoad((c) => (chosenSeason ? c.races(Number(chosenSeason)) : Promise.resolve({ races: [] })), [chosenSeason]);
  const [race, setRace] = useState<string | null>(null);
  const [weather, setWeather] = useState<string | null>(() => sessionStorage.getItem(`pitwall.scenario.${model.name}`));
  const [answer, setAnswer] = useState<{ prediction: PredictResponse; result: RaceResult | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const predict = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!race) return;
    setBusy(true);
    setError(null);
    try {
      const prediction = await client.predict(model.name, weather ? { race, weather } : { race });
      const result = await client.raceResult(race).catch(() => null);
      setAnswer({ prediction, result });
    } catch (err) {
      setError(err);
      setAnswer(null);
    } finally {
      setBusy(false);
    }
  };
  const names = new Map((answer?.result?.results ?? []).map((r) => [r.driver_id, r.driver_name ?? r.driver_id]));
  const actualPos = new Map((answer?.result?.results ?? []).map((r) => [r.driver_id, r.position_text ?? String(r.position ?? "")]));
  const preds = answer ? [...answer.prediction.predictions].sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99)) : [];

  return (
    <Stack component="form" onSubmit={predict}>
      <Title order={3} size="h5">Try it</Title>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Select label="Season" data={seasons.map(String)} value={chosenSeason} onChange={(v) => { setSeason(v); setRace(null); }} allowDeselect={false} />
        <Select label="Race" searchable placeholder="Pick a race" value={race} onChange={setRace}
          data={(races.data?.races ?? []).map((r) => ({ value: r.ref, label: `R${r.round} ${r.grand_prix_id ?? r.race_id}${r.has_results ? "" : " (no result yet)"}` }))} />
        <Select label="Weather scenario" allowDeselect={false} value={weather ?? "none"} onChange={(v) => setWeather(v === "none" ? null : v)}
          data={[{ value: "none", label: "As stored" }, { value: "dry", label: "Dry" }, { value: "wet", label: "Wet" }, { value: "mixed", label: "Mixed" }]} />
      </SimpleGrid>
      <Group><Button type="submit" loading={busy} disabled={!race}>Predict</Button></Group>
      <ErrorAlert error={error ?? races.error ?? status.error} />
      {answer && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Card withBorder>
            <Text fw={700}>Predicted order {answer.prediction.race ? `— ${answer.prediction.race.name ?? answer.prediction.race.race_id}` : ""}</Text>
            {[...new Set([answer.prediction.race?.known_inputs, ...(answer.prediction.notes ?? [])])].filter(Boolean).map((n) => (
              <Text key={n} size="xs" c="dimmed" data-testid="prediction-note">{n}</Text>
            ))}
            <div className="table-scroll">
              <Table data-testid="predicted-order">
                <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>Driver</Table.Th><Table.Th>{answer.prediction.top_k ? `P(top ${answer.prediction.top_k})` : "Score"}</Table.Th><Table.Th>Actual</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {preds.map((p, i) => (
                    <Table.Tr key={p.driver_id ?? i}>
                      <Table.Td>{p.rank ?? i + 1}</Table.Td>
                      <Table.Td>{names.get(p.driver_id ?? "") ?? p.driver_id ?? p.label ?? "—"}</Table.Td>
                      <Table.Td>{p.probability !== null ? pct(p.probability) : p.value ?? p.score?.toFixed(3) ?? "—"}</Table.Td>
                      <Table.Td>{actualPos.get(p.driver_id ?? "") ?? "—"}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </div>
          </Card>
          <Card withBorder>
            <Text fw={700}>Real result</Text>
            {!answer.result || answer.result.results.length === 0 ? <Empty title="Not known yet">This race has no stored result.</Empty> : (
              <div className="table-scroll">
                <Table data-testid="real-result">
                  <Table.Thead><Table.Tr><Table.Th>Pos</Table.Th><Table.Th>Driver</Table.Th><Table.Th>Grid</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>
                    {answer.result.results.map((r) => (
                      <Table.Tr key={r.driver_id}>
                        <Table.Td>{r.position_text ?? r.position ?? "—"}</Table.Td>
                        <Table.Td>{r.driver_name ?? r.driver_id}</Table.Td>
                        <Table.Td>{r.grid_position ?? "—"}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </div>
            )}
          </Card>
        </SimpleGrid>
      )}
    </Stack>
  );
}

function Championship({ model }: { model: ModelSummary }) {
  const { client } = useApi();
  const status = useLoad((c) => c.dataStatus());
  const seasons = status.data?.seasons ?? [];
  const [season, setSeason] = useState<string | null>(null);
  const [after, setAfter] = useState<number>(12);
  const [answer, setAnswer] = useState<ChampionshipResponse | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = season ?? (seasons.length ? String(seasons[seasons.length - 1]) : null);
  const run = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!chosen) return;
    setBusy(true);
    setError(null);
    try {
      setAnswer(await client.championship(model.name, { season: Number(chosen), after_round: after, simulations: 2000, seed: 1 }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const drivers = (answer?.drivers ?? []).slice(0, 8).map((d) => ({ driver: d.driver_id, probability: Number((d.title_probability * 100).toFixed(1)) }));
  return (
    <Stack component="form" onSubmit={run}>
      <Title order={3} size="h5">Championship forecast</Title>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Select label="Season" data={seasons.map(String)} value={chosen} onChange={setSeason} allowDeselect={false} />
        <NumberInput label="Standings after round" min={0} max={30} value={after} onChange={(v) => setAfter(Number(v))} />
        <Button type="submit" loading={busy} mt={{ base: 0, sm: 24 }}>Simulate</Button>
      </SimpleGrid>
      <ErrorAlert error={error} />
      {answer && (drivers.length === 0 ? <Empty title="No drivers to forecast" /> : (
        <div className="chart-box" data-testid="championship-chart" role="img" aria-label={`Title probabilities: ${drivers.slice(0, 3).map((d) => `${d.driver} ${d.probability}%`).join(", ")}`}>
          <Text size="xs" c="dimmed">{answer.simulations} simulations of rounds {answer.simulated_rounds.join(", ") || "none (season complete)"} after round {answer.after_round}.</Text>
          <ResponsiveContainer width="100%" height={260}>
            <BarChart data={drivers} layout="vertical" margin={{ left: 8, right: 16 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis type="number" unit="%" domain={[0, 100]} />
              <YAxis type="category" dataKey="driver" width={130} tick={{ fontSize: 11 }} interval={0} />
              <Tooltip />
              <Bar dataKey="probability" name="title probability (%)" fill="#c92a2a" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      ))}
    </Stack>
  );
}

export function DeploymentsPage() {
  const { client } = useApi();
  const models = useLoad((c) => c.models());
  const [selected, setSelected] = useState<string | null>(null);
  const [undeployError, setUndeployError] = useState<unknown>(null);
  const key = client.apiKey;
  const deployed = (models.data?.models ?? []).filter((m) => m.deployed_version !== null);
  const current = deployed.find((m) => m.name === selected) ?? deployed[0] ?? null;

  if (models.loading && !models.data) return <Loading />;
  if (models.error) return <ErrorAlert error={models.error} />;
  const undeploy = async (name: string) => {
    setUndeployError(null);
    try {
      await client.undeploy(name);
      models.reload();
    } catch (err) {
      setUndeployError(err);
    }
  };
  return (
    <Stack>
      <Title order={1} size="h2">Deployments</Title>
      {deployed.length === 0 ? (
        <Empty title="No deployed models">Open an experiment and press Deploy model.</Empty>
      ) : (
        <>
          <div className="table-scroll">
            <Table striped data-testid="deployments-table">
              <Table.Thead><Table.Tr><Table.Th>Model</Table.Th><Table.Th>Version</Table.Th><Table.Th>Template</Table.Th><Table.Th>Endpoint</Table.Th><Table.Th>Actions</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {deployed.map((m) => (
                  <Table.Tr key={m.name}>
                    <Table.Td>{m.name}</Table.Td>
                    <Table.Td><Badge color="teal.9">v{m.deployed_version}</Badge></Table.Td>
                    <Table.Td>{m.template}</Table.Td>
                    <Table.Td className="mono">{endpoint(m.name)}</Table.Td>
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Button size="xs" variant="outline" onClick={() => setSelected(m.name)} aria-pressed={current?.name === m.name}>Try it</Button>
                        <Button size="xs" variant="subtle" component={Link} to={`/monitoring/${encodeURIComponent(m.name)}`}>Monitoring</Button>
                        <Button size="xs" variant="subtle" color="gray" onClick={() => undeploy(m.name)}>Undeploy</Button>
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
          <ErrorAlert error={undeployError} />
          {current && (
            <Card withBorder key={current.name}>
              <Stack>
                <Title order={2} size="h4">{current.name}</Title>
                <Text size="sm">Endpoint: <span className="mono">POST {endpoint(current.name)}</span></Text>
                <Code block className="mono" aria-label="curl snippet">{curlSnippet(endpoint(current.name), maskKey(key), "monaco_2024")}</Code>
                <Group>
                  <CopyButton value={curlSnippet(endpoint(current.name), key, "monaco_2024")}>
                    {({ copied, copy }) => <Button size="xs" variant="outline" onClick={copy}>{copied ? "Copied" : "Copy curl (with your key)"}</Button>}
                  </CopyButton>
                </Group>
                <Text size="xs">The snippet shown hides your key; the copied one contains it.</Text>
                <TryIt model={current} />
                {current.task === "ranking" && <Championship model={current} />}
              </Stack>
            </Card>
          )}
        </>
      )}
    </Stack>
  );
}
