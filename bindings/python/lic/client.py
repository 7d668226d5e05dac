"""Client, ValidationResult, Machine, ProcessSlot and Event over the C ABI."""

from __future__ import annotations

import atexit
import ctypes
import json
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from . import _native
from ._enums import (
    VALIDATE_AUTO_ACTIVATE,
    VALIDATE_OFFLINE_ONLY,
    VALIDATE_ONLINE_ONLY,
    ClockState,
    Code,
    EventKind,
    FileKind,
    LogLevel,
    Source,
    SignedPart,
)
from ._handles import Owned, encode, read_bytes, read_i64, read_str, to_datetime
from .errors import LicError, _check, _error

lib = _native.lib
_validate = _native.validate_raw
_result_code = _native.result_code_raw
_ResultRef = _native.ResultRef
_ClientRef = _native.ClientRef
byref = ctypes.byref
_new_result = object.__new__
_logger = logging.getLogger("lic")

PathLike = Union[str, "os.PathLike[str]"]
LogHandler = Union[Callable[[LogLevel, str], Any], logging.Logger]

# Config settings, one row per lic_config_set_* taking one value. Adding a
# setting to the ABI means adding a row here and a keyword to Client.
# The string setters are called without argtypes (_native.raw): each gets the
# config pointer and encode()'s bytes or None, which ctypes passes as they are.
_STRING_SETTINGS = {
    name: _native.raw(f"lic_config_set_{name}")
    for name in (
        "account_id",
        "product_id",
        "api_url",
        "license_key",
        "license_token",
        "api_version",
        "cache_dir",
        "fingerprint",
        "app_id",
        "user_agent_suffix",
        "ca_bundle",
        "proxy",
        "relay_url",
        "relay_pool",
        "relay_secret",
    )
}
_set_public_key = _native.raw("lic_config_set_public_key")
_add_public_key = _native.raw("lic_config_add_public_key")
_config_new = _native.raw("lic_config_new")
_config_free = _native.raw("lic_config_free")
_client_new = _native.raw("lic_client_new")
_INT_SETTINGS = {
    "timeout_ms": lib.lic_config_set_timeout_ms,
    "allow_insecure_http": lib.lic_config_set_allow_insecure_http,
    "max_response_age_seconds": lib.lic_config_set_max_response_age_seconds,
    "clock_tolerance_seconds": lib.lic_config_set_clock_tolerance_seconds,
    "max_offline_age_seconds": lib.lic_config_set_max_offline_age_seconds,
    "checkout_ttl_seconds": lib.lic_config_set_checkout_ttl_seconds,
    "offline_grace_seconds": lib.lic_config_set_offline_grace_seconds,
}

_PY_LOG_LEVELS = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
}


def _log_trampoline(log: LogHandler) -> Any:
    """A C log callback calling ``log(level, message)``; exceptions never reach C."""
    if isinstance(log, logging.Logger):
        logger = log

        def emit(level: LogLevel, message: str) -> None:
            logger.log(_PY_LOG_LEVELS.get(level, logging.DEBUG), "%s", message)

    else:
        emit = log  # type: ignore[assignment]

    def callback(_user_data: Any, level: int, message: Optional[bytes]) -> None:
        try:
            try:
                lvl = LogLevel(level)
            except ValueError:
                lvl = LogLevel.DEBUG
            emit(lvl, (message or b"").decode("utf-8", "replace"))
        except BaseException:  # noqa: BLE001 - an exception must not unwind into lic
            pass

    return _native.LOG_CALLBACK(callback)


# Enum lookups by value (a dict is ~20x faster than calling the IntEnum).
_CODES = {int(c): c for c in Code}
_UNKNOWN_CODE = Code.UNKNOWN
_SOURCES = {int(c): c for c in Source}
_CLOCK_STATES = {int(c): c for c in ClockState}
_EVENT_KINDS = {int(k): k for k in EventKind}


