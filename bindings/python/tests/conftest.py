"""Shared fixtures: the built liblic, a lic-devserver subprocess and its admin API.

The repo root is found from this file; ``target/debug/liblic.so`` and
``target/debug/lic-devserver`` are built with cargo when missing.
``LIC_LIBRARY`` and ``LIC_DEVSERVER`` override the paths.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[3]
PY_BINDING = ROOT / "bindings" / "python"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
LIB_NAME = {"darwin": "liblic.dylib", "win32": "lic.dll"}.get(sys.platform, "liblic.so")


def _ensure_built() -> Tuple[Path, Path]:
    lib = Path(os.environ.get("LIC_LIBRARY") or TARGET / LIB_NAME)
    server = Path(os.environ.get("LIC_DEVSERVER") or TARGET / "lic-devserver")
    if not lib.exists() or not server.exists():
        subprocess.run(
            ["cargo", "build", "-p", "lic", "-p", "lic-devserver"],
            cwd=ROOT,
            check=True,
            env={**os.environ, "CARGO_BUILD_JOBS": os.environ.get("CARGO_BUILD_JOBS", "1")},
        )
    return lib, server


LIBRARY, DEVSERVER = _ensure_built()
# Must be set before `import lic` anywhere in the tests.
os.environ["LIC_LIBRARY"] = str(LIBRARY)
if str(PY_BINDING) not in sys.path:
    sys.path.insert(0, str(PY_BINDING))

import lic  # noqa: E402


class Admin:
    """Keygen's admin API on the devserver (JSON:API, Bearer admin token), via urllib."""

    def __init__(self, info: Dict[str, Any]) -> None:
        self.base_url: str = info["base_url"]
        self.token: str = info["admin_token"]
        self.account_id: str = info["account_id"]
        self.public_key: str = info["public_key"]
        self.product_id: str = info["product_id"]

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        ct = "application/json" if path.startswith("/v1/dev/") else "application/vnd.api+json"
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": ct, "Accept": ct},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, (json.loads(raw) if raw else None)

    def expect(self, method: str, path: str, body: Any, status: int) -> Any:
        got, value = self.request(method, path, body)
        assert got == status, f"{method} {path}: expected {status}, got {got}: {value}"
        return value

    def policy(self, **attrs: Any) -> str:
        a = {"name": "policy", "authenticationStrategy": "LICENSE", **attrs}
        body = {
            "data": {
                "type": "policies",
                "attributes": a,
                "relationships": {"product": {"data": {"type": "products", "id": self.product_id}}},
            }
        }
        return self.expect("POST", "/v1/policies", body, 201)["data"]["id"]

    def node_locked_policy(self, **attrs: Any) -> str:
        return self.policy(strict=True, floating=False, maxMachines=1, **attrs)

    def license(self, policy_id: str, **attrs: Any) -> Tuple[str, str]:
        body = {
            "data": {
                "type": "licenses",
                "attributes": attrs,
                "relationships": {"policy": {"data": {"type": "policies", "id": policy_id}}},
            }
        }
        v = self.expect("POST", "/v1/licenses", body, 201)
        return v["data"]["id"], v["data"]["attributes"]["key"]

    def entitle(self, license_id: str, code: str) -> None:
        body = {"data": {"type": "entitlements", "attributes": {"name": code, "code": code}}}
        ent = self.expect("POST", "/v1/entitlements", body, 201)["data"]["id"]
        link = {"data": [{"type": "entitlements", "id": ent}]}
        got, value = self.request("POST", f"/v1/licenses/{license_id}/entitlements", link)
        assert got in (200, 201, 204), value

    def suspend(self, license_id: str) -> None:
        self.expect("POST", f"/v1/licenses/{license_id}/actions/suspend", None, 200)

    def checkout_machine(self, machine_id: str) -> str:
        body = {"meta": {"include": ["license", "license.entitlements"], "encrypt": True}}
        v = self.expect("POST", f"/v1/machines/{machine_id}/actions/check-out", body, 200)
        return v["data"]["attributes"]["certificate"]

    def process_status(self, process_id: str) -> Optional[str]:
        """A process's status (ALIVE, DEAD, ...), None when the server has no such process."""
        got, value = self.request("GET", f"/v1/processes/{process_id}")
        return value["data"]["attributes"]["status"] if got == 200 else None

    def process(self, process_id: str) -> Dict[str, Any]:
        return self.expect("GET", f"/v1/processes/{process_id}", None, 200)["data"]

    def fault(self, mode: str, **kw: Any) -> None:
        self.expect("POST", "/v1/dev/faults", {"mode": mode, **kw}, 201)

    def clear_faults(self) -> None:
        self.expect("DELETE", "/v1/dev/faults", None, 200)


