"""Pitwall Studio's built web app (``web/`` built by Vite into ``static/``), shipped inside the
Python package so ``pitwall serve`` serves it at ``/`` without npm.

:func:`static_file` maps a request path to a file of ``static/``: assets by path, anything else
that looks like a client route (no file extension) to ``index.html`` so the app's router can
answer it; never a path outside ``static/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
BUILD_INFO = "build-info.json"
"""Written by the build (``web/scripts/build-info.mjs``): the sha256 of the sources it was built from."""

CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class StaticFile:
    path: Path
    content_type: str
    cache_control: str

    def read(self) -> bytes:
        return self.path.read_bytes()

    def headers(self, length: int) -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            "Content-Length": str(length),
            "Cache-Control": self.cache_control,
            **SECURITY_HEADERS,
        }


def is_built(root: Path = STATIC_DIR) -> bool:
    return (root / INDEX).is_file()


def static_file(request_path: str, root: Path = STATIC_DIR) -> StaticFile | None:
    """The file answering ``request_path`` (query ignored), or None (then: 404).

    ``/`` and extension-less paths (client routes such as ``/models/rw1``) get ``index.html``;
    paths under ``/api/`` are never static.
    """
    path = unquote(urlsplit(request_path).path)
    if path.startswith("/api/") or path == "/api" or "\x00" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    base = root.resolve()
    candidate = base.joinpath(*parts) if parts else base / INDEX
    if parts and candidate.is_file():
        if base not in candidate.resolve().parents:
            return None
    elif not parts or "." not in parts[-1]:
        candidate = base / INDEX
    else:
        return None
    if not candidate.is_file():
        return None
    suffix = candidate.suffix.lower()
    hashed = len(parts) > 1 and parts[0] == "assets"
    return StaticFile(
        path=candidate,
        content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
        cache_control="public, max-age=31536000, immutable" if hashed else "no-cache",
    )
