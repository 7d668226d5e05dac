"""lic: Keygen licensing for Python, a thin ctypes binding over liblic.

    import lic

    with lic.Client(account_id=..., license_key=..., public_key=...) as client:
        result = client.validate(auto_activate=True)
        if result.code is lic.Code.VALID:
            ...

All behaviour lives in the native library; see include/lic.h for the
semantics of every call. Failures raise :class:`lic.LicError` subclasses.
"""

from __future__ import annotations

from . import _native
from ._enums import ClockState, Code, EventKind, FileKind, LogLevel, SignedPart, Source
from .client import (
    ActivationRequest,
    Client,
    Event,
    FileSignature,
    Machine,
    ProcessSlot,
    ValidationResult,
    fingerprint,
    verify_file_signature,
)
from .errors import (
    ConfigError,
    InternalError,
    InvalidArgumentError,
    LicenseRefusedError,
    LicError,
    MachineLimitError,
    NetworkError,
    NoLicenseAvailableError,
    NoProcessSlotAvailableError,
    OfflineFileError,
    ServerError,
    SignatureError,
    Status,
)

__version__ = "0.1.0"

#: The ABI version this binding speaks (checked against the library at import).
ABI_VERSION = _native.ABI_VERSION


def library_version() -> str:
    """The native library's version (``lic_version()``), e.g. "0.1.0"."""
    return _native.lib.lic_version().decode("utf-8")


def library_path() -> str:
    """Where the native library was loaded from."""
    return str(_native.library_path)


__all__ = [
    "ABI_VERSION",
    "ActivationRequest",
    "Client",
    "ClockState",
    "Code",
    "ConfigError",
    "Event",
    "EventKind",
    "FileKind",
    "FileSignature",
    "InternalError",
    "InvalidArgumentError",
    "LicError",
    "LicenseRefusedError",
    "LogLevel",
    "Machine",
    "MachineLimitError",
    "NetworkError",
    "NoLicenseAvailableError",
    "NoProcessSlotAvailableError",
    "OfflineFileError",
    "ProcessSlot",
    "ServerError",
    "SignatureError",
    "SignedPart",
    "Source",
    "Status",
    "ValidationResult",
    "fingerprint",
    "library_path",
    "library_version",
    "verify_file_signature",
]
