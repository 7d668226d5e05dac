"""`build-wheel.sh` gives a platform wheel that bundles liblic and works with no LIC_LIBRARY."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Set

import lic
from conftest import LIBRARY, PY_BINDING

PROBE = "import lic; print(lic.library_version()); print(lic.library_path())"


def tree(root: Path) -> Set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if "__pycache__" not in p.parts}


def test_build_wheel_bundles_the_library(tmp_path: Path) -> None:
    before = tree(PY_BINDING)
    out = tmp_path / "dist"
    built = subprocess.run(
        ["sh", str(PY_BINDING / "build-wheel.sh"), str(LIBRARY), str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHON": sys.executable},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = Path(built.stdout.strip().splitlines()[-1])
    assert wheel.parent == out and wheel.exists(), built.stdout
    assert tree(PY_BINDING) == before, "build-wheel.sh left files in the source tree"

    # Tagged for this platform (it carries native code), for any Python 3 (ctypes, no ABI).
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert not wheel.name.endswith("-none-any.whl"), wheel.name
    assert wheel.name == f"lic-{lic.__version__}-py3-none-{platform}.whl"
    with zipfile.ZipFile(wheel) as z:
        assert f"lic/{LIBRARY.name}" in z.namelist()
        meta = z.read(f"lic-{lic.__version__}.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false" in meta and f"Tag: py3-none-{platform}" in meta

    # Installed into a fresh venv, it imports with no LIC_LIBRARY: the bundled copy is found.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--no-deps", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LIC_LIBRARY", "PYTHONPATH")}
    ran = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=60)
    assert ran.returncode == 0, ran.stderr
    version, path = ran.stdout.splitlines()
    assert version == lic.library_version()
    assert Path(path).name == LIBRARY.name and Path(path).parent.name == "lic"
    assert Path(path).resolve().is_relative_to(venv.resolve()), path
