"""Serving models: deployment (local in-process or SageMaker), loaded predictors, the
per-request prediction logic shared by the local server and the inference container, the
race catalog and the championship Monte Carlo.

Entry points: :func:`pitwall.serving.deploy.deploy_model` (SDK ``model.deploy`` and
``pitwall deploy``), :class:`pitwall.serving.deploy.DeploymentService`,
:func:`pitwall.serving.invocation.invoke` (one endpoint request),
:func:`pitwall.serving.championship.simulate_championship`.
"""
