// What the views read from MLflow's run entities.

/** The tag that holds a run's or an experiment's description (MLflow's). */
export const NOTE_TAG = "mlflow.note.content";

export function tagOf(run, key) {
  const t = (run.data.tags || []).find((t) => t.key === key);
  return t ? t.value : undefined;
}

export function metricsOf(run) {
  const out = {};
  for (const m of run.data.metrics || []) out[m.key] = m.value;
  return out;
}

export function paramsOf(run) {
  const out = {};
  for (const p of run.data.params || []) out[p.key] = p.value;
  return out;
}
