"""Post-race retraining, end to end and offline: ingesting a race publishes RaceIngested, the
feature tables update, every auto-retrain model retrains through the workflow definition, and
the challenger replaces the champion only when it is not worse."""

from __future__ import annotations

from pathlib import Path

from pitwall.config import pitwall_home
from pitwall.data.events import LocalEventBus
from pitwall.data.ingest import ingest_f1db
from pitwall.data.store import LocalStore
from pitwall.features import race_ingested_handler
from pitwall.platform import jobs, keys, models
from pitwall.platform.records import Principal
from pitwall.workflow.local import local_ports
from pitwall.workflow.local_training import retrain_on_race, run_training_job


def test_a_new_race_retrains_and_promotes_only_a_challenger_that_is_not_worse(shared_data: Path) -> None:
    store = LocalStore(pitwall_home() / "lake")
    ingest_f1db(store, shared_data / "f1db", seasons=[2023], workers=1)
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[1, 2, 3, 4], workers=1)
    ports = local_ports()
    keys.create_key("acme", "pro", backend=ports.backend)
    principal = Principal(tenant_id="acme", tier="pro")

    # the champion: trained and deployed through the same workflow the cloud runs
    job = jobs.submit_job(
        principal,
        model_name="winner",
        template="race_winner",
        params={"seasons": [2023, 2024], "algorithm": "logistic"},
        backend=ports.backend,
    ).job
    first = run_training_job("acme", job.job_id, deploy=True, ports=ports)
    assert first.status == "SUCCEEDED", first
    champion = models.get_model("acme", "winner", backend=ports.backend)
    assert (champion.version, champion.deployed_version) == (1, 1)
    models.set_auto_retrain("acme", "winner", True, backend=ports.backend)

    # a race weekend happens: ingest round 5 with the local subscribers attached
    bus = LocalEventBus()
    bus.subscribe(race_ingested_handler(store))
    outcomes: list = []
    bus.subscribe(lambda event: outcomes.extend(retrain_on_race(event, ports)))
    ingest_f1db(store, shared_data / "f1db", seasons=[2024], rounds=[5], publisher=bus, workers=1)
    assert bus.errors == []
    assert [(o.model_name, o.status) for o in outcomes] == [("winner", "started")]

    retrain = jobs.get_job("acme", outcomes[0].job_id, backend=ports.backend)
    assert retrain.kind == "retrain" and retrain.status == "succeeded"
    challenger = models.get_model("acme", "winner", 2, backend=ports.backend)
    assert challenger.data_window["last_race"] == "2024-05"  # the new race is in the training window
    metric = "test_log_loss"
    not_worse = challenger.metrics[metric] <= champion.metrics[metric]
    deployed = models.get_model("acme", "winner", backend=ports.backend).deployed_version
    assert deployed == (2 if not_worse else 1)

    # the event is delivered again (at-least-once): nothing retrains twice
    again = retrain_on_race(bus.published[-1], ports)
    assert len(again) == 1 and again[0].status in ("already_started", "skipped"), again
    assert len(models.list_model_versions("acme", "winner", backend=ports.backend)) == 2
