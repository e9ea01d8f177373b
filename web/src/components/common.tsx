import { Alert, Center, Group, Loader, Stack, Text } from "@mantine/core";
import { describeError } from "../api/errors";

export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const view = describeError(error);
  return (
    <Alert color="red" variant="light" title={title ?? view.title} role="alert" data-testid="api-error">
      <Text size="sm">{view.message}</Text>
      {view.hint && <Text size="sm" mt={4}>{view.hint}</Text>}
    </Alert>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <Center py="lg" role="status" aria-live="polite">
      <Group gap="xs">
        <Loader size="sm" aria-hidden="true" />
        <Text size="sm">{label}</Text>
      </Group>
    </Center>
  );
}

export function Empty({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <Stack align="center" py="lg" gap={4} data-testid="empty-state">
      <Text fw={600}>{title}</Text>
      {children && <Text size="sm" c="dimmed" ta="center">{children}</Text>}
    </Stack>
  );
}

export function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : `${(value * 100).toFixed(digits)}%`;
}

export function num(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits);
}

/** Metric display: fractions of accuracy-like metrics as %, errors as numbers. */
export function metric(name: string, value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return /accuracy|overlap|precision|recall/.test(name) && value >= 0 && value <= 1 ? pct(value) : num(value);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

export function downloadJson(filename: string, value: unknown) {
  downloadBlob(filename, new Blob([JSON.stringify(value, null, 1)], { type: "application/json" }));
}

export function downloadBlob(filename: string, blob: Blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
