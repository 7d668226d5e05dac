"""Exceptions mapped from ``lic_status``.

Every failing call raises a :class:`LicError` subclass chosen by status
group, carrying ``.status`` (a :class:`Status`, or the raw int for a status
newer than this binding) and ``.message`` (lic's thread-local message, read
right after the failing call on the same thread).
"""

from __future__ import annotations

from typing import Dict, Type, Union

from . import _native
from ._enums import Status

__all__ = [
    "Status",
    "LicError",
    "InvalidArgumentError",
    "ConfigError",
    "LicenseRefusedError",
    "MachineLimitError",
    "NoProcessSlotAvailableError",
    "NoLicenseAvailableError",
    "NetworkError",
    "ServerError",
    "SignatureError",
    "OfflineFileError",
    "InternalError",
]


class LicError(Exception):
    """A lic call failed. ``status`` says how, ``message`` says why."""

    def __init__(self, status: Union[Status, int], message: str) -> None:
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        super().__init__(f"{name}: {message}" if message else name)


class InvalidArgumentError(LicError, ValueError):
    """A usage mistake: bad argument, invalid UTF-8 (statuses 1-5)."""


class ConfigError(InvalidArgumentError):
    """The settings are incomplete or unsafe (CONFIG_INCOMPLETE, INSECURE_URL)."""


class LicenseRefusedError(LicError):
    """The server refused the request for this license (statuses 20-39)."""


class MachineLimitError(LicenseRefusedError):
    """No room for another machine: deactivate one first."""


class NoProcessSlotAvailableError(LicenseRefusedError):
    """No process slot is free (PROCESS_LIMIT_EXCEEDED)."""


class NoLicenseAvailableError(LicenseRefusedError):
    """The Keygen Relay has no free license in the pool (NO_LICENSE_AVAILABLE)."""


class NetworkError(LicError):
    """The server could not be reached or answered badly (statuses 40-59)."""


class ServerError(NetworkError):
    """The server answered 5xx, 429 or something that is not Keygen's format."""


class SignatureError(LicError):
    """An answer's signature is wrong, or it answers another request (forged or replayed)."""


class OfflineFileError(LicError):
    """Offline evidence is missing or unusable (files, keys, fingerprint; statuses 60-79)."""


class InternalError(LicError):
    """A bug in lic (INTERNAL_PANIC)."""


_BY_STATUS: Dict[int, Type[LicError]] = {
    Status.CONFIG_INCOMPLETE: ConfigError,
    Status.INSECURE_URL: ConfigError,
    Status.MACHINE_LIMIT_EXCEEDED: MachineLimitError,
    Status.PROCESS_LIMIT_EXCEEDED: NoProcessSlotAvailableError,
    Status.NO_LICENSE_AVAILABLE: NoLicenseAvailableError,
    Status.SERVER_ERROR: ServerError,
    Status.RATE_LIMITED: ServerError,
    Status.BAD_RESPONSE: ServerError,
    Status.SIGNATURE_INVALID: SignatureError,
    Status.RESPONSE_MISMATCH: SignatureError,
    Status.INTERNAL_PANIC: InternalError,
}


def _class_for(status: int) -> Type[LicError]:
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if 1 <= status <= 19:
        return InvalidArgumentError
    if 20 <= status <= 39:
        return LicenseRefusedError
    if 40 <= status <= 59:
        return NetworkError
    if 60 <= status <= 79:
        return OfflineFileError
    return LicError


def _status(rc: int) -> Union[Status, int]:
    try:
        return Status(rc)
    except ValueError:
        return rc


def _error(rc: int) -> LicError:
    """The exception for a failed call; reads the thread-local message now."""
    raw = _native.lib.lic_last_error_message()
    message = raw.decode("utf-8", "replace") if raw else ""
    if not message:
        message = _native.lib.lic_status_str(rc).decode("utf-8", "replace")
    return _class_for(rc)(_status(rc), message)


def _check(rc: int) -> None:
    """Raises the mapped exception unless ``rc`` is LIC_STATUS_OK."""
    if rc != 0:
        raise _error(rc)
