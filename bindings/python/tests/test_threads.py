"""One client shared by threads (ctypes releases the GIL during each call)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import lic


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
