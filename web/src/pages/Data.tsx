import { Card, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useLoad } from "../api/context";
import { Empty, ErrorAlert, Loading, when } from "../components/common";

function seasonsText(seasons: number[]): string {
  if (!seasons.length) return "—";
  return seasons.length === 1 ? String(seasons[0]) : `${seasons[0]}–${seasons[seasons.length - 1]} (${seasons.length})`;
}

export function DataPage() {
  const status = useLoad((c) => c.dataStatus());
  const circuits = useLoad((c) => c.circuits());
  if (status.loading && !status.data) return <Loading label="Reading the store…" />;
  if (status.error) return <ErrorAlert error={status.error} />;
  const s = status.data!;
  return (
    <Stack>
      <Title order={1} size="h2">Data</Title>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <Card withBorder><Text size="xs" c="dimmed">Seasons with results</Text><Text fw={700}>{seasonsText(s.seasons)}</Text></Card>
        <Card withBorder><Text size="xs" c="dimmed">Races with results</Text><Text fw={700}>{s.races}</Text></Card>
        <Card withBorder><Text size="xs" c="dimmed">Last ingest</Text><Text fw={700}>{when(s.last_ingest)}</Text></Card>
      </SimpleGrid>
      {s.datasets.length === 0 ? <Empty title="Nothing stored yet">Run <code>pitwall ingest f1db</code>.</Empty> : (
        <Card withBorder>
          <Title order={2} size="h4" mb="xs">Datasets</Title>
          <div className="table-scroll">
            <Table striped data-testid="datasets-table">
              <Table.Thead><Table.Tr><Table.Th>Dataset</Table.Th><Table.Th>Seasons</Table.Th><Table.Th>Races</Table.Th><Table.Th>Rows</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {s.datasets.map((d) => (
                  <Table.Tr key={d.dataset}><Table.Td>{d.dataset}</Table.Td><Table.Td>{seasonsText(d.seasons)}</Table.Td><Table.Td>{d.races ?? "—"}</Table.Td><Table.Td>{d.rows.toLocaleString("en")}</Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        </Card>
      )}
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">Circuits</Title>
        {circuits.loading && !circuits.data ? <Loading /> : circuits.error ? <ErrorAlert error={circuits.error} /> : circuits.data!.circuits.length === 0 ? <Empty title="No circuits stored" /> : (
          <div className="table-scroll">
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th>Circuit</Table.Th><Table.Th>Races</Table.Th><Table.Th>Seasons</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {circuits.data!.circuits.map((c) => (
                  <Table.Tr key={c.circuit_id}><Table.Td>{c.name}</Table.Td><Table.Td>{c.races}</Table.Td><Table.Td>{c.first_season}–{c.last_season}</Table.Td></Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Card>
      <Text size="sm">{s.attribution}.</Text>
    </Stack>
  );
}
