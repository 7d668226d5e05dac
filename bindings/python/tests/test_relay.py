"""Keygen Relay through the binding: the devserver checks license files out, its relay mode
leases them, lic validates from the lease (claim, extend, renewals, an empty pool, release on
close, a lost lease, the relay down, a wrong secret)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List

import pytest

import lic


def relay_client(admin: Any, relay: Any, machine: str, tmp_path: Path, **kw: Any) -> lic.Client:
    return lic.Client(
        account_id=admin.account_id,
        public_key=admin.public_key,
        relay_url=relay.url,
        fingerprint=machine,
        cache_dir=tmp_path / machine,
        timeout_ms=3000,
        **kw,
    )


def wait_for(client: lic.Client, kind: lic.EventKind, seconds: float) -> List[lic.Event]:
    seen: List[lic.Event] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for e in client.poll_events():
            seen.append(e)
            if e.kind == kind:
                return seen
        time.sleep(0.05)
    raise AssertionError(f"no {kind.name} within {seconds} s; saw {[(e.kind, e.message) for e in seen]}")


def test_claim_extend_renew_and_release(admin: Any, make_relay: Any, tmp_path: Path, unique: Any) -> None:
    relay = make_relay(1, "--ttl", "4s", "--min-ttl", "1s", "--cull-interval", "1s")
    (license_id,) = relay.holders()
    a, b = unique("py-relay-a"), unique("py-relay-b")
    with relay_client(admin, relay, a, tmp_path) as first:
        r = first.validate()
        assert (r.code, r.valid, r.source) == (lic.Code.VALID, True, lic.Source.RELAY)
        assert r.verified and r.license_id == license_id
        assert r.license_key  # the key came with the lease
        expiry = r.lease_expiry
        assert expiry is not None
        now = datetime.now(timezone.utc)
        assert 0 <= (expiry - now).total_seconds() <= 5
        assert relay.holders()[license_id] == a
        # Extended, not claimed again.
        again = first.validate()
        assert again.source is lic.Source.RELAY and again.license_id == license_id
        # The background thread renews it.
        wait_for(first, lic.EventKind.LEASE_RENEWED, 15)
        # The pool's one license is leased: its own error, naming the relay.
        with relay_client(admin, relay, b, tmp_path) as second:
            with pytest.raises(lic.NoLicenseAvailableError) as err:
                second.validate()
            assert err.value.status is lic.Status.NO_LICENSE_AVAILABLE
            assert relay.url in err.value.message
            # Closing the first client releases its lease: the second gets the license.
            first.close()
            assert relay.holders()[license_id] is None
            got = second.validate()
            assert got.source is lic.Source.RELAY and got.license_id == license_id
            # The relay goes down: the cached file answers, offline.
            relay.stop()
            offline = second.validate()
            assert (offline.source, offline.valid) == (lic.Source.CACHED_FILE, True)
            assert offline.lease_expiry is None
            assert "relay" in (offline.offline_reason or "")
            with pytest.raises(lic.NetworkError):
                second.validate(online_only=True)


def test_a_lost_lease_is_an_event(admin: Any, make_relay: Any, tmp_path: Path, unique: Any) -> None:
    relay = make_relay(1, "--ttl", "3s", "--min-ttl", "1s", "--cull-interval", "1s")
    with relay_client(admin, relay, unique("py-relay-lost"), tmp_path) as c:
        assert c.validate().source is lic.Source.RELAY
        relay.fault("offline")
        seen = wait_for(c, lic.EventKind.LEASE_LOST, 20)
        failed = [e for e in seen if e.kind == lic.EventKind.LEASE_RENEWAL_FAILED]
        assert failed and failed[0].attempt >= 1 and failed[0].time_left_ms is not None
        relay.clear_faults()
        wait_for(c, lic.EventKind.LEASE_RECOVERED, 20)


def test_a_wrong_secret_is_never_believed(admin: Any, make_relay: Any, tmp_path: Path, unique: Any) -> None:
    relay = make_relay(1, "--signing-secret", "py-secret")
    machine = unique("py-relay-s")
    with relay_client(admin, relay, machine, tmp_path, relay_secret="not-it") as wrong:
        with pytest.raises(lic.SignatureError):
            wrong.validate(online_only=True)
        with pytest.raises(lic.OfflineFileError) as err:
            wrong.validate()
        assert err.value.status is lic.Status.NO_OFFLINE_DATA
    with relay_client(admin, relay, machine, tmp_path, relay_secret="py-secret") as right:
        assert right.validate().source is lic.Source.RELAY


def test_relay_settings_are_checked(admin: Any, tmp_path: Path) -> None:
    with pytest.raises(lic.InvalidArgumentError):
        lic.Client(
            account_id=admin.account_id,
            public_key=admin.public_key,
            relay_url="http://10.1.2.3:6349",
            license_key="SOME-KEY",
        )
    with pytest.raises(lic.ConfigError):
        lic.Client(account_id=admin.account_id, relay_url="http://10.1.2.3:6349")
    with pytest.raises(lic.InvalidArgumentError):
        lic.Client(
            account_id=admin.account_id,
            public_key=admin.public_key,
            relay_url="http://10.1.2.3:6349",
            relay_pool="caf\u00e9",
        )
