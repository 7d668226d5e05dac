"""One client shared by threads (ctypes releases the GIL during each call)."""

from __future__ import annotations

import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import lic
from lic import _native


def test_threads_share_one_client(make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-threads"))
    c.activate()

    def work(i: int) -> int:
        ok = 0
        for _ in range(10):
            r = c.validate(online_only=True)
            if r.code is lic.Code.VALID and r.license_key == key and r.valid:
                ok += 1
            # Errors on one thread carry that thread's message.
            try:
                c.load_file(f"/nonexistent/{i}.lic")
            except lic.OfflineFileError as e:
                if f"/nonexistent/{i}.lic" in e.message:
                    ok += 1
        return ok

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(8))) == [20] * 8
    c.deactivate()


def test_close_while_other_threads_call(make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-race"))
    c.activate()
    outcomes = []
    start = threading.Barrier(5)

    def work() -> None:
        start.wait()
        for _ in range(20):
            try:
                c.validate(offline_only=True)
                outcomes.append("ok")
            except ValueError:
                outcomes.append("closed")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait()
    c.close()  # freed when the last in-flight call returns
    for t in threads:
        t.join()
    assert len(outcomes) == 80 and "closed" in outcomes


def test_close_a_result_while_other_threads_read_it(make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-result-race"))
    c.activate()
    for _ in range(20):
        r = c.validate(offline_only=True)
        seen = []
        start = threading.Barrier(5)

        def read() -> None:
            start.wait()
            for _ in range(50):
                try:
                    seen.append((r.code, r.license_key))
                except ValueError:
                    seen.append("closed")

        threads = [threading.Thread(target=read) for _ in range(4)]
        for t in threads:
            t.start()
        start.wait()
        r.close()  # freed when the last read in flight returns
        for t in threads:
            t.join()
        assert len(seen) == 200
        assert all(s == "closed" or s == (lic.Code.VALID, key) for s in seen)
        assert r.closed
    c.close()


def test_a_raised_error_does_not_keep_a_closed_client_alive(make_client, unique) -> None:
    # The native client is owned by one pointer object (Client._h) that every
    # call in flight references; a traceback must not be one of them, or
    # close() would free later (and lic_client_free may release slots online).
    c = make_client("BAD-KEY", unique("py-tb"))
    native = weakref.ref(c._h)
    errors = []
    for call in (
        lambda: c.load_file("/nonexistent/x.lic"),
        lambda: c.load_file(b"not a license file"),
        lambda: c.validate(offline_only=True),
        c.check_signed_key,
    ):
        try:
            call()
        except lic.LicError as e:
            errors.append(e)  # keeps each traceback, and its frames, alive
    assert len(errors) == 4
    c.close()
    assert native() is None


def test_a_call_failing_while_another_thread_closes_keeps_lics_message(admin, make_client, license, unique) -> None:
    # The close frees the client when the failing call returns; that free
    # (a lic_ call on the calling thread) would clear the thread-local
    # message if it ran before the binding read it.
    _, key = license
    admin.fault("hang", delay_ms=5000)  # every request hangs past the client's timeout
    failures = []
    for _ in range(5):  # until a close lands while the call is in flight
        c = make_client(key, unique("py-close-fail"), timeout_ms=1000)
        got = []
        ready = threading.Barrier(2)

        def work() -> None:
            ready.wait()
            try:
                c.validate(online_only=True)
            except lic.LicError as e:
                got.append(e)
            except ValueError:
                got.append("closed before the call")

        t = threading.Thread(target=work)
        t.start()
        ready.wait()
        time.sleep(0.3)  # ordering only: the call lasts the 1 s timeout
        c.close()
        t.join()
        assert len(got) == 1
        if isinstance(got[0], lic.LicError):
            failures.append(got[0])
            break
    assert failures, "every close came before its call"
    e = failures[0]
    assert isinstance(e, lic.NetworkError), e
    generic = _native.lib.lic_status_str(int(e.status)).decode()
    assert e.message and e.message != generic, e.message