@dataclass(frozen=True)
class Event:
    """One event of a client (a copy; no native handle is kept).

    ``kind`` is an :class:`EventKind` (the raw int for a kind newer than this
    binding); ``slot_id`` is the slot's current process id for slot events,
    else None; ``attempt`` and ``time_left_ms`` are set for HEARTBEAT_FAILED
    and LEASE_RENEWAL_FAILED (0 and None otherwise), ``time_left_ms`` also
    for GRACE_EXPIRING;
    ``old_code`` and ``new_code`` for LICENSE_STATE_CHANGED (None otherwise).
    """

    kind: Union[EventKind, int]
    message: str
    slot_id: Optional[str] = None
    attempt: int = 0
    time_left_ms: Optional[int] = None
    old_code: Optional[Code] = None
    new_code: Optional[Code] = None

    @classmethod
    def _read(cls, ptr: Any) -> "Event":
        """Copies a lic_event (polled, or lent to the callback for the call)."""
        raw = int(lib.lic_event_get_kind(ptr))
        left = int(lib.lic_event_time_left_ms(ptr))
        changed = raw == int(EventKind.LICENSE_STATE_CHANGED)
        return cls(
            kind=_EVENT_KINDS.get(raw, raw),
            message=read_str(lib.lic_event_message, ptr) or "",
            slot_id=read_str(lib.lic_event_slot_id, ptr, optional=True),
            attempt=int(lib.lic_event_attempt(ptr)),
            time_left_ms=None if left < 0 else left,
            old_code=_CODES.get(int(lib.lic_event_old_code(ptr)), Code.UNKNOWN) if changed else None,
            new_code=_CODES.get(int(lib.lic_event_new_code(ptr)), Code.UNKNOWN) if changed else None,
        )

    @classmethod
    def _take(cls, ptr: Any) -> "Event":
        """Copies a polled lic_event and frees it."""
        try:
            return cls._read(ptr)
        finally:
            lib.lic_event_free(ptr)


EventHandler = Callable[[Event], Any]


def _event_trampoline(handler: EventHandler) -> Any:
    """A C event callback calling ``handler(Event)`` on lic's thread.

    The event is copied before the handler runs (lic's event is only valid
    during the call). Exceptions never reach C: they are logged on the
    "lic" logger and dropped.
    """

    def callback(_user_data: Any, ptr: Any) -> None:
        try:
            handler(Event._read(ptr))
        except BaseException:  # noqa: BLE001 - an exception must not unwind into lic
            try:
                _logger.exception("lic: the on_event callback raised; the exception was ignored")
            except BaseException:
                pass

    return _native.EVENT_CALLBACK(callback)


@dataclass(frozen=True)
class Machine:
    """One activation of a license (a copy; no native handle is kept)."""

    id: str
    fingerprint: str
    hostname: Optional[str]
    platform: Optional[str]
    name: Optional[str]
    created: Optional[datetime]

    @classmethod
    def _take(cls, ptr: Any) -> "Machine":
        """Copies a lic_machine and frees it."""
        try:
            return cls(
                id=read_str(lib.lic_machine_id, ptr) or "",
                fingerprint=read_str(lib.lic_machine_fingerprint, ptr) or "",
                hostname=read_str(lib.lic_machine_hostname, ptr, optional=True),
                platform=read_str(lib.lic_machine_platform, ptr, optional=True),
                name=read_str(lib.lic_machine_name, ptr, optional=True),
                created=to_datetime(read_i64(lib.lic_machine_created, ptr)),
            )
        finally:
            lib.lic_machine_free(ptr)


# lic_client_activation_request flags (LIC_ACTIVATION_REQUEST_* in lic.h).
_OMIT_HOSTNAME = 1
_OMIT_PLATFORM = 2


@dataclass(frozen=True)
class ActivationRequest:
    """An air-gapped machine's activation request and its QR code (a copy;
    no native handle is kept). From :meth:`Client.activation_request`.

    ``text`` is ``lic1.…`` or ``<portal URL>#lic1.…`` and holds the license
    key: show it, never log it. ``svg`` is an SVG document, ``png`` PNG
    bytes (1-bit, 8 px per module), ``terminal`` the code in Unicode half
    blocks for a dark terminal (print it as it is).
    """

    text: str
    svg: str
    png: bytes
    terminal: str

    @classmethod
    def _take(cls, ptr: Any) -> "ActivationRequest":
        """Copies a lic_activation_request and frees it."""
        try:
            return cls(
                text=read_str(lib.lic_activation_request_text, ptr) or "",
                svg=read_str(lib.lic_activation_request_svg, ptr) or "",
                png=read_bytes(lib.lic_activation_request_png, ptr) or b"",
                terminal=read_str(lib.lic_activation_request_terminal, ptr) or "",
            )
        finally:
            lib.lic_activation_request_free(ptr)

    def __repr__(self) -> str:
        # The text holds the license key.
        return f"<lic.ActivationRequest {len(self.text)} chars, {len(self.png)} PNG bytes>"


