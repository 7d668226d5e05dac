"""`pip install bindings/python` gives an importable, typed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import LIBRARY, PY_BINDING

PROBE = "import lic, sys; print(lic.library_version(), lic.library_path(), lic.fingerprint('probe'))"


def pip_install(target: Path) -> None:
    # From a copy, so the build leaves nothing in the source tree; --no-build-isolation
    # builds with the installed setuptools and wheel, so no package index is needed.
    src = target.parent / "src"
    shutil.copytree(PY_BINDING, src, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".*"))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=120, cwd=target.parent,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def probe(target: Path, **env: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("LIC_LIBRARY", "PYTHONPATH")}
    e.update(env, PYTHONPATH=str(target))
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=e,
                          cwd=target.parent, timeout=60)


def test_pip_install_and_import(tmp_path) -> None:
    target = tmp_path / "site"
    pip_install(target)
    assert (target / "lic" / "py.typed").exists()
    assert (target / "lic" / "_native.py").exists()

    ok = probe(target, LIC_LIBRARY=str(LIBRARY))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("0.1.0 ") and str(LIBRARY) in ok.stdout

    # Without LIC_LIBRARY and no system copy: a clear ImportError naming what was tried.
    missing = probe(target, LIC_LIBRARY=str(tmp_path / "nope" / "liblic.so"))
    assert missing.returncode != 0
    assert "ImportError" in missing.stderr and "LIC_LIBRARY" in missing.stderr
    assert str(tmp_path / "nope" / "liblic.so") in missing.stderr

    # A library beside the package is found with no environment at all.
    shutil.copy(LIBRARY, target / "lic" / LIBRARY.name)
    beside = probe(target)
    assert beside.returncode == 0, beside.stderr
    assert str(target / "lic" / LIBRARY.name) in beside.stdout
