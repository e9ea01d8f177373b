"""API keys and tenants, on both backends."""

from __future__ import annotations

import hashlib

import pytest

from pitwall.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from pitwall.platform import keys
from pitwall.platform.backend import RecordsBackend


def test_created_key_authenticates_as_its_tenant_and_tier(backend: RecordsBackend) -> None:
    plaintext = keys.create_key("acme", "free", backend=backend)
    principal = keys.authenticate(plaintext, backend=backend)
    assert (principal.tenant_id, principal.tier) == ("acme", "free")
    assert principal.key_id == keys.list_keys("acme", backend=backend)[0].key_id
    assert principal.limits.training_jobs_per_day == 5


def test_only_the_hash_is_stored(backend: RecordsBackend) -> None:
    plaintext = keys.create_key("acme", "pro", backend=backend)
    [stored] = keys.list_keys("acme", backend=backend)
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in repr(stored)
    assert backend.get_api_key(stored.key_hash) == stored


def test_missing_unknown_and_tampered_keys_are_unauthorized(backend: RecordsBackend) -> None:
    plaintext = keys.create_key("acme", "free", backend=backend)
    for bad in (None, "", "pw_not-a-real-key", plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")):
        with pytest.raises(Unauthorized) as err:
            keys.authenticate(bad, backend=backend)
        assert err.value.http_status == 401
    with pytest.raises(Unauthorized, match="missing"):
        keys.authenticate(None, backend=backend)


def test_revoked_key_stops_working_but_others_keep_working(backend: RecordsBackend) -> None:
    first = keys.create_key("acme", "free", backend=backend)
    second = keys.create_key("acme", "free", backend=backend)
    first_id = keys.authenticate(first, backend=backend).key_id
    keys.revoke_key("acme", first_id, backend=backend)
    keys.revoke_key("acme", first_id, backend=backend)  # idempotent
    with pytest.raises(Unauthorized):
        keys.authenticate(first, backend=backend)
    assert keys.authenticate(second, backend=backend).tenant_id == "acme"
    listed = {k.key_id: k.revoked for k in keys.list_keys("acme", backend=backend)}
    assert listed[first_id] is True and list(listed.values()).count(False) == 1


def test_a_tenant_cannot_revoke_another_tenants_key(backend: RecordsBackend) -> None:
    victim = keys.create_key("victim", "pro", backend=backend)
    keys.create_key("attacker", "free", backend=backend)
    victim_key_id = keys.authenticate(victim, backend=backend).key_id
    with pytest.raises(NotFound):
        keys.revoke_key("attacker", victim_key_id, backend=backend)
    assert keys.authenticate(victim, backend=backend).tenant_id == "victim"


def test_tier_belongs_to_the_tenant(backend: RecordsBackend) -> None:
    plaintext = keys.create_key("acme", "free", backend=backend)
    with pytest.raises(Conflict) as err:
        keys.create_key("acme", "pro", backend=backend)
    assert err.value.field == "tier"
    keys.set_tenant_tier("acme", "pro", backend=backend)
    assert keys.authenticate(plaintext, backend=backend).tier == "pro"
    assert keys.principal_for_tenant("acme", backend=backend).tier == "pro"
    with pytest.raises(NotFound):
        keys.set_tenant_tier("nobody", "pro", backend=backend)


def test_bad_tenant_id_or_tier_names_the_field(backend: RecordsBackend) -> None:
    with pytest.raises(ValidationFailed) as err:
        keys.create_key("acme#admin", "free", backend=backend)
    assert err.value.field == "tenant_id"
    with pytest.raises(ValidationFailed) as err:
        keys.create_key("acme", "platinum", backend=backend)
    assert err.value.field == "tier"
    assert backend.get_tenant("acme") is None


def test_a_local_caller_s_tenant_is_created_on_first_use_and_keeps_its_tier(backend: RecordsBackend) -> None:
    from pitwall.marketplace.service import principal_of

    assert keys.ensure_tenant("laptop", backend=backend).tier == keys.LOCAL_CALLER_TIER == "pro"
    assert principal_of("notebook", backend=backend).tier == "pro"  # the marketplace's callers: the same rule
    keys.create_tenant("frugal", "free", backend=backend)
    assert keys.ensure_tenant("frugal", backend=backend).tier == "free"
    assert principal_of("frugal", backend=backend).tier == "free"
    with pytest.raises(ValidationFailed) as err:
        keys.ensure_tenant("bad#id", backend=backend)
    assert err.value.field == "tenant_id"