class ValidationResult:
    """A validation answer. The verdict is data: check ``code`` and ``valid``.

    Properties read the native result on demand; ``close()`` (or ``with``)
    frees it early, otherwise it is freed when garbage-collected. Safe to
    share between threads: a ``close()`` while another thread reads a
    property frees the result when that read returns.
    """

    # _p: the owning ResultRef, None once closed. Each read holds its own
    # reference for the call, so the free waits for reads in flight.
    __slots__ = ("_p", "__dict__", "__weakref__")

    def __init__(self, ptr: Any) -> None:
        self._p = ptr

    def _live(self) -> Any:
        p = self._p
        if p is None:
            raise ValueError("ValidationResult is closed")
        return p

    @property
    def code(self) -> Code:
        # A code appended after this binding reads UNKNOWN: see code_text.
        p = self._p
        if p is None:
            raise ValueError("ValidationResult is closed")
        return _CODES.get(_result_code(p), _UNKNOWN_CODE)

    def close(self) -> None:
        """Frees the native result (idempotent; deferred while a read is in flight)."""
        self._p = None

    @property
    def closed(self) -> bool:
        return self._p is None

    def __enter__(self) -> "ValidationResult":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._p = None

    def _str(self, fn: Callable[..., int], optional: bool = False) -> Optional[str]:
        return read_str(fn, self._live(), optional=optional)

    def _i64(self, fn: Callable[..., int]) -> Optional[int]:
        return read_i64(fn, self._live())

    def _int(self, fn: Callable[..., int]) -> int:
        return int(fn(self._live()))

    @property
    def code_text(self) -> str:
        return self._str(lib.lic_result_code_text) or ""

    @property
    def valid(self) -> bool:
        """The verdict's valid flag; can be True with EXPIRED (MAINTAIN_ACCESS): check ``code`` too."""
        return self._int(lib.lic_result_valid) == 1

    @property
    def detail(self) -> str:
        return self._str(lib.lic_result_detail) or ""

    @property
    def license_id(self) -> Optional[str]:
        return self._str(lib.lic_result_license_id, optional=True)

    @property
    def license_key(self) -> Optional[str]:
        return self._str(lib.lic_result_license_key, optional=True)

    @property
    def license_name(self) -> Optional[str]:
        return self._str(lib.lic_result_license_name, optional=True)

    @property
    def license_status(self) -> Optional[str]:
        return self._str(lib.lic_result_license_status, optional=True)

    @property
    def policy_id(self) -> Optional[str]:
        return self._str(lib.lic_result_policy_id, optional=True)

    @property
    def expiry(self) -> Optional[datetime]:
        """The license's expiry (UTC), None when it never expires."""
        return to_datetime(self._i64(lib.lic_result_license_expiry))

    @property
    def max_machines(self) -> Optional[int]:
        return self._i64(lib.lic_result_max_machines)

    @property
    def max_processes(self) -> Optional[int]:
        return self._i64(lib.lic_result_max_processes)

    @property
    def metadata(self) -> Dict[str, Any]:
        text = self._str(lib.lic_result_metadata_json, optional=True)
        return {} if text is None else json.loads(text)

    @property
    def entitlements(self) -> List[str]:
        ptr = self._live()
        count = lib.lic_result_entitlement_count(ptr)
        return [read_str(lib.lic_result_entitlement, ptr, i) or "" for i in range(count)]

    def has_entitlement(self, code: str) -> bool:
        out = ctypes.c_int32(0)
        arg = encode(code, "code")
        p = self._live()
        _check(lib.lic_result_has_entitlement(p, arg, ctypes.byref(out)))
        return out.value == 1

    @property
    def machine_id(self) -> Optional[str]:
        return self._str(lib.lic_result_machine_id, optional=True)

    @property
    def fingerprint(self) -> Optional[str]:
        return self._str(lib.lic_result_fingerprint, optional=True)

    @property
    def source(self) -> Source:
        return _SOURCES.get(self._int(lib.lic_result_source), Source.UNKNOWN)

    @property
    def timestamp(self) -> Optional[datetime]:
        return to_datetime(self._i64(lib.lic_result_timestamp))

    @property
    def verified(self) -> bool:
        return self._int(lib.lic_result_verified) == 1

    @property
    def clock_state(self) -> ClockState:
        return _CLOCK_STATES.get(self._int(lib.lic_result_clock_state), ClockState.UNKNOWN)

    @property
    def file_issued(self) -> Optional[datetime]:
        return to_datetime(self._i64(lib.lic_result_file_issued))

    @property
    def file_expiry(self) -> Optional[datetime]:
        return to_datetime(self._i64(lib.lic_result_file_expiry))

    @property
    def offline_reason(self) -> Optional[str]:
        return self._str(lib.lic_result_offline_reason, optional=True)

    @property
    def process_slots(self) -> int:
        """How many process slots the client held when it produced this result."""
        return self._int(lib.lic_result_process_slots)

    @property
    def last_online_validation(self) -> Optional[datetime]:
        """The signed time of the last verified online validation, if known."""
        return to_datetime(self._i64(lib.lic_result_last_online_validation))

    @property
    def grace_expiry(self) -> Optional[datetime]:
        """When the offline grace ends (None without a configured grace)."""
        return to_datetime(self._i64(lib.lic_result_grace_expiry))

    @property
    def grace_seconds_left(self) -> Optional[int]:
        """Seconds of offline grace left when the result was made (None without a grace)."""
        return self._i64(lib.lic_result_grace_seconds_left)

    @property
    def lease_expiry(self) -> Optional[datetime]:
        """When the relay lease behind a ``Source.RELAY`` answer ends unless renewed
        (None for other answers, and for a lease that does not expire)."""
        return to_datetime(self._i64(lib.lic_result_lease_expiry))

    def signed_part(self, part: Union[SignedPart, int]) -> Optional[bytes]:
        """Raw bytes of the signed material behind the answer; None when absent."""
        return read_bytes(lib.lic_result_signed_part, self._live(), int(part), optional=True)

    def __repr__(self) -> str:
        if self.closed:
            return "<lic.ValidationResult closed>"
        return f"<lic.ValidationResult {self.code_text} valid={self.valid} source={self.source.name}>"


