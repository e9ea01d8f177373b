// The wizard's third feature source: auto-features generated from base columns of the template's
// rows (lags, previous-race means, team-mate / field differences). Rendered in step 3 of the wizard:
//   <AutoFeaturesPanel state={state} dispatch={dispatch} template={template} />
import { Card, Checkbox, Chip, Group, Stack, Text } from "@mantine/core";
import type { Dispatch } from "react";
import type { TemplateInfo } from "../api/types";
import { type Action, autoFeatureBases, autoFeatureNames, RELATIVE, type Relative, type WizardState } from "./state";

const LAG_CHOICES = [1, 2, 3, 5];
const WINDOW_CHOICES = [3, 5, 10];
const RELATIVE_LABELS: Record<Relative, string> = { teammate: "vs team-mate (same race)", field: "vs field mean (same race)" };

export function AutoFeaturesPanel({ state, dispatch, template }: { state: WizardState; dispatch: Dispatch<Action>; template: TemplateInfo | null }) {
  const bases = autoFeatureBases(template);
  if (bases.length === 0) return null;
  const auto = state.autoFeatures;
  const generated = autoFeatureNames(auto);
  return (
    <Card withBorder component="fieldset" style={{ minWidth: 0 }}>
      <Text component="legend" fw={700}>Auto-features</Text>
      <Stack gap="xs">
        <Text size="sm" c="dimmed">
          Generated from base columns, point in time: a lag is the driver's value k races before, a mean covers his
          previous n races (this one excluded); differences compare with this race's team-mate / field.
        </Text>
        <Group gap="xs" role="group" aria-label="Auto-feature base columns">
          {bases.map((b) => (
            <Checkbox key={b} label={<span className="mono">{b}{b === template?.target ? " (target)" : ""}</span>}
              checked={auto.base.includes(b)} onChange={() => dispatch({ type: "toggleAutoBase", column: b })} />
          ))}
        </Group>
        <Text size="sm" fw={600}>Lags (races back)</Text>
        <Chip.Group multiple value={auto.lags.map(String)} onChange={(v) => dispatch({ type: "setAuto", patch: { lags: v.map(Number) } })}>
          <Group gap="xs">{LAG_CHOICES.map((k) => <Chip key={k} value={String(k)}>{k}</Chip>)}</Group>
        </Chip.Group>
        <Text size="sm" fw={600}>Previous-race means (window)</Text>
        <Chip.Group multiple value={auto.windows.map(String)} onChange={(v) => dispatch({ type: "setAuto", patch: { windows: v.map(Number) } })}>
          <Group gap="xs">{WINDOW_CHOICES.map((n) => <Chip key={n} value={String(n)}>{n}</Chip>)}</Group>
        </Chip.Group>
        <Group gap="md">
          {RELATIVE.map((r) => (
            <Checkbox key={r} label={RELATIVE_LABELS[r]} checked={auto.relative.includes(r)}
              onChange={() => dispatch({ type: "setAuto", patch: { relative: auto.relative.includes(r) ? auto.relative.filter((x) => x !== r) : [...auto.relative, r] } })} />
          ))}
        </Group>
        {generated.length > 0 && (
          <Text size="xs" c="dimmed">Adds {generated.length} input{generated.length === 1 ? "" : "s"}: <span className="mono">{generated.join(", ")}</span></Text>
        )}
      </Stack>
    </Card>
  );
}
