"""Bundles liblic and tags the wheel for its platform (metadata is in pyproject.toml).

The package itself is pure Python (ctypes). Where its native library comes from:

* a ``liblic.*`` already in ``lic/`` (``build-wheel.sh`` copies one there) is
  bundled as it is;
* else, in a lic checkout (``pip install ./bindings/python``), liblic is built
  from the repository with ``cargo build --release -p lic`` and bundled, so a
  Python user never sets ``LIC_LIBRARY``; ``LIC_CARGO_TARGET`` names another
  Rust target triple to build for;
* else (a copy of the package alone) the wheel is pure, ``py3-none-any``,
  and finds the library through ``LIC_LIBRARY`` or the system search path.

A wheel that bundles the library carries native code: it is tagged
``py3-none-<platform>`` (any Python 3, no Python ABI, this platform) and
installed as platform-specific (``Root-Is-Purelib: false``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py as _build_py

LIBRARIES = ("liblic.so", "liblic.dylib", "lic.dll")  # as lic/_native.py looks for them
HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "lic"
BUNDLED = any((PACKAGE / name).exists() for name in LIBRARIES)
REPO = HERE.parent.parent
IN_CHECKOUT = (REPO / "Cargo.toml").is_file() and (REPO / "include" / "lic.h").is_file() and (
    REPO / "bindings" / "python" / "setup.py"
).resolve() == Path(__file__).resolve()
BUILDS_LIBRARY = not BUNDLED and IN_CHECKOUT and os.environ.get("LIC_PYTHON_PURE") != "1"


def _library_name(triple: str) -> str:
    if "windows" in triple:
        return "lic.dll"
    if "apple" in triple or "darwin" in triple:
        return "liblic.dylib"
    return "liblic.so"


def cargo_build() -> Path:
    """Builds liblic in release from the checkout; returns the library's path."""
    triple = os.environ.get("LIC_CARGO_TARGET", "")
    cargo = os.environ.get("CARGO", "cargo")
    if shutil.which(cargo) is None:
        raise SystemExit(
            "building lic's Python package from a checkout compiles liblic with Rust's cargo, "
            "which is not on PATH: install Rust (rustup), or install a lic wheel instead"
        )
    cmd = [cargo, "build", "--release", "-p", "lic", "--lib"] + (["--target", triple] if triple else [])
    subprocess.run(cmd, cwd=REPO, check=True)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target_dir.is_absolute():
        target_dir = REPO / target_dir
    built = target_dir / triple / "release" if triple else target_dir / "release"

    name = _library_name(triple or sys.platform)
    lib = built / name
    if not lib.is_file():
        raise SystemExit(f"cargo built no {lib}")
    return lib


class build_py(_build_py):
    """Also puts the freshly built liblic into the package (checkout builds)."""

    def run(self) -> None:
        super().run()
        if BUILDS_LIBRARY:
            lib = cargo_build()
            dest = Path(self.build_lib) / "lic" / lib.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest)


class BinaryDistribution(Distribution):
    """With a bundled library the distribution is not pure: it is built and
    installed as platform-specific (platlib, ``Root-Is-Purelib: false``)."""

    def has_ext_modules(self) -> bool:
        return BUNDLED or BUILDS_LIBRARY


# setuptools' own bdist_wheel (>= 70.1) or the one from the wheel package.
_bdist_wheel = Distribution().get_command_class("bdist_wheel")


class bdist_wheel(_bdist_wheel):  # type: ignore[misc, valid-type]
    def get_tag(self):  # type: ignore[no-untyped-def]
        # Not cp311-cp311-...: the native code is loaded through ctypes, so any
        # Python 3 on this platform can use the wheel.
        python, abi, plat = super().get_tag()
        return (self.python_tag, "none", plat) if BUNDLED or BUILDS_LIBRARY else (python, abi, plat)


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": bdist_wheel, "build_py": build_py})