class Client:
    """A licensing client for one license key on this machine.

    With ``relay_url`` (and optionally ``relay_pool``, ``relay_secret``) the
    license comes from a Keygen Relay instead: no ``license_key``, and
    :meth:`validate` leases a license file for this machine (``Source.RELAY``,
    :attr:`ValidationResult.lease_expiry`); ``close()`` releases the lease.

    Settings are keywords named after ``lic_config_set_*``; unset ones keep
    lic's defaults. Safe to share between threads. ``close()`` (or ``with``)
    frees it (releasing the process slots it still holds); using it
    afterwards raises ``ValueError``.

    ``log`` and ``on_event`` run on whichever thread does the work, often
    lic's "lic-heartbeat" thread, and must not call this client. With
    ``on_event`` set, events go to it instead of :meth:`poll_events`.
    """

    def __init__(
        self,
        *,
        account_id: Optional[str] = None,
        license_key: Optional[str] = None,
        public_key: Union[str, Sequence[str], None] = None,
        api_url: Optional[str] = None,
        product_id: Optional[str] = None,
        license_token: Optional[str] = None,
        fingerprint: Optional[str] = None,
        app_id: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
        timeout_ms: Optional[int] = None,
        api_version: Optional[str] = None,
        user_agent_suffix: Optional[str] = None,
        allow_insecure_http: Optional[bool] = None,
        max_response_age_seconds: Optional[int] = None,
        clock_tolerance_seconds: Optional[int] = None,
        max_offline_age_seconds: Optional[int] = None,
        checkout_ttl_seconds: Optional[int] = None,
        ca_bundle: Optional[PathLike] = None,
        proxy: Optional[str] = None,
        offline_grace_seconds: Optional[int] = None,
        relay_url: Optional[str] = None,
        relay_pool: Optional[str] = None,
        relay_secret: Optional[str] = None,
        components: Optional[Dict[str, Optional[str]]] = None,
        log: Optional[LogHandler] = None,
        log_level: Union[LogLevel, int] = LogLevel.INFO,
        on_event: Optional[EventHandler] = None,
    ) -> None:
        settings = locals()  # the arguments, read by name below
        # The owning ClientRef, None once closed (see _native: each call in
        # flight holds its own reference, so a close waits for them).
        self._h: Optional[_native.ClientRef] = None
        # Callbacks handed to C, kept alive until the native client is freed.
        keepalive: List[Any] = []
        cfg = _native.ConfigP()
        _check(_config_new(byref(cfg)))
        try:
            for name, setter in _STRING_SETTINGS.items():
                value = settings[name]
                if value is not None:
                    rc = setter(cfg, encode(value, name))
                    if rc:
                        _check(rc)
            _set_public_keys(cfg, public_key)
            for name, setter in _INT_SETTINGS.items():
                value = settings[name]
                if value is not None:
                    _check(setter(cfg, int(value)))
            for cname, cvalue in (components or {}).items():
                # A value sets (or adds) the component; None keeps it from being sent.
                _check(
                    lib.lic_config_add_component(
                        cfg, encode(cname, "component name"), encode(cvalue, "component value")
                    )
                )
            if log is not None:
                cb = _log_trampoline(log)
                keepalive.append(cb)
                _check(lib.lic_config_set_log_callback(cfg, cb, int(log_level), None))
            if on_event is not None:
                if not callable(on_event):
                    raise TypeError("on_event must be callable")
                ecb = _event_trampoline(on_event)
                keepalive.append(ecb)
                _check(lib.lic_config_set_event_callback(cfg, ecb, None))
            out = _ClientRef()
            rc = _client_new(cfg, byref(out))
            if rc:
                _check(rc)
        finally:
            _config_free(cfg)
        if keepalive:
            out.keepalive = keepalive  # dropped after lic_client_free returns
            _WITH_CALLBACKS.add(self)
        self._h = out

    # -- lifetime ---------------------------------------------------------
    def close(self) -> None:
        """Frees the native client (idempotent): now, or when the last call
        other threads have in flight on it returns."""
        self._h = None  # the last reference: ClientRef's finalizer frees

    @property
    def closed(self) -> bool:
        return self._h is None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._h = None

    def _live(self) -> Any:
        """The native client for one call (ValueError once closed).

        Callers hold it until the call's error message is read (freeing a
        client closed meanwhile clears it), then let it go before raising: a
        traceback kept by the caller must not keep a closed client alive.
        ``_run`` does both."""
        h = self._h
        if h is None:
            raise ValueError("Client is closed")
        return h

    # -- licensing --------------------------------------------------------
    def validate(
        self,
        *,
        auto_activate: bool = False,
        online_only: bool = False,
        offline_only: bool = False,
    ) -> ValidationResult:
        """Validates the license for this machine; the verdict is on the result."""
        h = self._h
        if h is None:
            raise ValueError("Client is closed")
        out = _ResultRef()
        rc = _validate(
            h,
            (VALIDATE_AUTO_ACTIVATE if auto_activate else 0)
            | (VALIDATE_ONLINE_ONLY if online_only else 0)
            | (VALIDATE_OFFLINE_ONLY if offline_only else 0),
            byref(out),
        )
        if rc:
            err = _error(rc)  # the message first: freeing a client closed meanwhile clears it
            del h  # then let go: a kept traceback must not keep the client alive
            raise err
        # ValidationResult(out) without the Python-level __init__ call.
        result = _new_result(ValidationResult)
        result._p = out
        return result

    def check_signed_key(self) -> ValidationResult:
        """Checks the license key as a signed key, with no server."""
        return self._result(lib.lic_client_check_signed_key)

    def _result(self, fn: Callable[..., int], *args: Any) -> ValidationResult:
        out = _ResultRef()
        self._run(fn, *args, byref(out))
        return ValidationResult(out)

    def activate(self) -> Machine:
        """Activates this machine (success when already activated)."""
        out = _native.MachineP()
        self._run(lib.lic_activate, ctypes.byref(out))
        return Machine._take(out)

    def deactivate(self, machine_id: Union[str, Machine, None] = None) -> None:
        """Deactivates this machine, or the machine with that id (or that Machine)."""
        if isinstance(machine_id, Machine):
            machine_id = machine_id.id
        arg = encode(machine_id, "machine_id")
        self._run(lib.lic_deactivate, arg)

    def machines(self) -> List[Machine]:
        """The machines activated for the license."""
        out = _native.MachineListP()
        self._run(lib.lic_client_machines, ctypes.byref(out))
        try:
            machines = []
            for i in range(lib.lic_machine_list_count(out)):
                m = _native.MachineP()
                _check(lib.lic_machine_list_get(out, i, ctypes.byref(m)))
                machines.append(Machine._take(m))
            return machines
        finally:
            lib.lic_machine_list_free(out)

    def load_file(self, path_or_bytes: Union[bytes, bytearray, memoryview, PathLike]) -> None:
        """Loads a license or machine file: bytes are its contents, str/Path its path."""
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
            self._run(lib.lic_client_load_file, data, len(data))
        else:
            path = encode(path_or_bytes, "path")
            self._run(lib.lic_client_load_file_path, path)

    def activation_request(
        self,
        portal_url: Optional[str] = None,
        app_name: Optional[str] = None,
        hostname: bool = True,
        platform: bool = True,
    ) -> ActivationRequest:
        """The activation request this (air-gapped) machine shows, as text
        and QR code, for a person to activate it through lic-portal.

        With ``portal_url`` the text is ``<portal_url>#lic1.…``, so a phone's
        camera opens the portal directly. ``app_name`` is shown by the
        portal; ``hostname``/``platform`` say whether this machine's host
        name and platform go in. No network. Load the ``.lic`` file the
        portal gives with :meth:`load_file`, then
        ``validate(offline_only=True)``.
        """
        url = encode(portal_url, "portal_url")
        app = encode(app_name, "app_name")
        flags = (0 if hostname else _OMIT_HOSTNAME) | (0 if platform else _OMIT_PLATFORM)
        out = _native.ActivationRequestP()
        self._run(lib.lic_client_activation_request, url, app, flags, ctypes.byref(out))
        return ActivationRequest._take(out)

    @property
    def fingerprint(self) -> str:
        """The fingerprint this client validates and activates with."""
        return read_str(lib.lic_client_fingerprint, self._live()) or ""

    def fingerprint_report(self) -> Dict[str, Any]:
        """The fingerprint report (lic.h ``lic_fingerprint_report``, schema
        version 1) as a dict: the fingerprint, each component (name, source,
        readable, hash; never a raw value), the environment, and how this
        machine compares with the activated one (asks the server)."""
        return json.loads(read_str(lib.lic_fingerprint_report, self._live()) or "{}")

    def diagnostics(self) -> Dict[str, Any]:
        """The redacted diagnostics bundle (``lic_client_diagnostics``) as a dict."""
        return json.loads(read_str(lib.lic_client_diagnostics, self._live()) or "{}")

    def start_revalidation(self, interval_seconds: int = 0) -> None:
        """Revalidates in the background every ``interval_seconds`` (0: one
        hour), with jitter; changes arrive as events."""
        self._run(lib.lic_client_start_revalidation, int(interval_seconds))

    def stop_revalidation(self) -> None:
        """Stops the background revalidation; OK when not running."""
        self._run(lib.lic_client_stop_revalidation)

    # -- process slots and heartbeats -------------------------------------
    def acquire_process_slot(self, label: Optional[str] = None) -> "ProcessSlot":
        """Takes a process slot for this (activated) machine.

        lic keeps it alive from its heartbeat thread until it is released
        (``with``, :meth:`ProcessSlot.release` or closing this client). A
        full license raises :class:`lic.NoProcessSlotAvailableError`.
        """
        arg = encode(label, "label")
        out = _native.SlotP()
        self._run(lib.lic_process_slot_acquire, arg, ctypes.byref(out))
        return ProcessSlot(out, self)

    def start_machine_heartbeat(self) -> None:
        """Starts the machine heartbeat monitor (requireHeartbeat policies); OK when running."""
        self._run(lib.lic_client_start_machine_heartbeat)

    def stop_machine_heartbeat(self) -> None:
        """Stops the machine heartbeat monitor; OK when not running."""
        self._run(lib.lic_client_stop_machine_heartbeat)

    # -- events -----------------------------------------------------------
    def poll_event(self) -> Optional[Event]:
        """The oldest queued event, or None when the queue is empty (never blocks)."""
        out = _native.EventP()
        self._run(lib.lic_client_poll_event, ctypes.byref(out))
        return Event._take(out) if out else None

    def poll_events(self) -> Iterator[Event]:
        """An iterator over the queued events, oldest first, ending when the
        queue is empty (events arriving meanwhile are included; it never
        blocks). Empty when an ``on_event`` callback is set (it receives
        them instead).
        """
        if self.closed:
            raise ValueError("Client is closed")
        return self._drain()

    def _drain(self) -> Iterator[Event]:
        while True:
            event = self.poll_event()
            if event is None:
                return
            yield event

    @property
    def dropped_events(self) -> int:
        """How many events the full queue (1024) has dropped, oldest first."""
        return int(lib.lic_client_dropped_events(self._live()))

    def _run(self, fn: Callable[..., int], *args: Any) -> None:
        """``fn(client, *args)``; a failure raises with lic's message, read
        while this call still holds the client (the free of a client closed
        meanwhile would clear it), and the client let go before the raise."""
        h = self._live()
        rc = fn(h, *args)
        if rc:
            err = _error(rc)
            del h
            raise err

    def __repr__(self) -> str:
        return "<lic.Client closed>" if self.closed else "<lic.Client>"


