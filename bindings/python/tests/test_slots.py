"""Process slots, the machine heartbeat and events, against the devserver
(started with --min-heartbeat-duration 1, so heartbeats come every second)."""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any, Callable, List

import pytest

import lic


def eventually(cond: Callable[[], bool], within: float = 6.0) -> bool:
    end = time.monotonic() + within
    while True:
        if cond():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


class Seen:
    """Events drained from a client with poll_events(), kept in order."""

    def __init__(self, client: lic.Client) -> None:
        self.client = client
        self.events: List[lic.Event] = []

    def drain(self) -> List[lic.Event]:
        self.events.extend(self.client.poll_events())
        return self.events

    def of(self, kind: lic.EventKind) -> List[lic.Event]:
        return [e for e in self.drain() if e.kind is kind]


def slot_license(admin: Any, max_processes: int = 2, heartbeat: int = 2, **attrs: Any) -> str:
    """A floating license with a process limit and a heartbeat window; its key."""
    policy = admin.policy(
        strict=True,
        floating=True,
        maxMachines=10,
        maxProcesses=max_processes,
        heartbeatDuration=heartbeat,
        **attrs,
    )
    return admin.license(policy)[1]


def test_slots_up_to_the_limit(admin, make_client, unique) -> None:
    key = slot_license(admin)
    c = make_client(key, unique("py-slots"))
    with pytest.raises(lic.LicenseRefusedError) as e:
        c.acquire_process_slot()
    assert e.value.status is lic.Status.MACHINE_NOT_ACTIVATED
    c.activate()

    first = c.acquire_process_slot("render 1")
    second = c.acquire_process_slot()
    assert first.id != second.id and len(first.id) == 36
    assert first.held and second.held
    assert admin.process(first.id)["attributes"]["metadata"]["label"] == "render 1"

    with pytest.raises(lic.NoProcessSlotAvailableError) as e:
        c.acquire_process_slot()
    assert isinstance(e.value, lic.LicenseRefusedError)
    assert e.value.status is lic.Status.PROCESS_LIMIT_EXCEEDED
    assert "MACHINE_PROCESS_LIMIT_EXCEEDED" in e.value.message
    assert "(2)" in e.value.message, e.value.message

    r = c.validate()
    assert (r.code, r.process_slots, r.max_processes) == (lic.Code.VALID, 2, 2)

    first.release()
    first.release()  # idempotent
    assert not first.held
    assert admin.process_status(first.id) is None
    third = c.acquire_process_slot()
    assert admin.process_status(third.id) == "ALIVE"
    assert c.validate().process_slots == 2
    for s in (first, second, third):
        s.close()


def test_with_releases_then_frees(admin, make_client, unique) -> None:
    key = slot_license(admin, max_processes=1)
    c = make_client(key, unique("py-with-slot"))
    c.activate()
    for _ in range(3):  # only one seat: each block must give it back
        with c.acquire_process_slot() as slot:
            slot_id = slot.id
            assert admin.process_status(slot_id) == "ALIVE"
        assert slot.closed and admin.process_status(slot_id) is None
    with pytest.raises(ValueError, match="closed"):
        slot.id
    with pytest.raises(ValueError, match="closed"):
        slot.held
    with pytest.raises(ValueError, match="closed"):
        slot.release()
    slot.close()  # idempotent
    assert "closed" in repr(slot)

    # Released inside the block, and the block raising: still one clean exit.
    with pytest.raises(RuntimeError):
        with c.acquire_process_slot() as slot:
            slot.release()
            raise RuntimeError("app failure")
    assert slot.closed
    c.acquire_process_slot().close()


def test_a_slot_keeps_its_client_and_closing_the_client_releases(admin, make_client, unique) -> None:
    key = slot_license(admin, max_processes=1)
    fp = unique("py-owner")
    make_client(key, fp).activate()
    c = lic.Client(
        account_id=admin.account_id, api_url=admin.base_url, public_key=admin.public_key,
        license_key=key, fingerprint=fp, timeout_ms=3000,
    )
    slot = c.acquire_process_slot()
    del c
    gc.collect()
    time.sleep(0.2)
    assert slot.held and admin.process_status(slot.id) == "ALIVE"  # the client lives on
    slot.close()

    c = make_client(key, fp)
    slot = c.acquire_process_slot()
    slot_id = slot.id
    c.close()  # lic_client_free releases what the client still holds
    assert admin.process_status(slot_id) is None
    assert not slot.held
    slot.release()  # after its client is gone: still fine
    slot.close()


def test_heartbeats_arrive_through_poll_events(admin, make_client, unique) -> None:
    key = slot_license(admin)
    c = make_client(key, unique("py-poll"))
    c.activate()
    with c.acquire_process_slot() as slot:
        seen = Seen(c)
        assert eventually(lambda: len(seen.of(lic.EventKind.HEARTBEAT_SENT)) >= 2)
        e = seen.of(lic.EventKind.HEARTBEAT_SENT)[0]
        assert e.slot_id == slot.id
        assert (e.attempt, e.time_left_ms) == (0, None)
        assert e.message
        assert not seen.of(lic.EventKind.SLOT_LOST)
    assert c.dropped_events == 0


