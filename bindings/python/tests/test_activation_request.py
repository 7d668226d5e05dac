"""QR-code activation of an air-gapped machine: the request and its QR code,
and the whole flow with the portal's part done through the admin API."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest

import lic


def payload_of(text: str) -> dict:
    """The request's JSON, decoded here independently of lic (format v1)."""
    token = text.rsplit("#", 1)[-1]
    assert token.startswith("lic1.")
    body = token[len("lic1.") :]
    assert "=" not in body  # base64url without padding
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    # Compact JSON, keys in the documented order.
    assert b" " not in raw.replace(b'"Acme CAD"', b"")
    return json.loads(raw)


def png_size(png: bytes) -> tuple:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert zlib.crc32(png[12:29]) == struct.unpack(">I", png[29:33])[0]
    return width, height, depth, color


def test_request_carries_key_fingerprint_and_host_facts(make_client, unique) -> None:
    fp = unique("py-qr")
    c = make_client("PY-KEY-1234", fp)
    r = c.activation_request(portal_url="https://activate.example.com/", app_name="Acme CAD")
    assert isinstance(r, lic.ActivationRequest)
    assert r.text.startswith("https://activate.example.com/#lic1.")
    p = payload_of(r.text)
    assert list(p)[:3] == ["v", "k", "f"]
    assert (p["v"], p["k"], p["f"], p["a"]) == (1, "PY-KEY-1234", fp, "Acme CAD")
    assert "/" in p["p"]  # os/arch
    assert list(p) == [k for k in ["v", "k", "f", "h", "p", "a"] if k in p]

    width, height, depth, color = png_size(r.png)
    assert width == height and width >= 21 * 8 and (depth, color) == (1, 0)
    assert r.svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"") and r.svg.rstrip().endswith("</svg>")
    lines = r.terminal.splitlines()
    assert len({len(line) for line in lines}) == 1 and set("".join(lines)) <= set(" ▀▄█")
    assert "PY-KEY-1234" not in repr(r)


def test_request_options_leave_facts_out(make_client, unique) -> None:
    c = make_client("PY-KEY-5678", unique("py-qr-bare"))
    r = c.activation_request(hostname=False, platform=False)
    assert r.text.startswith("lic1.")
    assert set(payload_of(r.text)) == {"v", "k", "f"}


def test_bad_portal_url_raises(make_client, unique) -> None:
    c = make_client("PY-KEY-9", unique("py-qr-bad"))
    with pytest.raises(lic.InvalidArgumentError) as e:
        c.activation_request(portal_url="https://x/#already-a-fragment")
    assert e.value.status is lic.Status.INVALID_ARGUMENT and "fragment" in e.value.message


def test_air_gapped_flow_end_to_end(admin, make_client, license, unique, tmp_path) -> None:
    _, key = license
    device = make_client(key, unique("py-airgap"), api_url="http://127.0.0.1:9")  # never reachable
    request = payload_of(device.activation_request(portal_url="http://portal.invalid/").text)

    # The portal's part (lic-portal does it with the license key; here the
    # admin API stands in): activate the request's fingerprint, check out.
    lic_id = admin.expect("GET", f"/v1/licenses/{request['k']}", None, 200)["data"]["id"]
    body = {
        "data": {
            "type": "machines",
            "attributes": {"fingerprint": request["f"], "platform": request["p"]},
            "relationships": {"license": {"data": {"type": "licenses", "id": lic_id}}},
        }
    }
    machine = admin.expect("POST", "/v1/machines", body, 201)["data"]["id"]
    path = tmp_path / "machine.lic"
    path.write_text(admin.checkout_machine(machine))

    device.load_file(str(path))
    r = device.validate(offline_only=True)
    assert (r.code, r.valid, r.source) == (lic.Code.VALID, True, lic.Source.LOADED_FILE)
