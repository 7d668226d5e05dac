"""Every Keygen signature through the Python binding: RSA, ECDSA and Ed25519
keys, signed license keys of every scheme, license and machine files of every
algorithm, and signature-only checks (``lic.verify_file_signature``).

The vectors are the committed ones in ``tests/data/signing/vectors.json``
(made by ``tests/support/keygen.rs``, which signs the way Keygen's source
does); the devserver issues Ed25519 only, so these run offline, plus one
online check that extra keys leave the devserver's Ed25519 answers verified.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

import lic

from conftest import ROOT

VECTORS: Dict[str, Any] = json.loads((ROOT / "tests/data/signing/vectors.json").read_text())
REAL: Dict[str, Any] = json.loads(
    (ROOT / "tests/data/keygen/example-csharp-cryptographic-verification.json").read_text()
)
ACCOUNT = VECTORS["account"]
ALL_KEYS = [ACCOUNT["ed25519"], ACCOUNT["rsa"], ACCOUNT["ecdsa"]]
KIND_KEY = {"ed25519": ACCOUNT["ed25519"], "ecdsa-p256": ACCOUNT["ecdsa"]}


def key_for(alg: str) -> str:
    return KIND_KEY.get(alg.split("+")[-1], ACCOUNT["rsa"])


def scheme_key(scheme: str) -> str:
    return {"ED25519_SIGN": ACCOUNT["ed25519"], "ECDSA_P256_SIGN": ACCOUNT["ecdsa"]}.get(
        scheme, ACCOUNT["rsa"]
    )


def offline_client(tmp_path: Path, public_key: Any, license_key: str, fingerprint: str = "fp") -> lic.Client:
    return lic.Client(
        account_id=ACCOUNT["id"],
        api_url="http://127.0.0.1:9",  # nothing listens: these never go online
        public_key=public_key,
        license_key=license_key,
        fingerprint=fingerprint,
        cache_dir=tmp_path / "cache",
        timeout_ms=1000,
    )


@pytest.mark.parametrize("v", VECTORS["keys"], ids=lambda v: v["scheme"])
def test_signed_key_of_every_scheme(tmp_path: Path, v: Dict[str, Any]) -> None:
    for keys in (scheme_key(v["scheme"]), ALL_KEYS):
        with offline_client(tmp_path, keys, v["key"]) as c:
            r = c.check_signed_key()
            assert r.code is lic.Code.VALID and r.valid and r.verified
            assert r.source is lic.Source.SIGNED_KEY
            assert r.license_id == v["license_id"]
            want = v["expiry"]
            assert (r.expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z") if r.expiry else None) == want
    # Without a key of its kind lic cannot tell, and says which key it needs.
    other = ACCOUNT["ed25519"] if scheme_key(v["scheme"]) != ACCOUNT["ed25519"] else ACCOUNT["rsa"]
    with offline_client(tmp_path, other, v["key"]) as c:
        with pytest.raises(lic.LicError) as e:
            c.check_signed_key()
        assert e.value.status is lic.Status.NO_PUBLIC_KEY
        assert "public key" in e.value.message


def test_real_keygen_rsa_pss_key_is_valid(tmp_path: Path) -> None:
    with offline_client(tmp_path, REAL["public_key"], REAL["license_key"]) as c:
        r = c.check_signed_key()
        assert (r.code, r.license_id) == (lic.Code.VALID, REAL["expected"]["license_id"])
        assert r.policy_id == REAL["expected"]["policy_id"]
    altered = REAL["license_key"].replace("PtRHZ", "PtRHY")
    with offline_client(tmp_path, REAL["public_key"], altered) as c:
        with pytest.raises(lic.SignatureError) as e:
            c.check_signed_key()
        assert e.value.status is lic.Status.SIGNATURE_INVALID


@pytest.mark.parametrize("v", VECTORS["files"], ids=lambda v: f"{v['kind']}-{v['algorithm']}")
def test_files_of_every_algorithm_load_and_answer_offline(tmp_path: Path, v: Dict[str, Any]) -> None:
    fp = v["fingerprint"] or "fp-any"
    with offline_client(tmp_path, key_for(v["algorithm"]), v["license_key"], fp) as c:
        c.load_file(v["certificate"].encode())
        r = c.validate(offline_only=True)
        assert r.code is lic.Code.VALID and r.source is lic.Source.LOADED_FILE
        assert r.entitlements == ["VECTOR_FEATURE"]


@pytest.mark.parametrize("v", VECTORS["files"], ids=lambda v: f"{v['kind']}-{v['algorithm']}")
def test_signature_only_check(v: Dict[str, Any]) -> None:
    s = lic.verify_file_signature(v["certificate"], ALL_KEYS)
    assert s.valid and s.algorithm == v["algorithm"]
    assert s.kind is (lic.FileKind.LICENSE if v["kind"] == "license" else lic.FileKind.MACHINE)
    assert s.encrypted == v["algorithm"].startswith("aes-256-gcm")
    if s.encrypted:
        assert (s.issued, s.expires) == (None, None)
    else:
        assert s.issued is not None and s.issued.isoformat().startswith(v["issued"][:19])
        if v["expiry"]:
            assert s.expires is not None and s.expires.isoformat().startswith(v["expiry"][:19])
        else:
            assert s.expires is None
    assert lic.verify_file_signature(v["certificate"].encode(), key_for(v["algorithm"])).valid

    # One byte of the signed payload altered: the signature no longer holds.
    lines = v["certificate"].splitlines()
    import base64

    env = json.loads(base64.b64decode("".join(lines[1:-1])))
    env["enc"] = ("B" if env["enc"][0] == "A" else "A") + env["enc"][1:]
    body = base64.b64encode(json.dumps(env).encode()).decode()
    altered = f"{lines[0]}\n{body}\n{lines[-1]}\n"
    bad = lic.verify_file_signature(altered, ALL_KEYS)
    assert not bad.valid and bad.algorithm == v["algorithm"]
    assert (bad.issued, bad.expires) == (None, None)


def test_signature_only_errors_name_what_is_missing(tmp_path: Path) -> None:
    rsa_file = next(v for v in VECTORS["files"] if v["algorithm"] == "base64+rsa-sha256")
    with pytest.raises(lic.LicError) as e:
        lic.verify_file_signature(rsa_file["certificate"], ACCOUNT["ed25519"])
    assert e.value.status is lic.Status.NO_PUBLIC_KEY
    assert "rsa-sha256" in e.value.message and "RSA" in e.value.message
    with pytest.raises(lic.LicError) as e:
        lic.verify_file_signature(b"-----BEGIN LICENSE FILE-----\nAAAA\n", ALL_KEYS)
    assert e.value.status is lic.Status.FILE_MALFORMED
    import base64

    env = {"enc": "x", "sig": "AAAA", "alg": "base64+ed448"}
    text = "-----BEGIN LICENSE FILE-----\n%s\n-----END LICENSE FILE-----\n" % base64.b64encode(
        json.dumps(env).encode()
    ).decode()
    with pytest.raises(lic.LicError) as e:
        lic.verify_file_signature(text, ALL_KEYS)
    assert e.value.status is lic.Status.UNSUPPORTED_ALGORITHM
    assert "base64+ed448" in e.value.message
    path = tmp_path / "file.lic"
    path.write_text(rsa_file["certificate"])
    assert lic.verify_file_signature(path, ACCOUNT["rsa"]).valid


@pytest.mark.parametrize(
    "bad, needle",
    [
        ("abcd", "64 hex characters"),
        ("not a key!", "PEM"),
        ("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", "private key"),
    ],
)
def test_malformed_or_wrong_kind_keys_name_the_expected_form(bad: str, needle: str) -> None:
    with pytest.raises(lic.InvalidArgumentError) as e:
        lic.Client(account_id="a", public_key=bad)
    assert e.value.status is lic.Status.INVALID_ARGUMENT
    assert needle in e.value.message
    assert "DER" in e.value.message
    with pytest.raises(lic.InvalidArgumentError):
        lic.Client(account_id="a", public_key=[ACCOUNT["ed25519"], bad])


def test_extra_keys_keep_the_devservers_ed25519_answers_verified(admin, make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-keys"), public_key=[ACCOUNT["rsa"], admin.public_key, ACCOUNT["ecdsa"]])
    r = c.validate(auto_activate=True)
    assert r.code is lic.Code.VALID and r.verified and r.source is lic.Source.ONLINE
    # The machine file lic checked out (aes-256-gcm+ed25519) answers offline.
    assert c.validate(offline_only=True).source is lic.Source.CACHED_FILE
