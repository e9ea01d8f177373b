"""The Chalice app's own route table, read at synth, as API Gateway resources (one per route).

Chalice dispatches on ``event["requestContext"]["resourcePath"]`` and ``httpMethod``: the REST API must
have one resource per Chalice route (``/api/v1/predict/{model}``...), not a ``{proxy+}`` catch-all
(which makes every resource path ``/{proxy+}`` and every request a 405). The routes, their methods and
``api_key_required`` are read from the app itself (``app.routes``), so the app stays the one route
table; nothing here lists paths.

Why not ``chalice.cdk.Chalice``: it runs ``chalice package`` at every synth (pip-installing the
app's requirements for Lambda's platform, so synth needs the network), produces SAM resources that
cdk-nag cannot check, and a second function/role next to the stack's own. Reading the route table
keeps synth offline and the API function the same kind of asset (handler folder + ``pitwall``, the
Powertools layer) as every other Pitwall function.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHALICE_APP_MODULE = "app"  # the handler is ``app.app`` inside the asset folder
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Route:
    """One operation of the Chalice app: path (API Gateway resource path), method, whether a key is needed."""

    path: str
    method: str
    api_key_required: bool
    view_name: str


def load_chalice_app(project_dir: Path) -> Any:
    """Import ``<project_dir>/app.py`` (a Chalice project) under a private module name and return its
    ``app``; ``project_dir`` is on ``sys.path`` while importing (for ``chalicelib``)."""
    module_name = f"_pitwall_chalice_app_{abs(hash(str(project_dir.resolve())))}"
    cached = sys.modules.get(module_name)
    if cached is not None:
        return cached.app
    spec = importlib.util.spec_from_file_location(module_name, project_dir / f"{CHALICE_APP_MODULE}.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no Chalice app at {project_dir / 'app.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(project_dir))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        sys.path.remove(str(project_dir))
    return module.app


def chalice_routes(app: Any) -> list[Route]:
    """Every (path, method) of a Chalice app, sorted by path then method."""
    routes = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            if method not in HTTP_METHODS:
                raise ValueError(f"route {path}: unsupported method {method!r}")
            routes.append(Route(path, method, bool(entry.api_key_required), entry.view_name))
    return sorted(routes, key=lambda r: (r.path, r.method))


def routes_of_project(project_dir: Path) -> list[Route]:
    """The routes of the Chalice project in ``project_dir``."""
    return chalice_routes(load_chalice_app(project_dir))
