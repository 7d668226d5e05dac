#!/usr/bin/env python3
"""Builds Lic.<version>.nupkg: the managed binding and the native libraries.

    bindings/csharp/pack.py LIC_DLL DIST_DIR OUT_DIR

LIC_DLL is the compiled binding (netstandard2.0 surface, built by
pack.sh); DIST_DIR holds scripts/dist's archives, whose libraries go to
runtimes/{linux-x64,linux-arm64,win-x64}/native/, where the .NET SDK and
NuGet look for a RID's native assets. The package is written here as the
zip (OPC) a .nupkg is, because Debian's nuget (2.8) predates the nuspec's
<license> and <readme> elements that an index now asks for.
"""
import io
import re
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def version() -> str:
    m = re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    assert m, "no version in Cargo.toml"
    return m.group(1)


def native(dist: Path, v: str):
    """(path in the package, bytes) of each platform's native library."""
    for rid in ("linux-x64", "linux-arm64"):
        with tarfile.open(dist / f"lic-{v}-{rid}.tar.gz") as t:
            yield f"runtimes/{rid}/native/liblic.so", t.extractfile(f"lic-{v}-{rid}/lib/liblic.so").read()
    with zipfile.ZipFile(dist / f"lic-{v}-win-x64.zip") as z:
        yield "runtimes/win-x64/native/lic.dll", z.read(f"lic-{v}-win-x64/bin/lic.dll")


def main() -> None:
    lic_dll, dist, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    v = version()
    nuspec = (HERE / "Lic.nuspec").read_text().replace("$version$", v)
    files = {
        "Lic.nuspec": nuspec.encode(),
        "README.md": (HERE / "README.md").read_bytes(),
        "LICENSE-MIT": (ROOT / "LICENSE-MIT").read_bytes(),
        "LICENSE-APACHE": (ROOT / "LICENSE-APACHE").read_bytes(),
        "lib/netstandard2.0/Lic.dll": lic_dll.read_bytes(),
        # mono maps DllImport("lic") to liblic.so with it; .NET ignores it.
        "lib/netstandard2.0/Lic.dll.config": (HERE / "Lic.dll.config").read_bytes(),
        # .NET Framework and mono projects (packages.config) get the native
        # library copied beside the app by this.
        "build/Lic.targets": (HERE / "Lic.targets").read_bytes(),
    }
    files.update(native(dist, v))
    content_types = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />'
        '<Default Extension="nuspec" ContentType="application/octet" />'
        '<Default Extension="psmdcp" ContentType="application/vnd.openxmlformats-package.core-properties+xml" />'
        '<Default Extension="dll" ContentType="application/octet" />'
        '<Default Extension="so" ContentType="application/octet" />'
        '<Default Extension="config" ContentType="application/octet" />'
        '<Default Extension="targets" ContentType="application/octet" />'
        '<Default Extension="md" ContentType="application/octet" />'
        '<Override PartName="/LICENSE-MIT" ContentType="application/octet" />'
        '<Override PartName="/LICENSE-APACHE" ContentType="application/octet" />'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/Lic.nuspec" Id="R1" />'
        '<Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"'
        ' Target="/package/services/metadata/core-properties/1.psmdcp" Id="R2" />'
        "</Relationships>"
    )
    core = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
        f"<dc:creator>The lic authors</dc:creator><dc:identifier>Lic</dc:identifier><version>{v}</version>"
        "<keywords>licensing keygen</keywords><lastModifiedBy>bindings/csharp/pack.py</lastModifiedBy>"
        "</coreProperties>"
    )
    out.mkdir(parents=True, exist_ok=True)
    pkg = out / f"Lic.{v}.nupkg"
    with zipfile.ZipFile(pkg, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", rels)
        z.writestr("package/services/metadata/core-properties/1.psmdcp", core)
        for name, data in files.items():
            z.writestr(name, data)
    print(pkg)


if __name__ == "__main__":
    main()