class ProcessSlot(Owned):
    """A held process slot (from :meth:`Client.acquire_process_slot`).

    ``with`` releases it, then frees the handle; a release failure then
    raises (it is logged instead when the block is already raising).
    ``release()`` gives it back at once and may be called again (and
    retried after a transport failure). ``close()`` releases and frees like
    ``with``. A slot that is garbage-collected without either stays held
    and heartbeated until its client is closed. The slot keeps its client
    open while referenced.
    """

    _free = staticmethod(lib.lic_process_slot_free)

    def __init__(self, ptr: Any, client: "Client") -> None:
        super().__init__(ptr)
        self._client: Optional[Client] = client
        # lic_process_slot_release needs exclusive access to the slot.
        self._exclusive = threading.Lock()

    @property
    def id(self) -> str:
        """The id of the Keygen process holding the slot (changes when a lost slot is recovered)."""
        ptr = self._enter()
        try:
            with self._exclusive:
                return read_str(lib.lic_process_slot_id, ptr) or ""
        finally:
            self._leave()

    @property
    def held(self) -> bool:
        """True while the slot is held (not lost, refused for good, or released)."""
        ptr = self._enter()
        try:
            with self._exclusive:
                return lib.lic_process_slot_is_held(ptr) == 1
        finally:
            self._leave()

    def release(self) -> None:
        """Gives the slot back to the server now. Idempotent; on a transport
        failure it raises, the slot stays held, and release may be retried."""
        ptr = self._enter()
        try:
            with self._exclusive:
                rc = lib.lic_process_slot_release(ptr)
                _check(rc)
        finally:
            self._leave()

    def close(self) -> None:
        """Releases the slot (if not closed yet), then frees the handle."""
        self._close(raise_errors=True)

    def _close(self, raise_errors: bool) -> None:
        try:
            if not self.closed:
                try:
                    self.release()
                except ValueError:
                    pass  # closed meanwhile by another thread
                except LicError:
                    if raise_errors:
                        raise
                    _logger.warning("lic: could not release a process slot", exc_info=True)
        finally:
            super().close()
            self._client = None

    def __enter__(self) -> "ProcessSlot":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self._close(raise_errors=exc_type is None)

    def __del__(self) -> None:
        try:
            super().close()  # no network from the garbage collector: free only
        except BaseException:
            pass

    def __repr__(self) -> str:
        if self.closed:
            return "<lic.ProcessSlot closed>"
        return f"<lic.ProcessSlot {self.id} held={self.held}>"


