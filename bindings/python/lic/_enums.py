"""Enums mirroring lic.h. Numbers are stable ABI: lic appends, never renumbers."""

from __future__ import annotations

import enum


class Code(enum.IntEnum):
    """Mirrors ``enum lic_code``: Keygen's validation codes plus lic's offline verdicts."""

    UNKNOWN = 0
    VALID = 1
    NOT_FOUND = 2
    BANNED = 3
    SUSPENDED = 4
    EXPIRED = 5
    OVERDUE = 6
    ENVIRONMENT_SCOPE_MISMATCH = 7
    ENVIRONMENT_SCOPE_REQUIRED = 8
    PRODUCT_SCOPE_MISMATCH = 9
    PRODUCT_SCOPE_REQUIRED = 10
    POLICY_SCOPE_MISMATCH = 11
    POLICY_SCOPE_REQUIRED = 12
    USER_SCOPE_MISMATCH = 13
    USER_SCOPE_REQUIRED = 14
    ENTITLEMENTS_SCOPE_EMPTY = 15
    ENTITLEMENTS_MISSING = 16
    NO_MACHINE = 17
    NO_MACHINES = 18
    MACHINE_SCOPE_MISMATCH = 19
    MACHINE_SCOPE_REQUIRED = 20
    HEARTBEAT_NOT_STARTED = 21
    HEARTBEAT_DEAD = 22
    FINGERPRINT_SCOPE_EMPTY = 23
    FINGERPRINT_SCOPE_MISMATCH = 24
    FINGERPRINT_SCOPE_REQUIRED = 25
    COMPONENTS_SCOPE_EMPTY = 26
    COMPONENTS_SCOPE_MISMATCH = 27
    COMPONENTS_SCOPE_REQUIRED = 28
    CHECKSUM_SCOPE_MISMATCH = 29
    CHECKSUM_SCOPE_REQUIRED = 30
    VERSION_SCOPE_MISMATCH = 31
    VERSION_SCOPE_REQUIRED = 32
    TOO_MANY_USERS = 33
    TOO_MANY_MACHINES = 34
    TOO_MANY_CORES = 35
    TOO_MUCH_MEMORY = 36
    TOO_MUCH_DISK = 37
    TOO_MANY_PROCESSES = 38
    FILE_EXPIRED = 100
    CLOCK_TAMPERED = 101


class Source(enum.IntEnum):
    """Mirrors ``enum lic_source``: where a validation answer came from."""

    UNKNOWN = 0
    ONLINE = 1
    CACHED_FILE = 2
    LOADED_FILE = 3
    SIGNED_KEY = 4


class ClockState(enum.IntEnum):
    """Mirrors ``enum lic_clock_state``."""

    UNKNOWN = 0
    OK = 1
    TAMPERED = 2


class SignedPart(enum.IntEnum):
    """Mirrors ``enum lic_signed_part`` (for :meth:`ValidationResult.signed_part`)."""

    BODY = 1
    DATE = 2
    DIGEST = 3
    SIGNATURE = 4
    SIGNING_STRING = 5
    SIGNATURE_HEADER = 6
    CERTIFICATE = 7


class EventKind(enum.IntEnum):
    """Mirrors ``enum lic_event_kind``: what an :class:`lic.Event` reports."""

    NONE = 0
    HEARTBEAT_SENT = 1
    HEARTBEAT_FAILED = 2
    SLOT_LOST = 3
    SLOT_RECOVERED = 4
    MACHINE_HEARTBEAT_DEAD = 5
    OFFLINE_ENTERED = 6
    OFFLINE_LEFT = 7
    LICENSE_STATE_CHANGED = 8


class LogLevel(enum.IntEnum):
    """Levels of the log callback (``lic_log_callback``)."""

    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4


# lic_validate flags (LIC_VALIDATE_*).
VALIDATE_AUTO_ACTIVATE = 1
VALIDATE_ONLINE_ONLY = 2
VALIDATE_OFFLINE_ONLY = 4
