"""Loading liblic and declaring every C function of ``include/lic.h``.

Everything here is private. The library is found in this order:

1. the ``LIC_LIBRARY`` environment variable (a full path),
2. a copy beside this package (``lic/liblic.so``, ``liblic.dylib``, ``lic.dll``),
3. ``ctypes.util.find_library("lic")`` (the system search path).

Every symbol gets ``argtypes`` *and* ``restype`` from the one table
``_SIGNATURES``; a symbol missing from the library is an ImportError, and the
ABI version is checked at import. To bind a new function, add one line to the
table (``tests/bindings_coverage.rs`` fails until every header function is
listed here). A few hot functions also get a twin without argtypes (``raw``,
see ``_raw``), and handles are owned by ClientRef / ResultRef (below).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: The ABI this binding was written against (``LIC_ABI_VERSION`` in lic.h).
ABI_VERSION = 1


# Opaque handle types: one empty Structure each, so pointer types are distinct
# and ctypes refuses to pass a result where a client is expected.
class lic_config(ctypes.Structure):
    pass


class lic_client(ctypes.Structure):
    pass


class lic_result(ctypes.Structure):
    pass


class lic_machine(ctypes.Structure):
    pass


class lic_machine_list(ctypes.Structure):
    pass


class lic_process_slot(ctypes.Structure):
    pass


class lic_event(ctypes.Structure):
    pass


class lic_file_signature(ctypes.Structure):
    pass


class lic_activation_request(ctypes.Structure):
    pass


ConfigP = POINTER(lic_config)
ClientP = POINTER(lic_client)
ResultP = POINTER(lic_result)
MachineP = POINTER(lic_machine)
MachineListP = POINTER(lic_machine_list)
SlotP = POINTER(lic_process_slot)
EventP = POINTER(lic_event)
FileSignatureP = POINTER(lic_file_signature)
ActivationRequestP = POINTER(lic_activation_request)

# typedef void (*lic_log_callback)(void *user_data, int32_t level, const char *message);
LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
# typedef void (*lic_event_callback)(void *user_data, const struct lic_event *event);
EVENT_CALLBACK = CFUNCTYPE(None, c_void_p, EventP)

status = c_int32  # lic_status
size_p = POINTER(c_size_t)
i64_p = POINTER(c_int64)
i32_p = POINTER(c_int32)
# (char *buf, size_t buf_len, size_t *out_len); buf is written, so not c_char_p.
BUF: Tuple[Any, ...] = (c_void_p, c_size_t, size_p)

# name: (restype, argtypes). `None` restype is void.
_SIGNATURES: Dict[str, Tuple[Any, Sequence[Any]]] = {
    # library
    "lic_version": (c_char_p, ()),
    "lic_abi_version": (c_uint32, ()),
    "lic_status_str": (c_char_p, (c_int32,)),
    "lic_code_str": (c_char_p, (c_int32,)),
    "lic_last_error_message": (c_char_p, ()),
    "lic_fingerprint": (status, (c_char_p, *BUF)),
    # config
    "lic_config_new": (status, (POINTER(ConfigP),)),
    "lic_config_free": (None, (ConfigP,)),
    "lic_config_set_account_id": (status, (ConfigP, c_char_p)),
    "lic_config_set_product_id": (status, (ConfigP, c_char_p)),
    "lic_config_set_api_url": (status, (ConfigP, c_char_p)),
    "lic_config_set_license_key": (status, (ConfigP, c_char_p)),
    "lic_config_set_license_token": (status, (ConfigP, c_char_p)),
    "lic_config_set_public_key": (status, (ConfigP, c_char_p)),
    "lic_config_add_public_key": (status, (ConfigP, c_char_p)),
    "lic_config_set_api_version": (status, (ConfigP, c_char_p)),
    "lic_config_set_timeout_ms": (status, (ConfigP, c_uint32)),
    "lic_config_set_cache_dir": (status, (ConfigP, c_char_p)),
    "lic_config_set_fingerprint": (status, (ConfigP, c_char_p)),
    "lic_config_set_app_id": (status, (ConfigP, c_char_p)),
    "lic_config_set_user_agent_suffix": (status, (ConfigP, c_char_p)),
    "lic_config_set_allow_insecure_http": (status, (ConfigP, c_int32)),
    "lic_config_set_max_response_age_seconds": (status, (ConfigP, c_int64)),
    "lic_config_set_clock_tolerance_seconds": (status, (ConfigP, c_int64)),
    "lic_config_set_max_offline_age_seconds": (status, (ConfigP, c_int64)),
    "lic_config_set_checkout_ttl_seconds": (status, (ConfigP, c_int64)),
    "lic_config_set_ca_bundle": (status, (ConfigP, c_char_p)),
    "lic_config_set_proxy": (status, (ConfigP, c_char_p)),
    "lic_config_set_log_callback": (status, (ConfigP, LOG_CALLBACK, c_int32, c_void_p)),
    "lic_config_set_event_callback": (status, (ConfigP, EVENT_CALLBACK, c_void_p)),
    "lic_config_add_component": (status, (ConfigP, c_char_p, c_char_p)),
    "lic_config_set_offline_grace_seconds": (status, (ConfigP, c_int64)),
    "lic_config_set_relay_url": (status, (ConfigP, c_char_p)),
    "lic_config_set_relay_pool": (status, (ConfigP, c_char_p)),
    "lic_config_set_relay_secret": (status, (ConfigP, c_char_p)),
    # client
    "lic_client_new": (status, (ConfigP, POINTER(ClientP))),
    "lic_client_free": (None, (ClientP,)),
    "lic_client_fingerprint": (status, (ClientP, *BUF)),
    "lic_validate": (status, (ClientP, c_uint32, POINTER(ResultP))),
    "lic_activate": (status, (ClientP, POINTER(MachineP))),
    "lic_deactivate": (status, (ClientP, c_char_p)),
    "lic_client_machines": (status, (ClientP, POINTER(MachineListP))),
    "lic_client_load_file": (status, (ClientP, c_char_p, c_size_t)),
    "lic_client_load_file_path": (status, (ClientP, c_char_p)),
    "lic_client_check_signed_key": (status, (ClientP, POINTER(ResultP))),
    "lic_fingerprint_report": (status, (ClientP, *BUF)),
    "lic_client_diagnostics": (status, (ClientP, *BUF)),
    "lic_client_start_revalidation": (status, (ClientP, c_int64)),
    "lic_client_stop_revalidation": (status, (ClientP,)),
    # air-gapped activation by QR code
    "lic_client_activation_request": (
        status,
        (ClientP, c_char_p, c_char_p, c_uint32, POINTER(ActivationRequestP)),
    ),
    "lic_activation_request_text": (status, (ActivationRequestP, *BUF)),
    "lic_activation_request_svg": (status, (ActivationRequestP, *BUF)),
    "lic_activation_request_png": (status, (ActivationRequestP, *BUF)),
    "lic_activation_request_terminal": (status, (ActivationRequestP, *BUF)),
    "lic_activation_request_free": (None, (ActivationRequestP,)),
    # machines
    "lic_machine_list_count": (c_size_t, (MachineListP,)),
    "lic_machine_list_get": (status, (MachineListP, c_size_t, POINTER(MachineP))),
    "lic_machine_list_free": (None, (MachineListP,)),
    "lic_machine_id": (status, (MachineP, *BUF)),
    "lic_machine_fingerprint": (status, (MachineP, *BUF)),
    "lic_machine_hostname": (status, (MachineP, *BUF)),
    "lic_machine_platform": (status, (MachineP, *BUF)),
    "lic_machine_name": (status, (MachineP, *BUF)),
    "lic_machine_created": (status, (MachineP, i64_p)),
    "lic_machine_free": (None, (MachineP,)),
    # results
    "lic_result_code": (c_int32, (ResultP,)),
    "lic_result_valid": (c_int32, (ResultP,)),
    "lic_result_code_text": (status, (ResultP, *BUF)),
    "lic_result_detail": (status, (ResultP, *BUF)),
    "lic_result_license_id": (status, (ResultP, *BUF)),
    "lic_result_license_key": (status, (ResultP, *BUF)),
    "lic_result_license_name": (status, (ResultP, *BUF)),
    "lic_result_license_status": (status, (ResultP, *BUF)),
    "lic_result_policy_id": (status, (ResultP, *BUF)),
    "lic_result_license_expiry": (status, (ResultP, i64_p)),
    "lic_result_max_machines": (status, (ResultP, i64_p)),
    "lic_result_max_processes": (status, (ResultP, i64_p)),
    "lic_result_metadata_json": (status, (ResultP, *BUF)),
    "lic_result_entitlement_count": (c_size_t, (ResultP,)),
    "lic_result_entitlement": (status, (ResultP, c_size_t, *BUF)),
    "lic_result_has_entitlement": (status, (ResultP, c_char_p, i32_p)),
    "lic_result_machine_id": (status, (ResultP, *BUF)),
    "lic_result_fingerprint": (status, (ResultP, *BUF)),
    "lic_result_source": (c_int32, (ResultP,)),
    "lic_result_timestamp": (status, (ResultP, i64_p)),
    "lic_result_verified": (c_int32, (ResultP,)),
    "lic_result_clock_state": (c_int32, (ResultP,)),
    "lic_result_file_issued": (status, (ResultP, i64_p)),
    "lic_result_file_expiry": (status, (ResultP, i64_p)),
    "lic_result_offline_reason": (status, (ResultP, *BUF)),
    "lic_result_signed_part": (status, (ResultP, c_int32, *BUF)),
    "lic_result_process_slots": (c_size_t, (ResultP,)),
    "lic_result_last_online_validation": (status, (ResultP, i64_p)),
    "lic_result_grace_expiry": (status, (ResultP, i64_p)),
    "lic_result_grace_seconds_left": (status, (ResultP, i64_p)),
    "lic_result_lease_expiry": (status, (ResultP, i64_p)),
    "lic_result_free": (None, (ResultP,)),
    # process slots and the machine heartbeat
    "lic_process_slot_acquire": (status, (ClientP, c_char_p, POINTER(SlotP))),
    "lic_process_slot_release": (status, (SlotP,)),
    "lic_process_slot_id": (status, (SlotP, *BUF)),
    "lic_process_slot_is_held": (c_int32, (SlotP,)),
    "lic_process_slot_free": (None, (SlotP,)),
    "lic_client_start_machine_heartbeat": (status, (ClientP,)),
    "lic_client_stop_machine_heartbeat": (status, (ClientP,)),
    # signature-only file checks
    "lic_file_verify_signature": (status, (ConfigP, c_char_p, c_size_t, POINTER(FileSignatureP))),
    "lic_file_signature_valid": (c_int32, (FileSignatureP,)),
    "lic_file_signature_encrypted": (c_int32, (FileSignatureP,)),
    "lic_file_signature_kind": (c_int32, (FileSignatureP,)),
    "lic_file_signature_algorithm": (status, (FileSignatureP, *BUF)),
    "lic_file_signature_issued_unix": (status, (FileSignatureP, i64_p)),
    "lic_file_signature_expires_unix": (status, (FileSignatureP, i64_p)),
    "lic_file_signature_free": (None, (FileSignatureP,)),
    # events
    "lic_client_poll_event": (status, (ClientP, POINTER(EventP))),
    "lic_client_dropped_events": (c_uint64, (ClientP,)),
    "lic_event_get_kind": (c_int32, (EventP,)),
    "lic_event_slot_id": (status, (EventP, *BUF)),
    "lic_event_message": (status, (EventP, *BUF)),
    "lic_event_attempt": (c_uint32, (EventP,)),
    "lic_event_time_left_ms": (c_int64, (EventP,)),
    "lic_event_old_code": (c_int32, (EventP,)),
    "lic_event_new_code": (c_int32, (EventP,)),
    "lic_event_free": (None, (EventP,)),
}


def _library_names() -> List[str]:
    if sys.platform == "win32":
        return ["lic.dll"]
    if sys.platform == "darwin":
        return ["liblic.dylib"]
    return ["liblic.so"]


def _candidates() -> List[str]:
    found: List[str] = []
    explicit = os.environ.get("LIC_LIBRARY")
    if explicit:
        return [explicit]  # an explicit choice is never second-guessed
    here = Path(__file__).resolve().parent
    found.extend(str(here / name) for name in _library_names() if (here / name).exists())
    system = ctypes.util.find_library("lic")
    if system:
        found.append(system)
    return found


def _load() -> ctypes.CDLL:
    tried = _candidates()
    errors: List[str] = []
    for path in tried:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    where = "; ".join(errors) if errors else "nothing found"
    raise ImportError(
        "lic: cannot load the native library liblic "
        f"(tried LIC_LIBRARY, the package directory and the system search path: {where}). "
        "Set LIC_LIBRARY to the full path of liblic.so / liblic.dylib / lic.dll."
    )


def _bind(dll: ctypes.CDLL) -> None:
    missing = []
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        if name.startswith("lic_result_"):
            # A result is passed as its ResultRef (a pointer object): ctypes
            # takes one for a void * faster than it checks a typed POINTER.
            argtypes = [c_void_p if a is ResultP else a for a in argtypes]
        fn.argtypes = list(argtypes)
    if missing:
        raise ImportError(f"lic: {dll._name} lacks {', '.join(missing)}")


# -- the per-call hot path ------------------------------------------------
#
# Handles are owned by pointer objects whose finalizer frees them: a Client or
# ValidationResult holds one, and every call in flight holds a reference to it
# for the call, so ``close()`` (dropping the owner's reference) frees the
# handle at once, or when the last call in flight returns. CPython's reference
# counting decides who is last, with no lock on the per-call path; the
# finalizer runs exactly once.


def _raw(dll: ctypes.CDLL, name: str, restype: Any) -> Any:
    """A second function object for ``name`` with no ``argtypes``, for the hot path.

    ctypes then passes each argument by its own type, skipping the
    ``from_param`` conversion (about half the cost of a call). So callers
    pass handles only as ctypes pointer objects (ConfigP, ClientRef,
    ResultRef: a full-width address; a Python int would go as a C int),
    strings as bytes or None, ints only for 32-bit parameters, and ``byref``
    objects for out-pointers. ``lib.<name>`` keeps its checked signature.
    """
    fn = dll[name]  # a new function object, not the one cached on the CDLL
    fn.restype = restype
    return fn


def raw(name: str) -> Any:
    """The hot-path twin of ``lib.<name>`` (same restype, no argtypes; see _raw)."""
    return _raw(lib, name, _SIGNATURES[name][0])


lib = _load()
_bind(lib)
# The same library again, for calls that neither block nor call back into
# Python: a PyDLL function keeps the GIL for the call instead of releasing and
# retaking it (the cost of one such call, measured by bench_binding.py).
_pylib = ctypes.PyDLL(lib._name, handle=lib._handle)

#: lic_validate(ClientRef, flags, byref(ResultRef)); releases the GIL (it may
#: go online, read files and run callbacks).
validate_raw = _raw(lib, "lic_validate", status)
#: lic_result_code(ResultRef): a field read, under the GIL.
result_code_raw = _raw(_pylib, "lic_result_code", c_int32)


class ClientRef(ClientP):
    """An owned ``lic_client *``: ``lic_client_free`` when the last reference goes.

    ``keepalive`` (an attribute, when set) holds the callbacks lic may call
    until that free returns.
    """

    _type_ = lic_client
    _free = _raw(lib, "lic_client_free", None)  # may block (slots, lease): releases the GIL

    def __del__(self) -> None:
        if self:
            self._free(self)


class ResultRef(ResultP):
    """An owned ``lic_result *``: ``lic_result_free`` when the last reference goes."""

    _type_ = lic_result
    # Under the GIL: a result is plain data (no thread, lock or client state
    # behind it), so its free only frees memory.
    _free = _raw(_pylib, "lic_result_free", None)

    def __del__(self) -> None:
        if self:
            self._free(self)


_abi = lib.lic_abi_version()
if _abi != ABI_VERSION:
    raise ImportError(
        f"lic: {lib._name} has ABI version {_abi}, this binding needs {ABI_VERSION}; "
        "install matching versions of the library and the binding"
    )

library_path: Optional[str] = lib._name
