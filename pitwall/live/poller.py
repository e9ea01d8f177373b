"""The cloud poller's logic: one run reads an OpenF1 race session, computes the per-lap updates
of the configured live models that the feed lacks, and publishes them (``functions/live_poller``).

EventBridge Scheduler invokes it every minute on race days (``infra/stacks/live_stack.py``) with
its target input, ``{"session_key": "latest"}`` (optionally ``"total_laps": N``). A run:

1. reads the session (``sessions``); anything but a race, or a race outside its window (from
   ``WINDOW_BEFORE`` before its start to ``WINDOW_AFTER`` after its end), is skipped after that one
   request;
2. finds the race distance: the input's ``total_laps``, else the one the feed already recorded for
   this session, else the laps of the previous year's race at the same circuit on OpenF1;
3. builds every completed lap's state with ``OpenF1Source.states`` (the same code as
   ``pitwall live openf1``), with the pre-race strengths of ``strengths.json`` beside the models,
   and for each live model predicts the laps after the feed's head for this session and publishes
   them (``pitwall.live.feed.snapshot_doc``).

The OpenF1 token (live sessions) comes from Secrets Manager: the secret named by
``PITWALL_OPENF1_SECRET`` (``pitwall.live.aws.openf1_token_from_secret``), read once per container
and never logged.

Runs are idempotent: a lap already published is not written again, and the feed's head never
moves back, so overlapping or repeated runs are harmless.

Only numpy-free code runs here: models are ``pitwall.live.predictors.LeanLiveModel`` (the
conditional logit and the Plackett-Luce order in plain Python), OpenF1 is read over urllib3.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pitwall.live.feed import LiveFeed, get_feed, snapshot_doc
from pitwall.live.predictors import LeanLiveModel, LiveModelError
from pitwall.live.sources.openf1 import OpenF1Client, OpenF1Error, OpenF1Source, parse_date
from pitwall.live.stream import predict_update
from pitwall.live.strength import strengths_of

log = logging.getLogger(__name__)

LIVE_MODELS_ENV = "PITWALL_LIVE_MODELS"
"""Comma-separated names of the live models the poller runs."""
WINDOW_BEFORE = timedelta(minutes=15)
WINDOW_AFTER = timedelta(minutes=45)


class PollInputError(ValueError):
    """The schedule's input is not a poll request."""


@dataclass(frozen=True)
class PollRequest:
    session_key: int | str = "latest"
    total_laps: int | None = None

    @classmethod
    def from_event(cls, event: Any) -> PollRequest:
        """The Scheduler's target input (a JSON object); unknown keys (Scheduler context) ignored."""
        if event is None:
            return cls()
        if not isinstance(event, Mapping):
            raise PollInputError(f"event: expected a JSON object, got {type(event).__name__}")
        key = event.get("session_key", "latest")
        if not (key == "latest" or (isinstance(key, int) and not isinstance(key, bool) and key > 0)):
            raise PollInputError(f"session_key: 'latest' or a positive session number, got {key!r}")
        laps = event.get("total_laps")
        if laps is not None and (isinstance(laps, bool) or not isinstance(laps, int) or not 1 <= laps <= 100):
            raise PollInputError(f"total_laps: a whole number of laps 1-100, got {laps!r}")
        return cls(key, laps)


def previous_race_laps(client: OpenF1Client, session: Mapping[str, Any]) -> int | None:
    """The laps of the previous year's race at the same circuit on OpenF1 (its winner's laps)."""
    year, circuit = session.get("year"), session.get("circuit_key")
    if year is None or circuit is None:
        return None
    rows = client.get("sessions", circuit_key=circuit, year=int(year) - 1, session_name="Race")
    earlier = [
        s
        for s in rows
        if s.get("circuit_key") == circuit and s.get("year") == int(year) - 1 and s.get("session_type") == "Race"
    ]
    if not earlier:
        return None
    laps = client.get("laps", session_key=earlier[-1]["session_key"])
    return max((int(r["lap_number"]) for r in laps if r.get("lap_number") is not None), default=None)


