"""The in-worker key -> principal cache: repeated requests skip the records lookup, and a revoke or
tier change through ``pitwall.platform.keys`` is seen at once in this process."""

from __future__ import annotations

import pytest

from pitwall.errors import Unauthorized
from pitwall.platform import keys
from pitwall.platform.backend import get_backend


class CountingBackend:
    """The records backend, counting key lookups."""

    def __init__(self) -> None:
        self.inner = get_backend()
        self.lookups = 0

    def get_api_key(self, key_hash: str):  # noqa: ANN201 - the backend's own type
        self.lookups += 1
        return self.inner.get_api_key(key_hash)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)


def test_the_principal_is_cached_and_a_revoke_is_seen_at_once() -> None:
    backend = CountingBackend()
    issued = keys.issue_key("acme", "free", backend=backend)  # type: ignore[arg-type]
    for _ in range(20):
        principal = keys.authenticate(issued.plaintext, backend=backend)  # type: ignore[arg-type]
        assert (principal.tenant_id, principal.tier) == ("acme", "free")
    assert backend.lookups == 1
    keys.set_tenant_tier("acme", "pro", backend=backend)  # type: ignore[arg-type]
    assert keys.authenticate(issued.plaintext, backend=backend).tier == "pro"  # type: ignore[arg-type]
    keys.revoke_key("acme", issued.record.key_id, backend=backend)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized):
        keys.authenticate(issued.plaintext, backend=backend)  # type: ignore[arg-type]


def test_unknown_keys_are_never_cached() -> None:
    backend = CountingBackend()
    for _ in range(3):
        with pytest.raises(Unauthorized):
            keys.authenticate("pw_not-a-key", backend=backend)  # type: ignore[arg-type]
    assert backend.lookups == 3
