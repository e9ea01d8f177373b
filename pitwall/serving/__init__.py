"""Serving models: deployment (local in-process or SageMaker), loaded predictors, the
per-request prediction logic shared by the local server and the inference container, the
race catalog and the championship Monte Carlo.

Entry points: :func:`pitwall.serving.deploy.deploy_model` (SDK ``model.deploy`` and
``pitwall deploy``), :class:`pitwall.serving.deploy.DeploymentService` (one per process:
:func:`pitwall.serving.deploy.default_service`), :mod:`pitwall.serving.sagemaker` (endpoint names,
the tier -> endpoint table, the SageMaker backend),
:func:`pitwall.serving.invocation.invoke` (one endpoint request),
:func:`pitwall.serving.championship.simulate_championship`.
"""
