import {
  Alert, Badge, Button, Card, Checkbox, Chip, Code, Group, MultiSelect, NumberInput, SegmentedControl, Select,
  SimpleGrid, Stack, Stepper, Switch, Text, TextInput, Title, Tooltip,
} from "@mantine/core";
import { useEffect, useMemo, useReducer, useState } from "react";
import { useNavigate } from "react-router-dom";
import type { ApiClient } from "../api/client";
import { useApi, useLoad } from "../api/context";
import { ApiError } from "../api/errors";
import type { FeatureInfo, TemplateInfo } from "../api/types";
import { downloadJson, Empty, ErrorAlert, Loading } from "../components/common";
import { AutoFeaturesPanel } from "../wizard/AutoFeaturesPanel";
import { HyperparametersPanel } from "../wizard/HyperparametersPanel";
import { featureAllowed, type Mode, initialState, quotaText, reducer, STEPS, stepErrors, toJobRequest } from "../wizard/state";

const ALGORITHM_LABELS: Record<string, string> = {
  xgboost: "XGBoost", lightgbm: "LightGBM", random_forest: "Random forest", gradient_boosting: "Gradient boosting",
  neural_net: "Neural network (MLP)", logistic: "Logistic regression", linear: "Linear regression",
  auto: "Auto (AutoML: searches algorithms, may ensemble)",
};

/** A 422's message by custom-spec field ("hyperparameters.max_depth" -> "max_depth"; "task"), shown next to it. */
function specFieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || !err.field) return {};
  if (err.field === "task") return { task: err.message };
  return err.field.startsWith("hyperparameters.") ? { [err.field.slice("hyperparameters.".length)]: err.message } : {};
}

async function loadWizard(client: ApiClient) {
  const [templates, features, status, circuits, usage, openapi] = await Promise.all([
    client.templates(), client.features(), client.dataStatus(), client.circuits(), client.usage(), client.openapi(),
  ]);
  const props = openapi?.components?.schemas?.JobRequest?.properties ?? {};
  return { templates, features, status, circuits: circuits.circuits, usage, accepted: new Set(Object.keys(props)) };
}

function TemplateCard({ title, description, selected, onSelect, badge }: {
  title: string; description: string; selected: boolean; onSelect: () => void; badge?: string;
}) {
  return (
    <Card
      withBorder
      padding="sm"
      component="button"
      type="button"
      onClick={onSelect}
      aria-pressed={selected}
      style={{ textAlign: "left", cursor: "pointer", borderColor: selected ? "var(--mantine-color-red-8)" : undefined, borderWidth: selected ? 2 : 1 }}
    >
      <Group justify="space-between" wrap="nowrap" gap={4}>
        <Text fw={700} size="sm">{title}</Text>
        {badge && <Badge size="xs" variant="light" color="gray">{badge}</Badge>}
      </Group>
      <Text size="xs" c="dimmed" mt={4}>{description}</Text>
    </Card>
  );
}