def poll_once(
    request: PollRequest,
    models: Mapping[str, Any],
    feed: LiveFeed,
    client: OpenF1Client,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    strengths: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One poll (see the module doc); a JSON summary of what it read and wrote.

    ``strengths``: the pre-race strength table of the race (``pitwall.live.strength.strength_doc``,
    ``strengths.json`` beside the models); without one for the session's season every car gets
    the same (unknown) strength and the summary says so."""
    summary: dict[str, Any] = {"session_key": request.session_key, "written": {}, "skipped": None}
    if not models:
        summary["skipped"] = f"no live models configured ({LIVE_MODELS_ENV})"
        return summary
    source = OpenF1Source(request.session_key, client=client, total_laps=request.total_laps, now=now)
    try:
        session = source.session()
    except OpenF1Error as exc:
        summary["skipped"] = str(exc)
        return summary
    summary["session_key"] = session.get("session_key")
    start, end = parse_date(session.get("date_start")), parse_date(session.get("date_end"))
    moment = now()
    if start is None or moment < start - WINDOW_BEFORE or (end is not None and moment > end + WINDOW_AFTER):
        summary["skipped"] = f"session {session.get('session_key')} is outside its polling window"
        return summary
    source.season = int(session["year"]) if session.get("year") is not None else None
    source.strengths = strengths_of(strengths, source.season)
    if not source.strengths:
        summary["strength"] = "unknown: no strengths.json for this season beside the models (`pitwall live upload`)"
    else:
        summary["strength"] = f"{strengths['season']}-{int(strengths['round']):02d}"  # type: ignore[index]
    sid = f"openf1-{session.get('session_key')}"
    total = request.total_laps
    heads = {name: feed.head(name) for name in models}
    if total is None:
        total = next((int(h["total_laps"]) for h in heads.values() if h and h.get("session") == sid), None)
    if total is None:
        total = previous_race_laps(client, session)
    if total is None:
        summary["skipped"] = (
            "total_laps: the race distance is unknown (no earlier race at this circuit on OpenF1); "
            "set total_laps in the schedule's input"
        )
        return summary
    finished = end is not None and moment > end + timedelta(minutes=5)
    states = source.states(source.fetch(session), int(total), finished)
    summary.update(session=sid, total_laps=int(total), laps_available=max(states, default=0))
    for name, model in models.items():
        head = heads[name]
        done = int(head["lap"]) if head and head.get("session") == sid else 0
        written = 0
        for lap in sorted(states):
            if lap <= done:
                continue
            state = states[lap]
            try:
                model.check_season(state.season)
            except LiveModelError as exc:
                summary["written"][name] = str(exc)
                break
            feed.put(name, snapshot_doc(predict_update(model, state)))
            written += 1
        else:
            summary["written"][name] = written
    return summary


_models: dict[str, LeanLiveModel] = {}


def configured_models() -> dict[str, LeanLiveModel]:
    """The live models named in ``PITWALL_LIVE_MODELS``, loaded once per Lambda container from
    ``PITWALL_LIVE_MODELS_URI`` (checksum-verified). A model not found is logged and left out."""
    from pitwall.live.aws import LIVE_MODELS_URI_ENV, S3LiveModels

    names = [n.strip() for n in os.environ.get(LIVE_MODELS_ENV, "").split(",") if n.strip()]
    missing = [n for n in names if n not in _models]
    if missing:
        store = S3LiveModels(os.environ[LIVE_MODELS_URI_ENV])
        for name in missing:
            try:
                _models[name] = LeanLiveModel.from_files(store.files(name))
            except KeyError:
                log.warning("live model %s is not in %s", name, os.environ[LIVE_MODELS_URI_ENV])
    return {n: _models[n] for n in names if n in _models}


def configured_strengths() -> dict[str, Any] | None:
    """``strengths.json`` beside the models (``pitwall live upload`` writes it); None when absent."""
    from pitwall.live.aws import LIVE_MODELS_URI_ENV, S3LiveModels

    uri = os.environ.get(LIVE_MODELS_URI_ENV)
    return S3LiveModels(uri).strengths() if uri else None


def handle_event(event: Any) -> dict[str, Any]:
    """The Lambda's work: the schedule's input -> :func:`poll_once` with the environment's wiring; a
    Secrets Manager rotation step of the OpenF1 secret -> ``pitwall.live.aws.rotate_openf1_secret``."""
    from pitwall.live.aws import is_rotation_event, openf1_token_from_secret, rotate_openf1_secret

    if is_rotation_event(event):
        return rotate_openf1_secret(event)

    client = OpenF1Client(token=openf1_token_from_secret())
    return poll_once(
        PollRequest.from_event(event), configured_models(), get_feed(), client, strengths=configured_strengths()
    )
