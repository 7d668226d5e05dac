"""Components, the fingerprint report, background revalidation, the offline
grace and the diagnostics bundle, through the Python binding against the
devserver."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List, Optional

import lic


def eventually(cond: Callable[[], bool], within: float = 8.0) -> bool:
    end = time.monotonic() + within
    while True:
        if cond():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


def only(make_client: Any, key: str, fp: str, mine: Dict[str, str]) -> lic.Client:
    """A client that sends exactly the components ``mine`` (every built-in one excluded)."""
    probe = make_client(key, fp)
    builtin = [c["name"] for c in probe.fingerprint_report()["components"]]
    settings: Dict[str, Optional[str]] = {name: None for name in builtin}
    settings.update(mine)
    return make_client(key, fp, components=settings)


def test_components_go_with_activation_and_the_report_compares_them(admin, make_client, unique) -> None:
    _, key = admin.license(admin.node_locked_policy())
    c = make_client(
        key,
        unique("py-comp"),
        components={"machine_id": "host-id-42", "pod": "pod-7", "disk": None},
    )
    assert c.validate(auto_activate=True).code is lic.Code.VALID
    report = c.fingerprint_report()
    assert report["version"] == 1
    assert report["fingerprint"] == c.fingerprint
    by_name = {x["name"]: x for x in report["components"]}
    assert by_name["pod"]["source"] == "app" and by_name["pod"]["activated"] == "match"
    assert by_name["machine_id"]["source"] == "app"
    assert by_name["disk"]["sent"] is False
    machine = report["activated_machine"]
    assert machine["activated"] is True
    assert machine["matching"] == machine["components"] >= 2
    text = json.dumps(report)
    assert "host-id-42" not in text and "pod-7" not in text and key not in text


def test_matching_survives_a_disk_and_refuses_a_clone(admin, make_client, unique) -> None:
    policy = admin.node_locked_policy(requireComponentsScope=True, componentMatchingStrategy="MATCH_MOST")
    _, key = admin.license(policy)
    fp = unique("py-match")
    first = {"system_uuid": "uuid-1", "disk": "disk-1", "mac:eth0": "02:00:00:00:00:01"}
    assert only(make_client, key, fp, first).validate(auto_activate=True).code is lic.Code.VALID
    new_disk = dict(first, disk="disk-2")
    assert only(make_client, key, fp, new_disk).validate().code is lic.Code.VALID
    clone = dict(first, system_uuid="uuid-2")
    clone["mac:eth0"] = "02:00:00:00:00:02"
    assert only(make_client, key, fp, clone).validate().code is lic.Code.COMPONENTS_SCOPE_MISMATCH


def test_a_suspension_arrives_as_an_event(admin, make_client, unique) -> None:
    license_id, key = admin.license(admin.node_locked_policy())
    seen: List[lic.Event] = []
    c = make_client(key, unique("py-reval"), on_event=seen.append)
    assert c.validate(auto_activate=True).code is lic.Code.VALID
    c.start_revalidation(1)
    admin.suspend(license_id)
    changed = lambda: [e for e in list(seen) if e.kind is lic.EventKind.LICENSE_STATE_CHANGED]
    assert eventually(lambda: bool(changed())), seen
    e = changed()[0]
    assert (e.old_code, e.new_code) == (lic.Code.VALID, lic.Code.SUSPENDED)
    c.stop_revalidation()


def test_grace_getters_online_and_offline(admin, make_client, unique) -> None:
    _, key = admin.license(admin.node_locked_policy())
    c = make_client(key, unique("py-grace"), offline_grace_seconds=3600)
    v = c.validate(auto_activate=True)
    assert v.code is lic.Code.VALID and v.grace_seconds_left == 3600
    assert v.last_online_validation is not None and v.grace_expiry is not None
    assert (v.grace_expiry - v.last_online_validation).total_seconds() == 3600
    no_grace = make_client(key, unique("py-nograce"))
    assert no_grace.validate().grace_seconds_left is None
    admin.fault("offline")
    off = c.validate()
    assert off.source is lic.Source.CACHED_FILE and off.code is lic.Code.VALID
    assert 3500 < (off.grace_seconds_left or 0) <= 3600
    assert off.last_online_validation == v.last_online_validation


def test_diagnostics_hold_no_secret(admin, make_client, unique) -> None:
    _, key = admin.license(admin.node_locked_policy())
    c = make_client(key, unique("py-diag"), license_token="activ-py-secret-token")
    with_key = make_client(key, unique("py-diag2"))
    assert with_key.validate(auto_activate=True).valid
    for client in (c, with_key):
        doc = client.diagnostics()
        text = json.dumps(doc)
        assert key not in text and "activ-py-secret-token" not in text
        assert doc["version"] == 1 and doc["lic"]["abi"] == lic.ABI_VERSION
    doc = with_key.diagnostics()
    assert doc["history"][-1]["call"] == "validate" and doc["history"][-1]["code"] == "VALID"
    assert doc["cache"]["machine_file"]["verifies"] is True
