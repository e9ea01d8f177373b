"""The committed web UI build (``pitwall/webui/static``) is the build of the current ``web/``
sources, and ``pitwall.webui.static_file`` maps request paths to it safely.

The build records the sha256 of its sources (``web/scripts/build-info.mjs``); this test
recomputes it the same way, so a source change without ``make web`` fails here (no npm needed).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pitwall.webui import BUILD_INFO, INDEX, STATIC_DIR, static_file

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
INPUTS = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "public", "src")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [f for child in sorted(path.iterdir(), key=lambda p: p.name) for f in _files(child)]
    return [] if path.name.endswith(".test.ts") else [path]


def sources_sha256() -> str:
    digest = hashlib.sha256()
    for file in (f for name in INPUTS for f in _files(WEB / name)):
        digest.update(file.relative_to(WEB).as_posix().encode() + b"\0")
        digest.update(file.read_text(encoding="utf-8").replace("\r\n", "\n").encode() + b"\0")
    return digest.hexdigest()


def test_committed_build_is_current() -> None:
    recorded = json.loads((STATIC_DIR / BUILD_INFO).read_text())["sources_sha256"]
    assert recorded == sources_sha256(), "web/ changed since the committed build: run `make web` and commit"


def test_index_references_existing_assets() -> None:
    html = (STATIC_DIR / INDEX).read_text()
    assets = [p.name for p in (STATIC_DIR / "assets").iterdir()]
    assert any(name.endswith(".js") and name in html for name in assets)
    assert any(name.endswith(".css") and name in html for name in assets)


def test_static_file_routes(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / INDEX).write_text("<html>")
    (tmp_path / "assets" / "app-1.js").write_text("x")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path.parent / "secret.txt").write_text("no")

    index = static_file("/", tmp_path)
    assert index is not None and index.path.name == INDEX and index.content_type.startswith("text/html")
    assert index.cache_control == "no-cache"
    route = static_file("/models/race_winner_v1?job=1", tmp_path)
    assert route is not None and route.path.name == INDEX, "client routes get index.html"
    js = static_file("/assets/app-1.js", tmp_path)
    assert js is not None and js.content_type.startswith("text/javascript") and "immutable" in js.cache_control
    config = static_file("/config.json", tmp_path)
    assert config is not None and config.content_type == "application/json"
    assert static_file("/assets/missing.js", tmp_path) is None, "a missing file is a 404, not index.html"
    assert static_file("/api/v1/models", tmp_path) is None, "the API is never static"
    for evil in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/.hidden", "/a\\..\\b.js"):
        found = static_file(evil, tmp_path)
        assert found is None or found.path.name == INDEX, evil
    headers = js.headers(1)
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Length"] == "1"
