import { Anchor, Badge, Button, Card, Group, Stack, Table, Text, Title } from "@mantine/core";
import { Link } from "react-router-dom";
import { useLoad } from "../api/context";
import { Empty, ErrorAlert, Loading, metric, when } from "../components/common";

export function ExperimentsPage() {
  const models = useLoad((c) => c.models());
  const jobs = useLoad((c) => c.jobs());
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h2">Experiments</Title>
        <Button component={Link} to="/new">New model</Button>
      </Group>
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">Models</Title>
        {models.loading && !models.data ? <Loading /> : models.error ? <ErrorAlert error={models.error} /> : models.data!.models.length === 0 ? (
          <Empty title="No models yet">Train one with the New model wizard.</Empty>
        ) : (
          <div className="table-scroll">
            <Table striped highlightOnHover>
              <Table.Thead><Table.Tr><Table.Th>Model</Table.Th><Table.Th>Template</Table.Th><Table.Th>Algorithm</Table.Th><Table.Th>Version</Table.Th><Table.Th>Created</Table.Th><Table.Th>Deployed</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {models.data!.models.map((m) => (
                  <Table.Tr key={m.name}>
                    <Table.Td><Anchor component={Link} to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Anchor></Table.Td>
                    <Table.Td>{m.template}</Table.Td><Table.Td>{m.algorithm}</Table.Td><Table.Td>v{m.latest_version}</Table.Td>
                    <Table.Td>{when(m.created_at)}</Table.Td>
                    <Table.Td>{m.deployed_version ? <Badge color="teal.9">v{m.deployed_version}</Badge> : "—"}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Card>
      <Card withBorder>
        <Title order={2} size="h4" mb="xs">Training jobs</Title>
        {jobs.loading && !jobs.data ? <Loading /> : jobs.error ? <ErrorAlert error={jobs.error} /> : jobs.data!.jobs.length === 0 ? (
          <Empty title="No training jobs yet" />
        ) : (
          <div className="table-scroll">
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th>Job</Table.Th><Table.Th>Model</Table.Th><Table.Th>Status</Table.Th><Table.Th>Created</Table.Th><Table.Th>Result</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {jobs.data!.jobs.map((j) => (
                  <Table.Tr key={j.job_id}>
                    <Table.Td className="mono">{j.job_id.slice(0, 12)}</Table.Td>
                    <Table.Td><Anchor component={Link} to={`/models/${encodeURIComponent(j.model_name)}?job=${encodeURIComponent(j.job_id)}`}>{j.model_name}</Anchor></Table.Td>
                    <Table.Td><Badge color={j.status === "succeeded" ? "teal.9" : j.status === "failed" ? "red.9" : "blue.9"}>{j.status}</Badge></Table.Td>
                    <Table.Td>{when(j.created_at)}</Table.Td>
                    <Table.Td><Text size="xs">{j.error ?? (j.result?.metrics ? Object.entries(j.result.metrics as Record<string, number>).slice(0, 1).map(([k, v]) => `${k} ${metric(k, v)}`).join("") : "")}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
        )}
      </Card>
    </Stack>
  );
}
