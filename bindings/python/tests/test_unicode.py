"""Non-ASCII keys, fingerprints and paths round-trip through lic and the server."""

from __future__ import annotations

import pytest

import lic


def activate_as_admin(admin, license_id: str, fingerprint: str) -> str:
    body = {
        "data": {
            "type": "machines",
            "attributes": {"fingerprint": fingerprint},
            "relationships": {"license": {"data": {"type": "licenses", "id": license_id}}},
        }
    }
    return admin.expect("POST", "/v1/machines", body, 201)["data"]["id"]


def test_unicode_fingerprint_through_activation(make_client, license, unique) -> None:
    _, key = license
    fp = "指紋-ü-🖥-" + unique("fp")
    c = make_client(key, fp)
    assert c.fingerprint == fp
    m = c.activate()
    assert m.fingerprint == fp
    r = c.validate()
    assert r.code is lic.Code.VALID and r.fingerprint == fp
    [listed] = c.machines()
    assert listed.fingerprint == fp


def test_unicode_key_round_trip(admin, make_client, unique) -> None:
    key = "clé-ключ-鍵-🔑-" + unique("u")
    fp = "指紋-" + unique("fp")
    license_id, got_key = admin.license(admin.node_locked_policy(), key=key)
    assert got_key == key
    c = make_client(key, fp)
    r = c.validate()
    assert r.code is lic.Code.NO_MACHINE and r.license_key == key and r.license_id == license_id
    activate_as_admin(admin, license_id, fp)
    r = c.validate()
    assert r.code is lic.Code.VALID and r.valid
    assert (r.license_key, r.fingerprint) == (key, fp)


def test_long_unicode_values_take_the_buffer_retry(admin, make_client, unique) -> None:
    # About 900 bytes each: longer than the first 256-byte try.
    key = "ключ" * 75 + unique("-long")
    fp = "ü" * 300 + unique("-fp")
    license_id, _ = admin.license(admin.node_locked_policy(), key=key)
    c = make_client(key, fp)
    assert c.fingerprint == fp
    activate_as_admin(admin, license_id, fp)
    r = c.validate()
    assert r.code is lic.Code.VALID
    assert r.license_key == key and r.fingerprint == fp


def test_activation_with_a_non_ascii_key(admin, make_client, unique) -> None:
    key = "clé-" + unique("act")
    admin.license(admin.node_locked_policy(), key=key)
    c = make_client(key, unique("fp"))
    m = c.activate()
    r = c.validate()
    assert r.code is lic.Code.VALID
    assert r.machine_id == m.id


def test_unicode_paths(make_client, unique, tmp_path) -> None:
    c = make_client("k", unique("py-path"), cache_dir=tmp_path / "кэш-🗂")
    with pytest.raises(lic.OfflineFileError) as e:
        c.load_file(tmp_path / "файл-🔑.lic")
    assert e.value.status is lic.Status.IO_ERROR
    assert "файл-🔑.lic" in e.value.message
