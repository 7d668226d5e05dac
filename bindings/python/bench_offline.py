#!/usr/bin/env python3
"""Offline validation per call through the Python binding beside the same call from C,
and a cold offline validation beside Keygen's Python code path.

    python3 bindings/python/bench_offline.py [--iterations N] [--rows]

Starts a lic-devserver, creates a node-locked license, activates this
"machine" (a fixed fingerprint) so lic caches a machine file, stops using the
server and times ``validate(offline_only=True)`` (+ reading ``code``, + free)
through the binding and through bindings/bench_offline.c compiled with cc.
Uses target/debug (or LIC_LIBRARY / LIC_DEVSERVER).

The cold comparison uses Keygen's own vector ``shared/vectors/machine-python.lic``
(from keygen-sh/example-python-cryptographic-machine-files): a new Client,
``load_file``, ``validate(offline_only=True)``, ``close`` per op, against
``reference_open``, Keygen's documented Python verification of the same file
(``cryptography``'s Ed25519 ``verify`` and ``AESGCM.decrypt``, ``base64``,
``json``), written here after that example. ``--rows`` prints tab-separated
``row`` lines for ``cargo run --release --example bench``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
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
    # The constant is read once, as C compares with one: on Python 3.11 each
    # ``lic.Code.VALID`` costs 0.35-0.45 us (Enum's metaclass __getattr__
    # routes every class attribute read through a slow hook), which is
    # enum access, not the binding.
    VALID = lic.Code.VALID
    for _ in range(iterations // 10 + 1):
        client.validate(offline_only=True).code
    start = time.perf_counter_ns()
    for _ in range(iterations):
        r = client.validate(offline_only=True)
        if r.code is not VALID:
            raise SystemExit("not VALID")
        r.close()
    return (time.perf_counter_ns() - start) / iterations


VECTOR = ROOT.parent / "shared" / "vectors" / "machine-python.lic"
VECTOR_PUBLIC_KEY = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788"
VECTOR_LICENSE_KEY = "B10760-1B177D-656D1F-C03298-9AF89E-V3"
VECTOR_FINGERPRINT = "198e9fe586114844f6a4eaca5069b41a7ed43fb5a2df84892b69826d64573e39"


def reference_open(text: bytes, public_key: "object", license_key: str, fingerprint: str) -> dict:
    """Keygen's Python machine-file verification (example-python-cryptographic-machine-files):
    strip the armor, base64 and JSON the envelope, verify Ed25519 over ``machine/<enc>``,
    AES-256-GCM-decrypt with sha256(license key + fingerprint), JSON the dataset."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    payload = text.decode()
    payload = payload.replace("-----BEGIN MACHINE FILE-----\n", "").replace("-----END MACHINE FILE-----\n", "")
    data = json.loads(base64.b64decode(payload))
    enc, sig, alg = data["enc"], data["sig"], data["alg"]
    if alg != "aes-256-gcm+ed25519":
        raise ValueError("algorithm is not supported")
    public_key.verify(base64.b64decode(sig), ("machine/%s" % enc).encode())  # raises on a bad signature
    ciphertext, iv, tag = map(base64.b64decode, enc.split("."))
    digest = hashlib.sha256((license_key + fingerprint).encode()).digest()
    plaintext = AESGCM(digest).decrypt(iv, ciphertext + tag, None)
    return json.loads(plaintext.decode())


def bench_cold(iterations: int, work: Path) -> "tuple[float, float | None]":
    """ns per cold offline op through the binding, and through the reference (None without
    the cryptography package)."""
    text = VECTOR.read_bytes()
    cache = str(work / "cold-cache")
    FILE_EXPIRED = lic.Code.FILE_EXPIRED  # read once, as in bench_python

    def binding_op() -> None:
        c = lic.Client(account_id="bench-account", public_key=VECTOR_PUBLIC_KEY,
                       license_key=VECTOR_LICENSE_KEY, fingerprint=VECTOR_FINGERPRINT, cache_dir=cache)
        c.load_file(text)
        r = c.validate(offline_only=True)
        if r.code is not FILE_EXPIRED:  # the vector's file expired in 2022
            raise SystemExit(f"cold op: {r.code}")
        r.close()
        c.close()

    def timed(op: "object") -> float:
        for _ in range(iterations // 10 + 1):
            op()
        start = time.perf_counter_ns()
        for _ in range(iterations):
            op()
        return (time.perf_counter_ns() - start) / iterations

    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return timed(binding_op), None
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VECTOR_PUBLIC_KEY))

    def reference_op() -> None:
        doc = reference_open(text, key, VECTOR_LICENSE_KEY, VECTOR_FINGERPRINT)
        if doc["data"]["type"] != "machines":
            raise SystemExit("reference: not a machine file")

    b, r = [], []
    for _ in range(3):  # alternate, so machine load hits both alike
        b.append(timed(binding_op))
        r.append(timed(reference_op))
    return min(b), min(r)


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
    ap.add_argument("--rows", action="store_true", help="tab-separated rows for examples/bench.rs")
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
                r.close()
            cold_ns, ref_ns = bench_cold(max(args.iterations // 4, 100), work) if VECTOR.exists() else (None, None)
        finally:
            server.stop()
    if args.rows:
        print(f"row\tPython warm offline validate (+code, close)\t{py_ns / 1000:.2f} us"
              f"\tC {c_ns / 1000:.2f} us: binding overhead {(py_ns - c_ns) / 1000:+.2f} us (goal <= 3 us)")
        if cold_ns is None:
            print("row\tPython cold offline op\tno vector\tshared/vectors/machine-python.lic is missing")
        elif ref_ns is None:
            print(f"row\tPython cold offline op (new, load_file, validate)\t{cold_ns / 1000:.1f} us"
                  "\tno reference: the cryptography package is not installed")
        else:
            print(f"row\tPython cold offline op (new, load_file, validate)\t{cold_ns / 1000:.1f} us"
                  f"\tKeygen's Python path {ref_ns / 1000:.1f} us: {ref_ns / cold_ns:.2f}x faster (goal >= 3)")
        return
    print(f"library: {conftest.LIBRARY}")
    print(f"offline validate, {args.iterations} calls per round, best of {args.rounds} alternating rounds")
    print(f"  C      {c_ns / 1000:9.2f} us/call")
    print(f"  Python {py_ns / 1000:9.2f} us/call")
    print(f"  ratio  {py_ns / c_ns:9.3f}  (binding overhead {(py_ns - c_ns) / 1000:+.2f} us/call)")
    print(f"  one property read through the binding (result.code): {prop_ns:.0f} ns")
    if cold_ns is not None:
        print(f"cold offline op, {VECTOR.name}: binding {cold_ns / 1000:.1f} us"
              + ("" if ref_ns is None else f", Keygen's Python path {ref_ns / 1000:.1f} us ({ref_ns / cold_ns:.2f}x)"))
    print(f"  all rounds: C {[round(x / 1000, 1) for x in c_runs]} us, Python {[round(x / 1000, 1) for x in py_runs]} us")


if __name__ == "__main__":
    main()
