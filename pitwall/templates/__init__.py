"""The thirteen model templates. One module per template holds its ``SPEC``.

from pitwall.templates import get_template, TEMPLATES
spec = get_template("race_winner")
frame = spec.frame(FeatureStore(store), seasons=range(2014, 2025))
"""

from __future__ import annotations

from pitwall.templates import (
    dnf,
    fastest_lap,
    gap,
    lap_time,
    pit_stop_duration,
    pit_window,
    podium,
    points,
    qualifying,
    race_winner,
    rain_impact,
    safety_car,
    tyre_degradation,
)
from pitwall.templates.predict import prediction_frame
from pitwall.templates.spec import Baseline, TemplateSpec

TEMPLATES: dict[str, TemplateSpec] = {
    m.SPEC.name: m.SPEC
    for m in (
        race_winner,
        podium,
        points,
        qualifying,
        fastest_lap,
        lap_time,
        pit_stop_duration,
        gap,
        tyre_degradation,
        pit_window,
        safety_car,
        dnf,
        rain_impact,
    )
}


def get_template(name: str) -> TemplateSpec:
    """The template called ``name``; ``ValueError`` naming the known templates otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"template: unknown template {name!r}; known: {', '.join(TEMPLATES)}") from None


__all__ = ["TEMPLATES", "Baseline", "TemplateSpec", "get_template", "prediction_frame"]
