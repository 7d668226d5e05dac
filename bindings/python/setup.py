"""Tags a wheel that bundles liblic for its platform (metadata is in pyproject.toml).

The package itself is pure Python (ctypes), so a plain build is
``py3-none-any``. With a ``liblic.*`` copied into ``lic/`` (``build-wheel.sh``
does that) the wheel carries native code: it is then tagged
``py3-none-<platform>`` (any Python 3, no Python ABI, this platform) and
installed as platform-specific (``Root-Is-Purelib: false``).
"""

from pathlib import Path

from setuptools import Distribution, setup

LIBRARIES = ("liblic.so", "liblic.dylib", "lic.dll")  # as lic/_native.py looks for them
PACKAGE = Path(__file__).resolve().parent / "lic"
BUNDLED = any((PACKAGE / name).exists() for name in LIBRARIES)


class BinaryDistribution(Distribution):
    """With a bundled library the distribution is not pure: it is built and
    installed as platform-specific (platlib, ``Root-Is-Purelib: false``)."""

    def has_ext_modules(self) -> bool:
        return BUNDLED


# setuptools' own bdist_wheel (>= 70.1) or the one from the wheel package.
_bdist_wheel = Distribution().get_command_class("bdist_wheel")


class bdist_wheel(_bdist_wheel):  # type: ignore[misc, valid-type]
    def get_tag(self):  # type: ignore[no-untyped-def]
        # Not cp311-cp311-...: the native code is loaded through ctypes, so any
        # Python 3 on this platform can use the wheel.
        python, abi, plat = super().get_tag()
        return (self.python_tag, "none", plat) if BUNDLED else (python, abi, plat)


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": bdist_wheel})
