"""examples/python/node_locked.py against the devserver, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import PY_BINDING, ROOT

EXAMPLE = ROOT / "examples" / "python" / "node_locked.py"


def run(admin, key: str, fingerprint: str, cache, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(PY_BINDING),
        "LIC_ACCOUNT_ID": admin.account_id,
        "LIC_API_URL": admin.base_url,
        "LIC_PUBLIC_KEY": admin.public_key,
        "LIC_LICENSE_KEY": key,
        "LIC_FINGERPRINT": fingerprint,
        "LIC_CACHE_DIR": str(cache),
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_node_locked_example(admin, license, unique, tmp_path) -> None:
    _, key = license
    fp_a, fp_b = unique("ex-a"), unique("ex-b")

    first = run(admin, key, fp_a, tmp_path / "a")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "verdict: NO_MACHINE" in first.stdout and "activating this machine" in first.stdout
    assert "verdict: VALID" in first.stdout and "=> licensed" in first.stdout

    second = run(admin, key, fp_a, tmp_path / "a")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "activating" not in second.stdout and "verdict: VALID" in second.stdout
    assert "signature verified" in second.stdout

    # Another machine: locked elsewhere; the user declines, then accepts the move.
    declined = run(admin, key, fp_b, tmp_path / "b", stdin="n\n")
    assert declined.returncode == 1
    assert "FINGERPRINT_SCOPE_MISMATCH" in declined.stdout
    assert "Move it to this machine? [y/N]" in declined.stdout and "not moved" in declined.stdout
    moved = run(admin, key, fp_b, tmp_path / "b", stdin="y\n")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "moved: this machine is now activated." in moved.stdout

    gone = run(admin, key, fp_b, tmp_path / "b", "--deactivate")
    assert gone.returncode == 0 and "deactivated" in gone.stdout
    again = run(admin, key, fp_b, tmp_path / "b", "--deactivate")
    assert again.returncode == 1 and "deactivation failed" in again.stderr


def test_example_reports_configuration_errors(admin, tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PY_BINDING)}
    for k in ("LIC_ACCOUNT_ID", "LIC_API_URL"):
        env.pop(k, None)
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1 and "configuration failed" in out.stderr
