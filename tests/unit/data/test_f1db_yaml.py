"""The F1DB YAML event builder (``pitwall.data.sources.f1db._load_events``) returns what PyYAML's base
loader returns, value for value and error for error (no file I/O: documents in memory)."""

from __future__ import annotations

import pytest
import yaml

from pitwall.data.sources import f1db

DOCUMENTS = [
    b"",
    b"~\n",
    b"id: 1109\nround: 8\ndate: 2024-05-26\ntime: 13:00\nofficialName: Formula 1 Grand Prix de Monaco 2024\n",
    b'- position: 1\n  driverId: charles-leclerc\n  time: "2:23:15.554"\n  gap:\n  points: 25\n'
    b'- position: 2\n  driverId: oscar-piastri\n  gap: "+7.152"\n',
    b"- entrantId: x\n  drivers:\n    - driverId: a\n      rounds: 1-24\n    - driverId: b\n      rounds:\n",
    b"a: 1\na: 2\n",  # a repeated key keeps the last value
    b"a: !!int '3'\nb: \"x\\ty\"\nc: 'it''s'\n",  # tags ignored, quoting and escapes as libyaml reads them
    b"text: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    b"- [a, b]\n- {c: d, e: [f]}\n- []\n- {}\n",
    b"a: &x {b: 1}\nc: *x\n",  # aliases: handed to PyYAML
    b"# only a comment\n",
]
BROKEN = [
    b"? [a]\n: 1\n",  # unhashable key
    b"--- 1\n--- 2\n",  # two documents
    b"a: [1, 2\n",  # unclosed flow sequence
    b"a: b: c\n",
    b"- a\nb: c\n",
]


def _base(raw: bytes) -> object:
    return yaml.load(raw, Loader=f1db._LOADER)


@pytest.mark.parametrize("raw", DOCUMENTS)
def test_the_event_builder_reads_what_the_base_loader_reads(raw: bytes) -> None:
    assert f1db._load_events(raw) == _base(raw)


@pytest.mark.parametrize("raw", BROKEN)
def test_the_event_builder_fails_where_the_base_loader_fails(raw: bytes) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        _base(raw)
    with pytest.raises(type(expected.value)):
        f1db._load_events(raw)
