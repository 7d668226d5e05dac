"""Exceptions mapped from ``lic_status``.

Every failing call raises a :class:`LicError` subclass chosen by status
group, carrying ``.status`` (a :class:`Status`, or the raw int for a status
newer than this binding) and ``.message`` (lic's thread-local message, read
right after the failing call on the same thread).
"""

from __future__ import annotations

import enum
from typing import Dict, Type, Union

from . import _native

__all__ = [
    "Status",
    "LicError",
    "InvalidArgumentError",
    "ConfigError",
    "LicenseRefusedError",
    "MachineLimitError",
    "NoProcessSlotAvailableError",
    "NetworkError",
    "ServerError",
    "SignatureError",
    "OfflineFileError",
    "InternalError",
]


class Status(enum.IntEnum):
    """Mirrors ``enum lic_status``."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    INVALID_UTF8 = 3
    BUFFER_TOO_SMALL = 4
    NOT_FOUND = 5
    CONFIG_INCOMPLETE = 6
    INSECURE_URL = 7
    LICENSE_INVALID = 20
    LICENSE_NOT_ALLOWED = 21
    LICENSE_SUSPENDED = 22
    LICENSE_EXPIRED = 23
    LICENSE_BANNED = 24
    TOKEN_INVALID = 25
    TOKEN_NOT_ALLOWED = 26
    ACCESS_DENIED = 27
    MACHINE_LIMIT_EXCEEDED = 28
    MACHINE_NOT_ACTIVATED = 29
    FINGERPRINT_TAKEN = 30
    PROCESS_LIMIT_EXCEEDED = 31
    HEARTBEAT_DEAD = 32
    RESOURCE_LIMIT_EXCEEDED = 33
    SERVER_REJECTED = 34
    NETWORK_ERROR = 40
    TIMEOUT = 41
    TLS_ERROR = 42
    SERVER_ERROR = 43
    RATE_LIMITED = 44
    BAD_RESPONSE = 45
    IO_ERROR = 60
    FILE_MALFORMED = 61
    SIGNATURE_INVALID = 62
    UNSUPPORTED_ALGORITHM = 63
    DECRYPTION_FAILED = 64
    FINGERPRINT_MISMATCH = 65
    NO_PUBLIC_KEY = 66
    NO_OFFLINE_DATA = 67
    FINGERPRINT_UNAVAILABLE = 68
    RESPONSE_MISMATCH = 69
    KEY_NOT_SIGNED = 70
    INTERNAL_PANIC = 99

    @property
    def text(self) -> str:
        """lic's English text for the status (``lic_status_str``)."""
        return _native.lib.lic_status_str(int(self)).decode("utf-8")


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
