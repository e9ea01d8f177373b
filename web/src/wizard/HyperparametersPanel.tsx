// The wizard's custom spec in step 4: the chosen algorithm's hyperparameters (empty: its default) and,
// on a ranking template with top_k, the task (rank every driver, or yes/no: finishes in the top k).
//   <HyperparametersPanel state={state} dispatch={dispatch} apiErrors={{ "max_depth": "..." }} />
// `apiErrors`: the API's 422 messages by field ("hyperparameters.max_depth" -> "max_depth", "task").
import { Card, Radio, Select, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import type { Dispatch } from "react";
import type { HyperparameterInfo } from "../api/types";
import { type Action, algorithmHyperparameters, hyperparameterErrors, type WizardState } from "./state";

function accepted(param: HyperparameterInfo): string {
  return param.kind === "choice" ? `one of ${param.choices.join(", ")}` : `${param.kind === "int" ? "whole number" : "number"} from ${param.low} to ${param.high}`;
}

export function HyperparametersPanel({ state, dispatch, apiErrors }: { state: WizardState; dispatch: Dispatch<Action>; apiErrors: Record<string, string> }) {
  const params = algorithmHyperparameters(state);
  const errors = hyperparameterErrors(state);
  if (params.length === 0 && state.topK === null) return null;
  const set = (name: string, text: string) => dispatch({ type: "setHyperparameter", name, text });
  return (
    <Card withBorder component="fieldset" style={{ minWidth: 0 }}>
      <Text component="legend" fw={700}>Custom spec</Text>
      <Stack gap="xs">
        {state.topK !== null && (
          <Radio.Group label="Task" value={state.yesNoTopK ? "classification" : "ranking"} error={apiErrors.task}
            onChange={(v) => dispatch({ type: "set", patch: { yesNoTopK: v === "classification" } })}>
            <Stack gap={6} mt={4}>
              <Radio value="ranking" label="Rank every driver" />
              <Radio value="classification" label={`Yes/no: finishes in the top ${state.topK}`} />
            </Stack>
          </Radio.Group>
        )}
        {state.algorithm === "auto" ? (
          <Text size="sm" c="dimmed">AutoML picks the hyperparameters of the algorithms it searches.</Text>
        ) : params.length > 0 && (
          <>
            <Text size="sm" c="dimmed">Hyperparameters of {state.algorithm}: leave a field empty for its default{state.autoTune ? "; set ones stay fixed while tuning" : ""}.</Text>
            <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }}>
              {params.map((p) => {
                const text = state.hyperparameters[p.name] ?? "";
                const error = errors[p.name] ?? apiErrors[p.name];
                return p.kind === "choice" ? (
                  <Select key={p.name} label={p.name} description={accepted(p)} placeholder={`default ${p.default}`} clearable
                    data={p.choices.map(String)} value={text || null} error={error} onChange={(v) => set(p.name, v ?? "")} />
                ) : (
                  <TextInput key={p.name} label={p.name} description={accepted(p)} placeholder={`default ${p.default}`}
                    inputMode={p.kind === "int" ? "numeric" : "decimal"} value={text} error={error}
                    onChange={(e) => set(p.name, e.currentTarget.value)} />
                );
              })}
            </SimpleGrid>
          </>
        )}
      </Stack>
    </Card>
  );
}