function NotebookPanel({ templates }: { templates: TemplateInfo[] }) {
  const { client } = useApi();
  const [name, setName] = useState<string | null>(templates[0]?.name ?? null);
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const fetchNotebook = async (download: boolean) => {
    if (!name) return;
    setError(null);
    try {
      const nb = await client.notebook(name);
      const cells = (nb.notebook.cells as { cell_type: string; source: string[] }[]) ?? [];
      setCode(cells.map((c) => (c.cell_type === "code" ? c.source.join("") : `# ${c.source.join("").replace(/\n/g, "\n# ")}`)).join("\n\n"));
      if (download) downloadJson(nb.filename, nb.notebook);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={3} size="h5">Import notebook</Title>
        <Text size="sm">Start from a Jupyter notebook that uses the Pitwall SDK for a template.</Text>
        <Select label="Notebook template" data={templates.map((t) => ({ value: t.name, label: t.title }))} value={name} onChange={setName} allowDeselect={false} />
        <Group>
          <Button variant="outline" onClick={() => fetchNotebook(false)}>Show notebook</Button>
          <Button variant="outline" onClick={() => fetchNotebook(true)}>Download .ipynb</Button>
        </Group>
        <ErrorAlert error={error} />
        {code && <Code block className="mono" aria-label="Notebook code">{code}</Code>}
      </Stack>
    </Card>
  );
}

function FeatureCheckbox({ feature, checked, allowed, onToggle }: { feature: FeatureInfo; checked: boolean; allowed: boolean; onToggle: () => void }) {
  const reason = !feature.available ? `Unavailable offline: ${feature.unavailable_reason}` : !allowed ? "Not an input of this model type." : null;
  return (
    <Tooltip label={feature.definition} multiline w={320} withArrow openDelay={150} events={{ hover: true, focus: true, touch: true }}>
      <div>
        <Checkbox
          label={<span className="mono">{feature.name}</span>}
          checked={checked && !reason}
          disabled={reason !== null}
          onChange={onToggle}
          description={reason ?? undefined}
          aria-describedby={undefined}
        />
      </div>
    </Tooltip>
  );
}

export function NewModelPage() {
  const { client } = useApi();
  const navigate = useNavigate();
  const loaded = useLoad(loadWizard);
  const [state, dispatch] = useReducer(reducer, undefined, initialState);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [showErrors, setShowErrors] = useState(false);

  const data = loaded.data;
  const template = useMemo(() => data?.templates.templates.find((t) => t.name === state.template) ?? null, [data, state.template]);
  const seasons = useMemo(() => (data ? data.status.seasons.filter((s) => !template || s >= template.first_season) : []), [data, template]);
  const entrants = useLoad(
    (c) => (state.step === 1 && state.seasons.length ? c.entrants(state.seasons[0]) : Promise.resolve(null)),
    [state.step === 1, state.seasons[0]],
  );

  const space = data?.templates.hyperparameters;
  useEffect(() => {
    if (space) dispatch({ type: "set", patch: { space } });
  }, [space]);

  useEffect(() => {
    // default seasons: the last five stored (before the newest, which stays for evaluation)
    if (template && state.seasons.length === 0 && seasons.length) {
      const usable = seasons.length > 1 ? seasons.slice(0, -1) : seasons;
      dispatch({ type: "setSeasonRange", from: usable[Math.max(0, usable.length - 5)], to: usable[usable.length - 1] });
    }
  }, [template, seasons, state.seasons.length]);

  if (loaded.loading && !data) return <Loading label="Loading templates, features and data…" />;
  if (loaded.error) return <ErrorAlert error={loaded.error} />;
  if (!data) return null;

  const templates = data.templates.templates;
  const catalogNames = new Set(data.features.groups.flatMap((g) => g.features.map((f) => f.name)));
  const extra = template ? template.features.filter((f) => !catalogNames.has(f)) : [];
  const errors = stepErrors(state);
  const built = state.template ? toJobRequest(state, data.accepted, template) : null;
  const filtersAccepted = ["circuits", "drivers", "teams"].every((f) => data.accepted.has(f));

  const pick = (t: TemplateInfo, mode: Mode) => dispatch({ type: "pickTemplate", template: t, mode });
  const next = () => {
    setShowErrors(errors.length > 0);
    dispatch({ type: "next" });
  };

  const start = async () => {
    if (!built || errors.length) {
      setShowErrors(true);
      return;
    }
    setSubmitting(true);
    setSubmitError(null);
    try {
      const job = await client.startJob(built.request);
      if (state.scenario) sessionStorage.setItem(`pitwall.scenario.${job.model_name}`, state.scenario);
      navigate(`/models/${encodeURIComponent(job.model_name)}?job=${encodeURIComponent(job.job_id)}`);
    } catch (err) {
      setSubmitError(err);
      loaded.reload();
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <Stack>
      <Title order={1} size="h2">New model</Title>
      <Stepper
        active={state.step}
        onStepClick={(step) => dispatch({ type: "goto", step })}
        size="sm"
        allowNextStepsSelect={false}
        aria-label="Training wizard steps"
      >
        {STEPS.map((label, i) => (
          <Stepper.Step key={label} label={`Step ${i + 1}`} description={label} />
        ))}
      </Stepper>

      {state.step === 0 && (
        <Stack>
          <Title order={2} size="h4">Step 1: Select model type</Title>
          <SimpleGrid cols={{ base: 1, xs: 2, md: 3, lg: 4 }} role="group" aria-label="Model templates">
            {templates.map((t) => (
              <TemplateCard key={t.name} title={t.title} description={t.description} badge={t.task}
                selected={state.mode === "template" && state.template === t.name} onSelect={() => pick(t, "template")} />
            ))}
            <TemplateCard title="Custom model" description="Pick a target, then choose your own features." badge="custom"
              selected={state.mode === "custom"} onSelect={() => dispatch({ type: "setMode", mode: "custom" })} />
            <TemplateCard title="Import notebook" description="Show or download a template's Jupyter notebook." badge="notebook"
              selected={state.mode === "notebook"} onSelect={() => dispatch({ type: "setMode", mode: "notebook" })} />
          </SimpleGrid>
          {state.mode === "custom" && (
            <Select
              label="Target (what the custom model predicts)"
              placeholder="Choose a target"
              data={templates.map((t) => ({ value: t.name, label: `${t.title} — ${t.target}` }))}
              value={state.template}
              onChange={(v) => { const t = templates.find((x) => x.name === v); if (t) pick(t, "custom"); }}
            />
          )}
          {state.mode === "notebook" && <NotebookPanel templates={templates} />}
          {template && state.mode !== "notebook" && (
            <Alert variant="light" color="gray" title={template.title}>
              <Text size="sm">{template.description}. Predicted {template.moment.replace("_", "-")}; primary metric {template.primary_metric}; compared against
                {" "}{template.baselines.map((b) => b.doc).join("; ") || "a naive baseline"}.</Text>
              {template.card_note && <Text size="sm" mt={4}>{template.card_note}</Text>}
            </Alert>
          )}
        </Stack>
      )}

      {state.step === 1 && (
        <Stack>
          <Title order={2} size="h4">Step 2: Configure data</Title>
          {seasons.length === 0 ? (
            <Empty title="No stored seasons">Ingest data first: <code>pitwall ingest f1db</code>.</Empty>
          ) : (
            <Stack gap={6}>
              <Text fw={500} size="sm" id="seasons-label">Training seasons</Text>
              <Chip.Group multiple value={state.seasons.map(String)} onChange={(v) => dispatch({ type: "set", patch: { seasons: v.map(Number).sort((a, b) => a - b) } })}>
                <Group gap={6} role="group" aria-labelledby="seasons-label">
                  {seasons.map((s) => <Chip key={s} value={String(s)} size="sm">{s}</Chip>)}
                </Group>
              </Chip.Group>
              <Group gap="xs">
                <Button size="xs" variant="default" onClick={() => dispatch({ type: "setSeasonRange", from: seasons[0], to: seasons[seasons.length - 1] })}>All</Button>
                <Button size="xs" variant="default" onClick={() => dispatch({ type: "set", patch: { seasons: [] } })}>None</Button>
              </Group>
            </Stack>
          )}
          <MultiSelect label="Circuits" placeholder={state.circuits.length ? undefined : "All circuits"} searchable clearable
            data={data.circuits.map((c) => ({ value: c.circuit_id, label: `${c.name} (${c.races} races)` }))}
            value={state.circuits} onChange={(v) => dispatch({ type: "set", patch: { circuits: v } })} />
          {template?.task === "ranking" ? (
            <Text size="xs" c="dimmed">A ranking template ranks every driver of a race, so it trains on whole fields: filter by seasons or circuits.</Text>
          ) : (
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <MultiSelect label="Drivers" placeholder={state.drivers.length ? undefined : "All drivers"} searchable clearable
              data={(entrants.data?.drivers ?? []).map((d) => ({ value: d.id, label: d.name }))}
              value={state.drivers} onChange={(v) => dispatch({ type: "set", patch: { drivers: v } })} />
            <MultiSelect label="Teams" placeholder={state.teams.length ? undefined : "All teams"} searchable clearable
              data={(entrants.data?.constructors ?? []).map((d) => ({ value: d.id, label: d.name }))}
              value={state.teams} onChange={(v) => dispatch({ type: "set", patch: { teams: v } })} />
          </SimpleGrid>
          )}
          <ErrorAlert error={entrants.error} />
          {!filtersAccepted && (state.circuits.length > 0 || state.drivers.length > 0 || state.teams.length > 0) && (
            <Alert color="yellow" variant="light" title="Filters not applied to training">
              The training API does not accept circuit, driver or team filters yet; the job trains on every race of the chosen seasons.
            </Alert>
          )}
          <Stack gap={4}>
            <Text fw={500} size="sm" id="scenario-label">Conditions scenario</Text>
            <SegmentedControl aria-labelledby="scenario-label" value={state.scenario ?? "none"}
              onChange={(v) => dispatch({ type: "set", patch: { scenario: v === "none" ? null : (v as "dry" | "wet" | "mixed") } })}
              data={[{ value: "none", label: "As stored" }, { value: "dry", label: "Dry" }, { value: "wet", label: "Wet" }, { value: "mixed", label: "Mixed" }]} />
            <Text size="xs" c="dimmed">
              A what-if for predictions (sent as <code>weather</code> when you try the deployed model). It never filters
              training rows by a race's own observed weather, which is not known before the race.
            </Text>
          </Stack>
        </Stack>
      )}

      {state.step === 2 && (
        <Stack>
          <Title order={2} size="h4">Step 3: Select features</Title>
          <Text size="sm" c="dimmed">Hover or focus a feature for its definition. Greyed features have no offline source or are not inputs of this model type.</Text>
          <SimpleGrid cols={{ base: 1, md: 3 }}>
            {data.features.groups.map((group) => (
              <Card withBorder key={group.name} component="fieldset" style={{ minWidth: 0 }}>
                <Text component="legend" fw={700} tt="capitalize">{group.name} features</Text>
                <Stack gap={6}>
                  {group.features.map((f) => (
                    <FeatureCheckbox key={f.name} feature={f} checked={state.features.includes(f.name)}
                      allowed={featureAllowed(state.mode, template, f)} onToggle={() => dispatch({ type: "toggleFeature", feature: f.name })} />
                  ))}
                </Stack>
              </Card>
            ))}
            {extra.length > 0 && (
              <Card withBorder component="fieldset" style={{ minWidth: 0 }}>
                <Text component="legend" fw={700}>Model-specific inputs</Text>
                <Stack gap={6}>
                  {extra.map((f) => (
                    <Checkbox key={f} label={<span className="mono">{f}</span>} checked={state.features.includes(f)} onChange={() => dispatch({ type: "toggleFeature", feature: f })} />
                  ))}
                </Stack>
              </Card>
            )}
          </SimpleGrid>
          <AutoFeaturesPanel state={state} dispatch={dispatch} template={template} />
        </Stack>
      )}

      {state.step === 3 && (
        <Stack>
          <Title order={2} size="h4">Step 4: Training configuration</Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Model name" value={state.name} onChange={(e) => dispatch({ type: "set", patch: { name: e.currentTarget.value } })} required />
            <TextInput label="Experiment" description="Runs of one experiment are compared together" value={state.experiment}
              onChange={(e) => dispatch({ type: "set", patch: { experiment: e.currentTarget.value } })} />
            <Select label="Algorithm" allowDeselect={false} value={state.algorithm}
              data={data.templates.algorithms.map((a) => ({ value: a, label: ALGORITHM_LABELS[a] ?? a }))}
              onChange={(v) => v && dispatch({ type: "set", patch: { algorithm: v } })} />
            <Select label="Validation scheme" allowDeselect={false} value={state.validation}
              data={[{ value: "kfold", label: "Race-grouped k-fold (+ holdout of the latest races)" }, { value: "holdout", label: "Holdout of the latest races" }, { value: "walk_forward", label: "Walk-forward (time series)" }]}
              onChange={(v) => v && dispatch({ type: "set", patch: { validation: v as "kfold" } })} />
            <NumberInput label="Cross-validation folds" min={2} max={10} value={state.cvFolds}
              onChange={(v) => dispatch({ type: "set", patch: { cvFolds: Number(v) } })} />
            {state.algorithm === "auto" && (
              <Switch label="Allow an ensemble of the best models" checked={state.ensemble} mt="lg"
                onChange={(e) => dispatch({ type: "set", patch: { ensemble: e.currentTarget.checked } })} />
            )}
          </SimpleGrid>
          <Switch label="Auto-tune hyperparameters" checked={state.autoTune} onChange={(e) => dispatch({ type: "set", patch: { autoTune: e.currentTarget.checked } })} />
          {state.autoTune && (
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <Stack gap={4}>
                <Text fw={500} size="sm" id="tuning-label">Tuning method</Text>
                <SegmentedControl aria-labelledby="tuning-label" value={state.tuning} onChange={(v) => dispatch({ type: "set", patch: { tuning: v as "bayes" } })}
                  data={[{ value: "grid", label: "Grid" }, { value: "random", label: "Random" }, { value: "bayes", label: "Bayesian" }]} />
              </Stack>
              <NumberInput label="Budget (trials)" min={1} max={200} value={state.trials} onChange={(v) => dispatch({ type: "set", patch: { trials: Number(v) } })} />
            </SimpleGrid>
          )}
          <HyperparametersPanel state={state} dispatch={dispatch} apiErrors={specFieldErrors(submitError)} />
          <Alert variant="light" color={data.usage.training_jobs_left === 0 ? "red" : "blue"} title="Training quota" data-testid="quota">
            {quotaText(data.usage.training_jobs_left, data.usage.training_jobs_per_day)} ({data.usage.tier} tier; the counter resets at 00:00 UTC).
          </Alert>
          {built && built.notSent.length > 0 && (
            <Alert variant="light" color="yellow" title="Not sent with this job">
              {built.notSent.map((n) => `${n.option}: ${n.reason}`).join("; ")}.
            </Alert>
          )}
          <ErrorAlert error={submitError} />
        </Stack>
      )}

      {showErrors && errors.length > 0 && (
        <Alert color="red" variant="light" title="Complete this step" role="alert">
          {errors.map((e) => <Text size="sm" key={e}>{e}</Text>)}
        </Alert>
      )}
      <Group justify="space-between">
        <Button variant="default" onClick={() => dispatch({ type: "back" })} disabled={state.step === 0}>Back</Button>
        {state.step < STEPS.length - 1 ? (
          <Button onClick={next}>Next</Button>
        ) : (
          <Button onClick={start} loading={submitting}>Start training</Button>
        )}
      </Group>
    </Stack>
  );
}
