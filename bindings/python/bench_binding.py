#!/usr/bin/env python3
"""The Python binding's own cost per call, beside the floor of ctypes itself.

    python3 bindings/python/bench_binding.py [--blocks N] [--block-size N]

Where bench_offline.py compares the binding with a C program (two processes,
two sets of caches), this measures in one process, in interleaved blocks
(the minimum block is reported, so a noisy machine hurts less):

* ``ctypes floor``: ``lic_abi_version()`` (no argument) and
  ``lic_result_code(NULL)`` (one pointer, through the PyDLL function object
  the binding uses), calls that do no work in lic;
* ``lean ctypes``: the warm offline op as three bare ctypes calls
  (``lic_validate``, ``lic_result_code``, ``lic_result_free``) through the
  function objects the binding's hot path uses, with preallocated arguments
  and no handle bookkeeping: what this binding must pay; ``typed argtypes``
  is the same through the checked signatures (``lib.lic_validate`` ...);
* ``binding``: ``client.validate(offline_only=True)``, ``.code``, ``.close()``
  (or the result dropped);
* the same for the cold op on Keygen's vector (new, load_file, validate,
  close), through the binding and as bare ctypes calls, beside Keygen's
  Python path from bench_offline.py.

The binding's own layer is ``binding - lean``. Uses target/debug (or
LIC_LIBRARY / LIC_DEVSERVER), like bench_offline.py.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_offline as bo  # noqa: E402  (sets LIC_LIBRARY through conftest)
from bench_offline import conftest, lic  # noqa: E402
from lic import _native  # noqa: E402

OFFLINE = lic.client.VALIDATE_OFFLINE_ONLY


def blocks(ops: Dict[str, Callable[[int], None]], n_blocks: int, size: int) -> Dict[str, List[float]]:
    """ns per iteration of each op, one figure per block, the ops interleaved."""
    out: Dict[str, List[float]] = {k: [] for k in ops}
    for op in ops.values():
        op(size // 10 + 1)  # warm-up
    for _ in range(n_blocks):
        for name, op in ops.items():
            start = time.perf_counter_ns()
            op(size)
            out[name].append((time.perf_counter_ns() - start) / size)
    return out


def report(title: str, figures: Dict[str, List[float]]) -> None:
    print(title)
    for name, xs in figures.items():
        s = sorted(xs)
        print(f"  {name:<44} min {s[0] / 1000:7.3f} us   median {s[len(s) // 2] / 1000:7.3f} us")


def warm_ops(client: "lic.Client") -> Dict[str, Callable[[int], None]]:
    lib = _native.lib
    abi = lib.lic_abi_version
    validate = _native.validate_raw
    code = _native.result_code_raw
    free = _native.ResultRef._free
    handle = client._h
    VALID = int(lic.Code.VALID)
    # The typed signatures (argtypes checked by ctypes on every call).
    t_validate = lib.lic_validate
    t_code = lib.lic_result_code
    t_free = lib.lic_result_free
    t_handle = ctypes.cast(handle, _native.ClientP)

    def floor0(n: int) -> None:
        for _ in range(n):
            abi()

    def floor1(n: int) -> None:
        p = _native.ResultP()
        for _ in range(n):
            code(p)

    def lean(n: int) -> None:
        out = _native.ResultP()
        ref = ctypes.byref(out)
        for _ in range(n):
            if validate(handle, OFFLINE, ref):
                raise SystemExit("validate failed")
            if code(out) != VALID:
                raise SystemExit("not VALID")
            free(out)

    def lean_typed(n: int) -> None:
        out = _native.ResultP()
        ref = ctypes.byref(out)
        for _ in range(n):
            if t_validate(t_handle, OFFLINE, ref):
                raise SystemExit("validate failed")
            if t_code(out) != VALID:
                raise SystemExit("not VALID")
            t_free(out)

    def binding(n: int) -> None:
        V = lic.Code.VALID
        for _ in range(n):
            r = client.validate(offline_only=True)
            if r.code is not V:
                raise SystemExit("not VALID")
            r.close()

    def binding_gc(n: int) -> None:
        V = lic.Code.VALID
        for _ in range(n):
            if client.validate(offline_only=True).code is not V:
                raise SystemExit("not VALID")

    return {
        "ctypes floor: lic_abi_version()": floor0,
        "ctypes floor: lic_result_code(NULL), PyDLL": floor1,
        "lean ctypes: validate, code, free": lean,
        "lean ctypes, typed argtypes, CDLL": lean_typed,
        "binding: validate, .code, .close()": binding,
        "binding: validate, .code (freed by GC)": binding_gc,
    }


def cold_ops(cache: str) -> Dict[str, Callable[[int], None]]:
    lib = _native.lib
    text = bo.VECTOR.read_bytes()
    EXPIRED = lic.Code.FILE_EXPIRED
    settings = [
        (lib.lic_config_set_account_id, b"bench-account"),
        (lib.lic_config_set_public_key, bo.VECTOR_PUBLIC_KEY.encode()),
        (lib.lic_config_set_license_key, bo.VECTOR_LICENSE_KEY.encode()),
        (lib.lic_config_set_fingerprint, bo.VECTOR_FINGERPRINT.encode()),
        (lib.lic_config_set_cache_dir, cache.encode()),
    ]

    def lean(n: int) -> None:
        cfg = _native.ConfigP()
        cl = _native.ClientP()
        res = _native.ResultP()
        for _ in range(n):
            lib.lic_config_new(ctypes.byref(cfg))
            for fn, v in settings:
                fn(cfg, v)
            if lib.lic_client_new(cfg, ctypes.byref(cl)):
                raise SystemExit("client_new failed")
            lib.lic_config_free(cfg)
            lib.lic_client_load_file(cl, text, len(text))
            _native.validate_raw(cl, OFFLINE, ctypes.byref(res))
            if _native.result_code_raw(res) != int(EXPIRED):
                raise SystemExit("not FILE_EXPIRED")
            _native.ResultRef._free(res)
            lib.lic_client_free(cl)

    def binding(n: int) -> None:
        for _ in range(n):
            c = lic.Client(account_id="bench-account", public_key=bo.VECTOR_PUBLIC_KEY,
                           license_key=bo.VECTOR_LICENSE_KEY, fingerprint=bo.VECTOR_FINGERPRINT,
                           cache_dir=cache)
            c.load_file(text)
            r = c.validate(offline_only=True)
            if r.code is not EXPIRED:
                raise SystemExit("not FILE_EXPIRED")
            r.close()
            c.close()

    ops = {"lean ctypes: config, new, load_file, validate, free": lean, "binding: Client, load_file, validate, close": binding}
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return ops
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(bo.VECTOR_PUBLIC_KEY))

    def reference(n: int) -> None:
        for _ in range(n):
            bo.reference_open(text, key, bo.VECTOR_LICENSE_KEY, bo.VECTOR_FINGERPRINT)

    ops["Keygen's Python path (cryptography)"] = reference
    return ops


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=30)
    ap.add_argument("--block-size", type=int, default=500)
    ap.add_argument("--cold-only", action="store_true")
    args = ap.parse_args()
    print(f"library: {conftest.LIBRARY}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.cold_only:
            server = conftest.DevServer(work / "devserver.log")
            try:
                admin = conftest.Admin(server.info)
                _, key = admin.license(admin.node_locked_policy())
                with lic.Client(account_id=admin.account_id, api_url=admin.base_url,
                                public_key=admin.public_key, license_key=key,
                                fingerprint="bench-fp", cache_dir=str(work / "cache")) as client:
                    assert client.validate(auto_activate=True).code is lic.Code.VALID
                    report(f"warm offline op, {args.blocks} blocks of {args.block_size}",
                           blocks(warm_ops(client), args.blocks, args.block_size))
            finally:
                server.stop()
        if bo.VECTOR.exists():
            size = max(args.block_size // 10, 20)
            report(f"cold offline op ({bo.VECTOR.name}), {args.blocks} blocks of {size}",
                   blocks(cold_ops(str(work / "cold-cache")), args.blocks, size))


if __name__ == "__main__":
    main()
