"""Online flows against the devserver: node-locked licensing end to end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import lic


def test_node_locked_flow(make_client, license, unique) -> None:
    license_id, key = license
    fp_a, fp_b = unique("py-a"), unique("py-b")
    a = make_client(key, fp_a)
    assert a.fingerprint == fp_a

    r = a.validate()
    assert r.code is lic.Code.NO_MACHINE
    assert r.code_text == "NO_MACHINE"
    assert r.valid is False
    assert r.machine_id is None

    m = a.activate()
    assert isinstance(m, lic.Machine) and m.fingerprint == fp_a and m.id
    assert m.created is not None and m.created.tzinfo is not None

    r = a.validate()
    assert r.code is lic.Code.VALID and r.valid
    assert r.detail == "is valid"
    assert r.license_id == license_id and r.license_key == key
    assert r.machine_id == m.id and r.fingerprint == fp_a
    assert r.source is lic.Source.ONLINE and r.verified
    assert r.clock_state in (lic.ClockState.OK, lic.ClockState.UNKNOWN)
    assert r.expiry is None  # perpetual
    assert r.max_machines == 1
    assert r.license_status == "ACTIVE"
    assert r.policy_id
    assert isinstance(r.metadata, dict)
    assert r.entitlements == [] and not r.has_entitlement("NOPE")
    assert r.timestamp is not None and abs(r.timestamp - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert r.file_issued is None and r.file_expiry is None and r.offline_reason is None
    assert len(r.signed_part(lic.SignedPart.SIGNATURE)) == 64
    assert len(r.signed_part(lic.SignedPart.BODY)) > 100  # > 256: exercises the retry
    assert r.signed_part(lic.SignedPart.SIGNING_STRING).startswith(b"(request-target)")
    assert r.signed_part(lic.SignedPart.CERTIFICATE) is None
    with pytest.raises(lic.InvalidArgumentError) as e:
        r.signed_part(42)
    assert e.value.status is lic.Status.INVALID_ARGUMENT
    assert "VALID" in repr(r)

    # Another machine: the license is locked to A.
    b = make_client(key, fp_b)
    r = b.validate(auto_activate=True)
    assert r.code is lic.Code.FINGERPRINT_SCOPE_MISMATCH and not r.valid
    with pytest.raises(lic.MachineLimitError) as e:
        b.activate()
    assert e.value.status is lic.Status.MACHINE_LIMIT_EXCEEDED
    assert "MACHINE_LIMIT_EXCEEDED" in e.value.message
    assert isinstance(e.value, lic.LicenseRefusedError)
    machines = b.machines()
    assert [x.id for x in machines] == [m.id]
    assert machines[0].fingerprint == fp_a

    # Move the license from A to B.
    b.deactivate(machines[0])
    r = b.validate(auto_activate=True)
    assert r.code is lic.Code.VALID
    b.deactivate()
    with pytest.raises(lic.LicenseRefusedError) as e:
        b.deactivate()
    assert e.value.status is lic.Status.MACHINE_NOT_ACTIVATED
    assert "not activated" in e.value.message


def test_expiry_metadata_and_entitlements(admin, make_client, unique) -> None:
    expiry = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    license_id, key = admin.license(
        admin.node_locked_policy(),
        name="Lizenz für Jürgen",
        expiry=expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        metadata={"seats": 3, "tier": "pro"},
    )
    admin.entitle(license_id, "FEATURE_X")
    c = make_client(key, unique("py-ent"))
    r = c.validate(auto_activate=True)
    assert r.code is lic.Code.VALID
    assert r.expiry == expiry and r.expiry.tzinfo is not None
    assert r.license_name == "Lizenz für Jürgen"
    assert r.metadata == {"seats": 3, "tier": "pro"}
    assert r.entitlements == ["FEATURE_X"]
    assert r.has_entitlement("FEATURE_X") and not r.has_entitlement("FEATURE_Y")


def test_suspended_is_a_verdict_not_an_exception(admin, make_client, unique) -> None:
    license_id, key = admin.license(admin.node_locked_policy())
    c = make_client(key, unique("py-susp"))
    c.activate()
    admin.suspend(license_id)
    r = c.validate(online_only=True)
    assert r.code is lic.Code.SUSPENDED and not r.valid
    assert r.license_status == "SUSPENDED"


def test_unknown_key_is_a_verdict_and_activation_refuses(make_client, unique) -> None:
    c = make_client("NO-SUCH-KEY-1234", unique("py-nokey"))
    r = c.validate(online_only=True)
    assert r.code is lic.Code.NOT_FOUND and not r.valid
    assert r.license_id is None and r.expiry is None and r.metadata == {}
    with pytest.raises(lic.LicenseRefusedError) as e:
        c.activate()
    assert e.value.status is lic.Status.LICENSE_INVALID


def test_signed_key_checked_without_server(admin, make_client, unique) -> None:
    _, key = admin.license(admin.policy(scheme="ED25519_SIGN", strict=True, maxMachines=1))
    c = make_client(key, unique("py-signed"), api_url="http://127.0.0.1:9")
    r = c.check_signed_key()
    assert r.code is lic.Code.VALID and r.source is lic.Source.SIGNED_KEY and r.verified
    plain = make_client("PLAIN-KEY", unique("py-plain"))
    with pytest.raises(lic.OfflineFileError) as e:
        plain.check_signed_key()
    assert e.value.status is lic.Status.KEY_NOT_SIGNED