class DevServer:
    def __init__(self, log_path: Path) -> None:
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            # Heartbeat durations down to 1 s (Keygen's minimum is 60) keep
            # the slot and event tests short.
            [str(DEVSERVER), "--bootstrap", "--min-heartbeat-duration", "1"],
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"lic-devserver printed nothing; see {log_path}")
        self.info: Dict[str, Any] = json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Relay:
    """``lic-devserver relay``: a Keygen Relay loaded with license files the devserver
    above checked out (``--keygen``), plus its dev extensions (faults, licenses)."""

    def __init__(self, admin: Admin, license_ids: List[str], log_path: Path, *args: str) -> None:
        self.log = open(log_path, "wb")
        cmd = [
            str(DEVSERVER), "relay",
            "--public-key", admin.public_key,
            "--keygen", admin.base_url,
            "--keygen-admin-token", admin.token,
            "--license", ",".join(license_ids),
            *args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"lic-devserver relay printed nothing; see {log_path}")
        self.info: Dict[str, Any] = json.loads(line)
        self.url: str = self.info["relay_url"]

    def dev(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.info['admin_token']}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, (json.loads(raw) if raw else None)

    def holders(self) -> Dict[str, Optional[str]]:
        """license id -> the node leasing it (None when free)."""
        status, body = self.dev("GET", "/v1/dev/licenses")
        assert status == 200, body
        return {row["id"]: row["node"] for row in body["licenses"]}

    def fault(self, mode: str, **kw: Any) -> None:
        status, body = self.dev("POST", "/v1/dev/faults", {"mode": mode, **kw})
        assert status == 201, body

    def clear_faults(self) -> None:
        self.dev("DELETE", "/v1/dev/faults")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def make_relay(admin: Admin, tmp_path: Path) -> Iterator[Any]:
    """make_relay(n, *flags) -> a Relay leasing n fresh licenses of a plain policy."""
    made: List[Relay] = []

    def make(n: int, *flags: str) -> Relay:
        policy = admin.policy(name="relay seats")
        ids = [admin.license(policy)[0] for _ in range(n)]
        r = Relay(admin, ids, tmp_path / f"relay-{len(made)}.log", *flags)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    s = DevServer(tmp_path_factory.mktemp("devserver") / "devserver.log")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def admin(server: DevServer) -> Admin:
    return Admin(server.info)


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "admin" in request.fixturenames:
        request.getfixturevalue("admin").clear_faults()


_fp_counter = itertools.count()


@pytest.fixture
def unique() -> Any:
    """unique("fp") -> "fp-<n>-<pid>", so tests never share machines."""
    return lambda prefix: f"{prefix}-{next(_fp_counter)}-{os.getpid()}"


@pytest.fixture
def license(admin: Admin) -> Tuple[str, str]:
    """A fresh node-locked license (maxMachines 1): (id, key)."""
    return admin.license(admin.node_locked_policy())


@pytest.fixture
def make_client(admin: Admin, tmp_path: Path) -> Iterator[Any]:
    """make_client(key, fingerprint, **settings) -> lic.Client against the devserver."""
    made: List[lic.Client] = []

    def make(key: str, fingerprint: Optional[str], **settings: Any) -> lic.Client:
        cfg: Dict[str, Any] = dict(
            account_id=admin.account_id,
            api_url=admin.base_url,
            public_key=admin.public_key,
            license_key=key,
            fingerprint=fingerprint,
            cache_dir=tmp_path / "cache",
            timeout_ms=3000,
        )
        cfg.update(settings)
        c = lic.Client(**cfg)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
