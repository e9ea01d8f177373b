"""The training workflow: one definition (:mod:`.definition`) run by Step Functions and locally.

- :mod:`.definition`: the ordered states, retry and catch policies.
- :mod:`.steps`: what each step does, over ports (quota ledger, job log, registry, ...).
- :mod:`.local_runner`: executes the definition in-process with injected step callables.
- :mod:`.local` / :mod:`.aws`: the ports' local and AWS implementations.

The workflow uses :mod:`pitwall.serving` (SageMaker names, the tier -> endpoint table, the
deployment service); serving never imports the workflow.
"""
