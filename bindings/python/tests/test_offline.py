"""Offline fallback, tampered answers and hand-delivered files."""

from __future__ import annotations

import pytest

import lic


def test_offline_fallback_uses_the_cached_machine_file(admin, make_client, license, unique) -> None:
    _, key = license
    fp = unique("py-offline")
    c = make_client(key, fp)
    assert c.validate(auto_activate=True).code is lic.Code.VALID  # caches a machine file

    admin.fault("offline")  # the server refuses every connection
    r = c.validate()
    assert r.code is lic.Code.VALID and r.valid
    assert r.source is lic.Source.CACHED_FILE and r.verified
    assert r.offline_reason  # why the server was not used
    assert r.file_issued is not None and r.file_issued.tzinfo is not None
    assert r.signed_part(lic.SignedPart.CERTIFICATE).startswith(b"-----BEGIN MACHINE FILE-----")
    with pytest.raises(lic.NetworkError) as e:
        c.validate(online_only=True)
    assert e.value.status is lic.Status.NETWORK_ERROR and e.value.message

    # A new client (a restart of the app) finds the same cache.
    again = make_client(key, fp)
    assert again.validate().source is lic.Source.CACHED_FILE
    admin.clear_faults()
    assert again.validate(offline_only=True).source is lic.Source.CACHED_FILE
    assert again.validate().source is lic.Source.ONLINE


def test_offline_without_cache_raises(admin, make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-nocache"))
    admin.fault("offline")
    with pytest.raises(lic.OfflineFileError) as e:
        c.validate()
    assert e.value.status is lic.Status.NO_OFFLINE_DATA


def test_tampered_answer(admin, make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-tamper"))
    c.validate(auto_activate=True)
    admin.fault("tamper", path="validate-key")
    with pytest.raises(lic.SignatureError) as e:
        c.validate(online_only=True)
    assert e.value.status is lic.Status.SIGNATURE_INVALID
    assert "signature" in e.value.message.lower() or "digest" in e.value.message.lower()
    # With the cached file the same forgery yields an offline answer.
    admin.fault("tamper", path="validate-key")
    r = c.validate()
    assert (r.code, r.source) == (lic.Code.VALID, lic.Source.CACHED_FILE)


def test_wrong_public_key_means_every_answer_is_forged(make_client, license, unique) -> None:
    _, key = license
    other = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788"
    c = make_client(key, unique("py-wrongkey"), public_key=other)
    with pytest.raises(lic.SignatureError):
        c.validate(online_only=True)


def test_hand_delivered_machine_file(admin, make_client, license, unique, tmp_path) -> None:
    _, key = license
    fp = unique("py-airgap")
    vendor = make_client(key, fp, cache_dir=tmp_path / "vendor")
    cert = admin.checkout_machine(vendor.activate().id)

    air = make_client(key, fp, api_url="http://127.0.0.1:9", cache_dir=tmp_path / "air")
    with pytest.raises(lic.OfflineFileError):
        air.validate()
    air.load_file(cert.encode())
    r = air.validate(offline_only=True)
    assert (r.code, r.valid, r.source) == (lic.Code.VALID, True, lic.Source.LOADED_FILE)
    assert r.file_issued is not None

    path = tmp_path / "machine.lic"
    path.write_text(cert)
    from_path = make_client(key, fp, api_url="http://127.0.0.1:9", cache_dir=tmp_path / "air2")
    from_path.load_file(path)
    from_path.load_file(str(path))
    assert from_path.validate(offline_only=True).source is lic.Source.LOADED_FILE

    elsewhere = make_client(key, unique("py-else"), api_url="http://127.0.0.1:9")
    with pytest.raises(lic.OfflineFileError) as e:
        elsewhere.load_file(cert.encode())
    assert e.value.status is lic.Status.FINGERPRINT_MISMATCH

    lines = cert.splitlines()
    lines[len(lines) // 2] = lines[len(lines) // 2][::-1]
    with pytest.raises((lic.SignatureError, lic.OfflineFileError)) as e:
        air.load_file(("\n".join(lines) + "\n").encode())
    assert e.value.status in (lic.Status.SIGNATURE_INVALID, lic.Status.FILE_MALFORMED)

    with pytest.raises(lic.OfflineFileError) as e:
        air.load_file(tmp_path / "missing.lic")
    assert e.value.status is lic.Status.IO_ERROR
    with pytest.raises(lic.OfflineFileError) as e:
        air.load_file(b"garbage")
    assert e.value.status is lic.Status.FILE_MALFORMED
