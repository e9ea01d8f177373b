"""Live per-lap predictions: ``connect_to_stream(model, source='openf1'|'replay', ...)``.

    import pitwall as pw
    from pitwall.live import connect_to_stream, load_live_model

    model = load_live_model("live_v1")
    for update in connect_to_stream(model, source="replay", season=2024, round=8):
        print(update.lap, update.predictions[0].driver_code, update.predictions[0].p_win)

    connect_to_stream(model, source="openf1", session_key="latest", callback=print).run()

Each ``LiveUpdate`` is the lap's ``LapState`` and one ``DriverPrediction`` per driver (P(win),
P(podium), expected position), made from that state alone. The callback (if any) is called with
every update as the stream is consumed; ``run()`` consumes it to the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, get_args

from pitwall.live.feed import UNPUBLISHED_INPUTS
from pitwall.live.predictors import DriverPrediction, LiveModelError
from pitwall.live.state import LapState

if TYPE_CHECKING:
    from pitwall.live.template import LiveModel

SourceName = Literal["openf1", "replay"]
SOURCES: tuple[str, ...] = get_args(SourceName)
UpdateFrequency = Literal["per_lap"]
UPDATE_FREQUENCIES: tuple[str, ...] = get_args(UpdateFrequency)


@dataclass(frozen=True)
class LiveUpdate:
    """One lap's update: the state at the end of lap N and the predictions made from it."""

    model: str
    source: str
    lap: int
    total_laps: int
    state: LapState
    predictions: tuple[DriverPrediction, ...]  # in classification order
    source_ms: float  # time to obtain the state from the source (fetch/build; no replay pacing)
    latency_ms: float  # time from the state to the update (features + the three models)
    lap_predictions: dict[int, dict[str, Any]] = field(default_factory=dict)
    """driver number -> the lap-level model's next lap (``pitwall.live.lap_models``), when one is attached."""

    @property
    def laps_remaining(self) -> int:
        return self.state.laps_remaining

    @property
    def race_id(self) -> str | None:
        return self.state.race_id

    def comparable(self) -> dict[str, Any]:
        """The update without timings and feed identity: equal for the same laps from any source."""
        preds = [asdict(p) for p in self.predictions]
        for p in preds:
            p.pop("driver_id", None)
        return {"lap": self.lap, "state": self.state.comparable(), "predictions": preds}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: what ``GET /api/v1/live/{model}``, SSE and the poller should carry."""
        return {
            "model": self.model,
            "source": self.source,
            "race_id": self.race_id,
            "lap": self.lap,
            "total_laps": self.total_laps,
            "laps_remaining": self.laps_remaining,
            "track_status": sorted(self.state.track_status),
            "weather": None if self.state.weather is None else asdict(self.state.weather),
            "latency_ms": round(self.latency_ms, 3),
            "drivers": [
                {
                    **{k: v for k, v in asdict(d).items() if k not in UNPUBLISHED_INPUTS},
                    **{k: v for k, v in asdict(p).items() if k.startswith(("p_", "expected"))},
                    **({"next_lap": self.lap_predictions.get(d.driver_number)} if self.lap_predictions else {}),
                }
                for d, p in zip(self.state.drivers, self.predictions, strict=True)
            ],
        }


def predict_update(model: Any, state: LapState, source_ms: float = 0.0) -> LiveUpdate:
    """The update of one lap state: ``model`` is a ``LiveModel`` or a ``LeanLiveModel`` (the poller's)."""
    start = time.perf_counter()
    predictions = model.predict_state(state)
    latency = (time.perf_counter() - start) * 1000
    return LiveUpdate(model.name, state.source, state.lap, state.total_laps, state, predictions, source_ms, latency)


def resolve_model(model: Any) -> LiveModel:
    """A ``LiveModel``, a saved live model's name, or an SDK model wrapping a live model."""
    from pitwall.live.template import LiveModel, load_live_model

    if isinstance(model, LiveModel):
        return model
    if isinstance(model, str):
        return load_live_model(model)
    inner = getattr(model, "model", None)
    if isinstance(inner, LiveModel):
        return inner
    name = getattr(model, "name", type(model).__name__)
    try:  # an SDK model named like a saved live model
        return load_live_model(str(name))
    except LiveModelError:
        pass
    raise LiveModelError(
        f"model: {name!r} is not a live race model; live streams need one trained with "
        "`pitwall live train NAME --train-until 2023` (pitwall.live.train_live_model)"
    )


class LiveStream:
    """An iterator of ``LiveUpdate`` (one per completed lap) that also feeds ``callback``."""

    def __init__(
        self,
        model: LiveModel,
        states: Iterable[LapState],
        callback: Callable[[LiveUpdate], Any] | None,
        lap_model: Any = None,
    ):
        self.model = model
        self._states = iter(states)
        self._callback = callback
        self._lap_model = lap_model
        self.latest: LiveUpdate | None = None

    def __iter__(self) -> Iterator[LiveUpdate]:
        return self

    def __next__(self) -> LiveUpdate:
        start = time.perf_counter()
        state = next(self._states)
        update = predict_update(self.model, state, (time.perf_counter() - start) * 1000)
        if self._lap_model is not None:
            update = replace(update, lap_predictions=self._lap_model.predict(state))
        self.latest = update
        if self._callback is not None:
            self._callback(update)
        return update

    def run(self) -> LiveUpdate | None:
        """Consume the stream to its end (calling the callback per lap); the last update."""
        for _ in self:
            pass
        return self.latest


def connect_to_stream(
    model: Any,
    source: str = "openf1",
    update_frequency: str = "per_lap",
    callback: Callable[[LiveUpdate], Any] | None = None,
    *,
    season: int | None = None,
    round: int | None = None,  # noqa: A002 - the SDK's word for a race's round
    session_key: int | str = "latest",
    speed: float | None = None,
    store: Any = None,
    client: Any = None,
    total_laps: int | None = None,
    poll_interval_s: float = 4.0,
    allow_in_sample: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    lap_model: Any = None,
) -> LiveStream:
    """Per-lap updates of a live model from OpenF1 or from a replay of a stored race.

    ``source='replay'`` needs ``season`` and ``round`` (``speed``: None = as fast as possible,
    1 = real time); ``source='openf1'`` reads ``session_key`` (``'latest'`` or a number), polling
    every ``poll_interval_s`` while the session is live. A replay of a season the model was
    trained on is refused unless ``allow_in_sample``. ``lap_model``: a lap-level template model
    (``lap_time``: ``predict(frame)``, ``input_columns``) whose next-lap predictions ride on each
    update (``pitwall.live.lap_models``; an OpenF1 stream builds the race's lap table from its feed).
    """
    if update_frequency not in UPDATE_FREQUENCIES:
        raise ValueError(f"update_frequency: must be one of {UPDATE_FREQUENCIES}, got {update_frequency!r}")
    live = resolve_model(model)
    states: Iterable[LapState]
    if source == "replay":
        if season is None or round is None:
            raise ValueError("season, round: a replay needs the race's season and round")
        live.check_season(int(season), allow_in_sample)
        from pitwall.live.sources.replay import ReplaySource

        states = ReplaySource(int(season), int(round), store=store, speed=speed, sleep=sleep)
        if lap_model is not None:
            from pitwall.data.store import get_store
            from pitwall.live.lap_models import NextLapPredictor

            if not isinstance(lap_model, NextLapPredictor):
                lap_model = NextLapPredictor.for_race(
                    lap_model, store if store is not None else get_store(), int(season), int(round)
                )
    elif source == "openf1":
        from pitwall.live.sources.openf1 import OpenF1Source

        src = OpenF1Source(
            session_key,
            client=client,
            total_laps=total_laps,
            store=store,
            poll_interval_s=poll_interval_s,
            sleep=sleep,
        )
        states = _checked(src, live, allow_in_sample)
        if lap_model is not None:
            states, lap_model = _with_live_laps(states, src, lap_model, store)
    else:
        raise ValueError(f"source: must be one of {SOURCES}, got {source!r}")
    return LiveStream(live, states, callback, lap_model)


def _with_live_laps(states: Iterable[LapState], src: Any, lap_model: Any, store: Any) -> tuple[Iterator[LapState], Any]:
    """OpenF1 states, with the lap-level predictor's laps set from the feed before each lap's update."""
    from pitwall.data.store import get_store
    from pitwall.live.lap_models import NextLapPredictor

    holder: dict[str, Any] = {}

    class _Live:
        def predict(self, state: LapState) -> dict[int, dict[str, Any]]:
            return holder["predictor"].predict(state)

    def run() -> Iterator[LapState]:
        for state in states:
            if "predictor" not in holder:
                if state.season is None or state.round is None:
                    raise LiveModelError(
                        "lap_model: the OpenF1 session is not a stored calendar race (season/round unknown)"
                    )
                model = lap_model.model if isinstance(lap_model, NextLapPredictor) else lap_model
                holder["predictor"] = NextLapPredictor.for_race(
                    model, store if store is not None else get_store(), state.season, state.round
                )
            holder["predictor"].set_laps([r for r in src.lap_rows if r["lap_number"] <= state.lap])
            yield state

    return run(), _Live()


def _checked(states: Iterable[LapState], live: LiveModel, allow_in_sample: bool) -> Iterator[LapState]:
    for state in states:
        live.check_season(state.season, allow_in_sample)
        yield state