# Clients with callbacks, closed at interpreter exit while Python can still
# run them (lic's own at-exit release would otherwise run after finalization,
# with its heartbeat thread possibly inside a Python callback).
_WITH_CALLBACKS: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _close_clients_with_callbacks() -> None:
    for client in list(_WITH_CALLBACKS):
        try:
            client.close()
        except BaseException:
            pass


def _set_public_keys(cfg: Any, public_key: Union[str, Sequence[str], None]) -> None:
    """``lic_config_set_public_key`` for the first key, ``_add_`` for the rest."""
    if public_key is None:
        return
    if isinstance(public_key, str):
        _check(_set_public_key(cfg, encode(public_key, "public_key")))
        return
    for i, key in enumerate(public_key):
        setter = _set_public_key if i == 0 else _add_public_key
        _check(setter(cfg, encode(key, "public_key")))


@dataclass(frozen=True)
class FileSignature:
    """What :func:`verify_file_signature` found (a copy; no handle is kept).

    ``valid`` says whether the signature holds with the account key of the
    file's ``algorithm`` (e.g. "aes-256-gcm+rsa-pss-sha256"); ``issued`` and
    ``expires`` are read only from a file that is not ``encrypted`` and whose
    signature holds (``expires`` is None for a file without a TTL too).
    """

    valid: bool
    algorithm: str
    encrypted: bool
    kind: Union[FileKind, int]
    issued: Optional[datetime]
    expires: Optional[datetime]


