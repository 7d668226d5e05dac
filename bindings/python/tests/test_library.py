"""The library as loaded: versions, symbol table and enums against include/lic.h."""

from __future__ import annotations

import re
from typing import Dict

import pytest

import lic
from lic import _native
from lic.errors import _class_for

from conftest import ROOT

HEADER = (ROOT / "include" / "lic.h").read_text(encoding="utf-8")


def header_functions() -> set:
    # Declarations: a return type, then lic_name( at the start of a line.
    return set(re.findall(r"^[A-Za-z_][\w \*]*?\b(lic_\w+)\(", HEADER, re.M))


def header_enum(prefix: str) -> Dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(rf"^\s+{prefix}_(\w+) = (-?\d+),", HEADER, re.M)}


def test_versions() -> None:
    assert lic.library_version() == "0.1.0"
    assert _native.lib.lic_abi_version() == lic.ABI_VERSION
    m = re.search(r"#define LIC_ABI_VERSION (\d+)", HEADER)
    assert m and int(m.group(1)) == lic.ABI_VERSION


def test_every_header_function_is_bound_with_types() -> None:
    declared = header_functions()
    assert len(declared) > 70
    bound = set(_native._SIGNATURES)
    assert declared - bound == set(), "functions in lic.h missing from _native._SIGNATURES"
    assert bound - declared == set(), "bound functions that lic.h does not declare"
    for name in bound:
        fn = getattr(_native.lib, name)
        assert fn.argtypes is not None, name
        # restype stays the default c_int only where the C type is int32_t.


@pytest.mark.parametrize(
    "enum, prefix",
    [
        (lic.Status, "LIC_STATUS"),
        (lic.Code, "LIC_CODE"),
        (lic.Source, "LIC_SOURCE"),
        (lic.ClockState, "LIC_CLOCK_STATE"),
        (lic.SignedPart, "LIC_SIGNED_PART"),
        (lic.EventKind, "LIC_EVENT_KIND"),
    ],
)
def test_enums_mirror_the_header(enum, prefix) -> None:
    assert {e.name: int(e) for e in enum} == header_enum(prefix)


def test_status_and_code_texts() -> None:
    assert lic.Status.TIMEOUT.text == "timed out"
    assert _native.lib.lic_code_str(int(lic.Code.FINGERPRINT_SCOPE_MISMATCH)) == b"FINGERPRINT_SCOPE_MISMATCH"


def test_every_status_maps_to_an_exception_class() -> None:
    assert _class_for(lic.Status.MACHINE_LIMIT_EXCEEDED) is lic.MachineLimitError
    assert _class_for(lic.Status.PROCESS_LIMIT_EXCEEDED) is lic.NoProcessSlotAvailableError
    assert _class_for(lic.Status.SIGNATURE_INVALID) is lic.SignatureError
    assert _class_for(lic.Status.RESPONSE_MISMATCH) is lic.SignatureError
    assert _class_for(lic.Status.NETWORK_ERROR) is lic.NetworkError
    assert _class_for(lic.Status.SERVER_ERROR) is lic.ServerError
    assert _class_for(lic.Status.NO_OFFLINE_DATA) is lic.OfflineFileError
    assert _class_for(lic.Status.INSECURE_URL) is lic.ConfigError
    assert _class_for(lic.Status.INVALID_UTF8) is lic.InvalidArgumentError
    assert _class_for(lic.Status.LICENSE_SUSPENDED) is lic.LicenseRefusedError
    assert _class_for(lic.Status.INTERNAL_PANIC) is lic.InternalError
    assert _class_for(12345) is lic.LicError
    for s in lic.Status:
        if s is not lic.Status.OK:
            assert issubclass(_class_for(s), lic.LicError)


def test_module_fingerprint() -> None:
    fp = lic.fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert lic.fingerprint("lic") == fp
    other = lic.fingerprint("другое-приложение-🔑")
    assert re.fullmatch(r"[0-9a-f]{64}", other) and other != fp