def test_an_outage_longer_than_the_window_loses_and_recovers_the_slot(admin, make_client, unique) -> None:
    key = slot_license(admin, max_processes=1)
    # A ping may retry a failed connection until the client's timeout; kept
    # well inside the 2 s window, the first failure leaves time to retry.
    c = make_client(key, unique("py-outage"), timeout_ms=400)
    c.activate()
    slot = c.acquire_process_slot()
    old = slot.id
    seen = Seen(c)
    admin.fault("offline", path="/v1/processes")
    assert eventually(lambda: bool(seen.of(lic.EventKind.SLOT_LOST)), within=8)
    assert not slot.held
    failed = seen.of(lic.EventKind.HEARTBEAT_FAILED)
    assert failed and failed[0].attempt == 1 and failed[0].slot_id == old
    assert all(e.time_left_ms is not None and 0 <= e.time_left_ms < 3000 for e in failed)
    admin.clear_faults()
    assert eventually(lambda: bool(seen.of(lic.EventKind.SLOT_RECOVERED)), within=8)
    assert slot.held and slot.id != old
    assert seen.of(lic.EventKind.SLOT_RECOVERED)[0].slot_id == slot.id
    assert admin.process_status(slot.id) == "ALIVE"
    slot.close()


def test_validation_events(admin, make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-vevents"))
    assert c.validate().code is lic.Code.NO_MACHINE
    assert list(c.poll_events()) == []
    c.activate()
    assert c.validate().code is lic.Code.VALID
    admin.fault("offline", path="validate-key")
    assert c.validate().source is lic.Source.CACHED_FILE
    admin.clear_faults()
    assert c.validate().source is lic.Source.ONLINE
    events = list(c.poll_events())
    assert [e.kind for e in events] == [
        lic.EventKind.LICENSE_STATE_CHANGED,
        lic.EventKind.OFFLINE_ENTERED,
        lic.EventKind.OFFLINE_LEFT,
    ]
    assert events[0].message == "NO_MACHINE -> VALID"
    assert events[0].slot_id is None and events[0].time_left_ms is None


def test_on_event_callback_receives_events_instead_of_the_queue(admin, make_client, unique) -> None:
    key = slot_license(admin)
    got: List[lic.Event] = []
    threads = set()

    def on_event(e: lic.Event) -> None:
        threads.add(threading.get_ident())
        got.append(e)

    c = make_client(key, unique("py-callback"), on_event=on_event)
    del on_event
    gc.collect()  # the client keeps the ctypes callback alive
    c.activate()
    with c.acquire_process_slot() as slot:
        assert eventually(lambda: any(e.kind is lic.EventKind.HEARTBEAT_SENT for e in got))
        sent = next(e for e in got if e.kind is lic.EventKind.HEARTBEAT_SENT)
        assert sent.slot_id == slot.id
    assert threading.get_ident() not in threads  # lic's heartbeat thread
    assert list(c.poll_events()) == []
    c.close()  # stops the heartbeat thread: no callback after this
    n = len(got)
    time.sleep(1.2)
    assert len(got) == n


def test_an_exception_in_the_callback_is_logged_not_raised(admin, make_client, unique, caplog) -> None:
    key = slot_license(admin)
    calls = []

    def boom(e: lic.Event) -> None:
        calls.append(e.kind)
        raise RuntimeError("callback failure must not reach lic")

    with caplog.at_level(logging.ERROR, logger="lic"):
        c = make_client(key, unique("py-boom-events"), on_event=boom)
        assert c.validate().code is lic.Code.NO_MACHINES  # a floating license
        c.activate()
        with c.acquire_process_slot() as slot:
            assert eventually(lambda: calls.count(lic.EventKind.HEARTBEAT_SENT) >= 2)
            assert slot.held
        assert c.validate().code is lic.Code.VALID  # raised on this thread this time
        assert lic.EventKind.LICENSE_STATE_CHANGED in calls
    assert any(
        r.name == "lic" and r.exc_info and "callback failure" in str(r.exc_info[1]) for r in caplog.records
    )
    with pytest.raises(TypeError):
        make_client(key, unique("py-notcallable"), on_event=42)


def test_machine_heartbeat(admin, make_client, unique) -> None:
    policy = admin.policy(strict=True, floating=True, maxMachines=5, requireHeartbeat=True, heartbeatDuration=2)
    _, key = admin.license(policy)
    c = make_client(key, unique("py-machine-hb"))
    with pytest.raises(lic.LicenseRefusedError) as e:
        c.start_machine_heartbeat()
    assert e.value.status is lic.Status.MACHINE_NOT_ACTIVATED
    c.activate()
    c.start_machine_heartbeat()
    c.start_machine_heartbeat()  # already running
    seen = Seen(c)
    assert eventually(lambda: bool(seen.of(lic.EventKind.HEARTBEAT_SENT)))
    assert seen.of(lic.EventKind.HEARTBEAT_SENT)[0].slot_id is None
    assert c.validate(online_only=True).code is lic.Code.VALID
    c.stop_machine_heartbeat()
    c.stop_machine_heartbeat()  # not running


def test_slot_and_event_calls_after_close(admin, make_client, unique) -> None:
    key = slot_license(admin)
    c = make_client(key, unique("py-closed-slots"))
    c.activate()
    r = c.validate()
    c.close()
    for call in (
        c.acquire_process_slot,
        c.poll_events,
        c.poll_event,
        c.start_machine_heartbeat,
        c.stop_machine_heartbeat,
        lambda: c.dropped_events,
    ):
        with pytest.raises(ValueError, match="closed"):
            call()
    assert r.process_slots == 0
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.process_slots
