"""The MLflow pyfunc flavor of a Pitwall model, as an MLflow "model from code".

``pitwall.ml.tracking`` saves each tracked model as an MLflow model whose ``python_model`` is this
file and whose one artifact (``pitwall_model``) is Pitwall's own artifact folder (safe formats +
``metadata.json`` with checksums). Loading runs this code and ``load_context`` loads the folder
with ``pitwall.ml.load_model`` (checksums verified): nothing is unpickled. So
``mlflow.pyfunc.load_model(uri).predict(frame)`` and ``mlflow models serve -m URI
--env-manager local`` answer ``BaseModel.predict_frame`` of the feature rows: keys, then
``prediction`` / ``proba_<class>`` (classification), ``prediction`` (regression), ``score``,
``probability``, ``predicted_rank`` (ranking).
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

ARTIFACT_KEY = "pitwall_model"


class PitwallPyfunc(PythonModel):
    """Answers ``predict_frame`` of the wrapped Pitwall model."""

    def load_context(self, context: Any) -> None:
        from pitwall.ml.artifacts import load_model

        self.model = load_model(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        # ``pd.DataFrame``: a hint MLflow accepts (no "add type hints" warning at every load) without
        # building a schema from it; the rows (keys + features) are checked by the Pitwall model.
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self.model.predict_frame(frame.reset_index(drop=True))


mlflow.models.set_model(PitwallPyfunc())
