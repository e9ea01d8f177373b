"""The catalogue's pandas-free data (``pitwall.workflow.template_facts``) is the template and feature
spec tables, and the catalogue operations answer exactly what those tables say (no I/O)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from pitwall.api import catalog
from pitwall.api.http import Call
from pitwall.workflow import template_facts as tf


def _call(**params: str) -> Call:
    return Call(services=None, principal=None, params=params, query={}, body=None)  # type: ignore[arg-type]


def test_the_generated_tables_are_the_spec_tables() -> None:
    algorithms, facts = tf.live_facts()
    groups, conditions, features = tf.live_feature_facts()
    stale = "stale: python -m pitwall.workflow.template_facts"
    assert (tf.ALGORITHM_NAMES, tf.TEMPLATE_FACTS) == (algorithms, facts), stale
    assert (tf.FEATURE_GROUPS, tf.CONDITIONS, tf.FEATURE_FACTS) == (groups, conditions, features), stale


def test_the_generator_reproduces_the_generated_block() -> None:
    source = open(tf.__file__, encoding="utf-8").read()
    block = source.split(tf.BEGIN + "\n", 1)[1].split(tf.END + "\n", 1)[0]
    generated: dict[str, Any] = {}
    exec(tf.generate(), vars(tf) | generated, generated)  # noqa: S102 - our own generated source
    written: dict[str, Any] = {}
    exec(block, vars(tf) | written, written)  # noqa: S102
    names = ("ALGORITHM_NAMES", "FEATURE_GROUPS", "CONDITIONS", "TEMPLATE_FACTS", "FEATURE_FACTS")
    assert {n: generated[n] for n in names} == {n: written[n] for n in names}


def test_template_cards_are_the_templates() -> None:
    from pitwall.ml.algorithms import ALGORITHMS, AUTO
    from pitwall.templates import TEMPLATES

    answer = catalog.list_templates(_call())
    assert [t.name for t in answer.templates] == list(TEMPLATES)
    for card in answer.templates:
        spec = TEMPLATES[card.name]
        assert (card.title, card.task, card.target, card.moment) == (spec.title, spec.task, spec.target, spec.moment)
        assert (card.default_algorithm, card.primary_metric, card.top_k) == (
            spec.default_algorithm,
            spec.primary_metric,
            spec.top_k,
        )
        assert card.features == list(spec.features) and card.first_season == spec.first_season
        assert [(b.name, b.doc, b.kind) for b in card.baselines] == [(b.name, b.doc, b.kind) for b in spec.baselines]
        assert spec.target_doc.split(";")[0].strip() in card.description
    assert answer.algorithms == [*ALGORITHMS, AUTO]


def test_the_notebook_trains_the_template_with_its_default_algorithm() -> None:
    from pitwall.templates import TEMPLATES

    for name, spec in TEMPLATES.items():
        notebook = catalog.template_notebook(_call(template=name)).notebook
        code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
        assert f"pw.train({name!r}" in code and f"algorithm={spec.default_algorithm!r}" in code
        compile(code, f"{name}.ipynb", "exec")  # the cells are valid Python


def test_the_feature_catalogue_is_the_feature_spec() -> None:
    from pitwall.features.spec import CONDITIONS, FEATURES, GROUPS

    answer = catalog.feature_catalog(_call())
    assert [g.name for g in answer.groups] == list(GROUPS) and answer.conditions == list(CONDITIONS)
    listed = {f.name: f for g in answer.groups for f in g.features}
    assert set(listed) == {n for n, s in FEATURES.items() if s.group in GROUPS}
    for name, info in listed.items():
        spec = FEATURES[name]
        assert (info.group, info.definition, info.source, info.dtype) == (
            spec.group,
            spec.definition,
            spec.source,
            spec.dtype,
        )
        assert info.moments == list(spec.moments) and info.known_at == spec.known_at
        assert info.available == (spec.source != "none")


def test_the_catalogue_modules_import_without_numpy_or_pandas() -> None:
    code = (
        "import sys, pitwall.api.catalog, pitwall.data.catalog, pitwall.model_report\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'pyarrow', 'duckdb') if m in sys.modules)\n"
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