def verify_file_signature(
    data: Union[bytes, bytearray, memoryview, str, PathLike],
    public_key: Union[str, Sequence[str]],
) -> FileSignature:
    """Checks a license or machine file's signature without its license key
    (``lic_file_verify_signature``), for tools that vet files they cannot
    decrypt. ``data`` is the certificate (bytes, or text beginning with
    ``-----BEGIN``) or a path to it; ``public_key`` is one of the account's
    keys or a list of them, in any form ``Client(public_key=...)`` takes.

    A signature that does not hold gives ``valid=False``; a malformed file,
    an unknown algorithm (UNSUPPORTED_ALGORITHM) or no key of the file's kind
    (NO_PUBLIC_KEY) raise.
    """
    if isinstance(data, str) and data.lstrip("\ufeff \t\r\n").startswith("-----BEGIN"):
        raw = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        with open(os.fspath(data), "rb") as f:
            raw = f.read()
    cfg = _native.ConfigP()
    _check(lib.lic_config_new(ctypes.byref(cfg)))
    out = _native.FileSignatureP()
    try:
        _set_public_keys(cfg, public_key)
        _check(lib.lic_file_verify_signature(cfg, raw, len(raw), ctypes.byref(out)))
    finally:
        lib.lic_config_free(cfg)
    try:
        kind = lib.lic_file_signature_kind(out)
        return FileSignature(
            valid=bool(lib.lic_file_signature_valid(out)),
            algorithm=read_str(lib.lic_file_signature_algorithm, out) or "",
            encrypted=bool(lib.lic_file_signature_encrypted(out)),
            kind=_FILE_KINDS.get(kind, kind),
            issued=to_datetime(read_i64(lib.lic_file_signature_issued_unix, out)),
            expires=to_datetime(read_i64(lib.lic_file_signature_expires_unix, out)),
        )
    finally:
        lib.lic_file_signature_free(out)


_FILE_KINDS = {int(k): k for k in FileKind}


def fingerprint(app_id: Optional[str] = None) -> str:
    """This machine's built-in fingerprint for ``app_id`` (default "lic")."""
    return read_str(lib.lic_fingerprint, encode(app_id, "app_id")) or ""
