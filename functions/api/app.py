"""The API Lambda's entry point (Chalice project folder; CDK handler ``app.app``): the app is
built in the package, :mod:`pitwall.api.app`."""

from pitwall.api.app import app

__all__ = ["app"]
