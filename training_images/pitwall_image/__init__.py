"""Pitwall's SageMaker image: the ``train`` and ``serve`` entry points of the model image.

- :mod:`pitwall_image.train`: SageMaker's training contract. Reads the hyper-parameters and the
  ``lake`` data channel under ``/opt/ml``, trains a template with ``pitwall.training.train_template``
  and writes the safe-format artifact to ``/opt/ml/model`` (or ``/opt/ml/output/failure``).
- :mod:`pitwall_image.serve`: SageMaker's inference contract. ``GET /ping`` and
  ``POST /invocations`` on port 8080, answered by ``pitwall.serving.invocation`` exactly as the
  local API answers.
- :mod:`pitwall_image.verify`: the marketplace verification job (a ``train`` job of that ``kind``).
- :mod:`pitwall_image.job`: what every training job writes (result files, ``output/failure``, exit status).
- :mod:`pitwall_image.layout`: where things are under ``/opt/ml`` (root: ``$PITWALL_OPT_ML``).

``python -m pitwall_image train|serve|verify`` is the container's entry point (``docker run IMAGE train``).
"""
