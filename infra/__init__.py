"""Pitwall's AWS infrastructure: a CDK v2 app (``infra/app.py``) and its stacks (``infra/stacks``)."""
