#!/usr/bin/env python3
"""Offline validation per call through the Python binding beside the same call from C.

    python3 bindings/python/bench_offline.py [--iterations N]

Starts a lic-devserver, creates a node-locked license, activates this
"machine" (a fixed fingerprint) so lic caches a machine file, stops using the
server and times ``validate(offline_only=True)`` (+ reading ``code``, + free)
through the binding and through bindings/bench_offline.c compiled with cc.
Uses target/debug (or LIC_LIBRARY / LIC_DEVSERVER).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE))

import conftest  # noqa: E402  (sets LIC_LIBRARY, builds if needed)
import lic  # noqa: E402


def bench_python(client: lic.Client, iterations: int) -> float:
    for _ in range(iterations // 10 + 1):
        client.validate(offline_only=True).code
    start = time.perf_counter_ns()
    for _ in range(iterations):
        r = client.validate(offline_only=True)
        if r.code is not lic.Code.VALID:
            raise SystemExit("not VALID")
        r.close()
    return (time.perf_counter_ns() - start) / iterations


def compile_c(work: Path) -> Path:
    exe = work / "bench_offline"
    lib_dir = conftest.LIBRARY.parent
    subprocess.run(
        ["cc", "-O2", "-std=c99", "-I", str(ROOT / "include"), str(ROOT / "bindings" / "bench_offline.c"),
         "-o", str(exe), "-L", str(lib_dir), f"-Wl,-rpath,{lib_dir}", "-llic"],
        check=True,
    )
    return exe


def bench_c(exe: Path, env: dict, iterations: int) -> float:
    out = subprocess.run([str(exe), str(iterations)], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5, help="alternating C/Python rounds; the minimum is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = conftest.DevServer(work / "devserver.log")
        try:
            admin = conftest.Admin(server.info)
            _, key = admin.license(admin.node_locked_policy())
            env = {
                "LIC_ACCOUNT_ID": admin.account_id,
                "LIC_API_URL": admin.base_url,
                "LIC_PUBLIC_KEY": admin.public_key,
                "LIC_LICENSE_KEY": key,
                "LIC_FINGERPRINT": "bench-fp",
                "LIC_CACHE_DIR": str(work / "cache"),
            }
            with lic.Client(account_id=env["LIC_ACCOUNT_ID"], api_url=env["LIC_API_URL"],
                            public_key=env["LIC_PUBLIC_KEY"], license_key=key,
                            fingerprint="bench-fp", cache_dir=env["LIC_CACHE_DIR"]) as client:
                assert client.validate(auto_activate=True).code is lic.Code.VALID
                exe = compile_c(work)
                c_runs, py_runs = [], []
                for _ in range(args.rounds):  # alternate, so machine load hits both alike
                    c_runs.append(bench_c(exe, env, args.iterations))
                    py_runs.append(bench_python(client, args.iterations))
                c_ns, py_ns = min(c_runs), min(py_runs)
                # The binding's own cost per native call, with no lic work behind it.
                r = client.validate(offline_only=True)
                n = 200_000
                start = time.perf_counter_ns()
                for _ in range(n):
                    r.code
                prop_ns = (time.perf_counter_ns() - start) / n
        finally:
            server.stop()
    print(f"library: {conftest.LIBRARY}")
    print(f"offline validate, {args.iterations} calls per round, best of {args.rounds} alternating rounds")
    print(f"  C      {c_ns / 1000:9.2f} us/call")
    print(f"  Python {py_ns / 1000:9.2f} us/call")
    print(f"  ratio  {py_ns / c_ns:9.3f}  (binding overhead {(py_ns - c_ns) / 1000:+.2f} us/call)")
    print(f"  one property read through the binding (result.code): {prop_ns:.0f} ns")
    print(f"  all rounds: C {[round(x / 1000, 1) for x in c_runs]} us, Python {[round(x / 1000, 1) for x in py_runs]} us")


if __name__ == "__main__":
    main()
