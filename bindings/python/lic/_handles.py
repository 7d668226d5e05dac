"""The owned-handle base class and the one buffer-protocol helper."""

from __future__ import annotations

import ctypes
import os
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Union

from . import _native
from .errors import Status, _error

_FIRST_TRY = 256
_BUFFER_TOO_SMALL = int(Status.BUFFER_TOO_SMALL)
_NOT_FOUND = int(Status.NOT_FOUND)


def encode(value: Union[str, "os.PathLike[str]", None], what: str = "argument") -> Optional[bytes]:
    """A str (or path) as NUL-terminated UTF-8 for a ``const char *``; None stays NULL."""
    if value is None:
        return None
    if type(value) is str and "\x00" not in value:  # the common case, without the ABC check
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    # surrogateescape keeps undecodable file names; lic then reports INVALID_UTF8.
    return value.encode("utf-8", "surrogateescape")


def read_bytes(fn: Callable[..., int], *args: Any, optional: bool = False, text: bool = False) -> Optional[bytes]:
    """Calls ``fn(*args, buf, buf_len, &out_len)`` under lic's buffer protocol.

    First with a 256-byte buffer; on BUFFER_TOO_SMALL once more with the size
    lic reported (+1 for the NUL of text). NOT_FOUND gives None when the value
    is ``optional``; any other failure raises.
    """
    n = ctypes.c_size_t(0)
    buf = ctypes.create_string_buffer(_FIRST_TRY)
    rc = fn(*args, buf, _FIRST_TRY, ctypes.byref(n))
    if rc == _BUFFER_TOO_SMALL:
        size = n.value + 1 if text else max(n.value, 1)
        buf = ctypes.create_string_buffer(size)
        rc = fn(*args, buf, size, ctypes.byref(n))
    if rc == _NOT_FOUND and optional:
        return None
    if rc:
        err = _error(rc)  # lic's message, while args still hold the handle
        del args  # a kept traceback must not keep a closed client alive
        raise err
    return ctypes.string_at(buf, n.value)


def read_str(fn: Callable[..., int], *args: Any, optional: bool = False) -> Optional[str]:
    """:func:`read_bytes` for a UTF-8 string output."""
    data = read_bytes(fn, *args, optional=optional, text=True)
    return None if data is None else data.decode("utf-8")


def read_i64(fn: Callable[..., int], *args: Any, optional: bool = True) -> Optional[int]:
    """Calls ``fn(*args, &out)`` for an int64_t output; NOT_FOUND gives None."""
    out = ctypes.c_int64(0)
    rc = fn(*args, ctypes.byref(out))
    if rc == _NOT_FOUND and optional:
        return None
    if rc:
        err = _error(rc)
        del args
        raise err
    return out.value


def to_datetime(seconds: Optional[int]) -> Optional[datetime]:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


class Owned:
    """Owns one native pointer, freed exactly once.

    ``close()`` is idempotent and safe while other threads are inside a call
    on the object: the pointer is freed when the last such call returns
    (lic forbids freeing a handle another thread is using). Use after close
    raises ``ValueError``. Subclasses set ``_free`` to the lic_*_free function.
    """

    _free: Callable[[Any], None]

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr
        self._lock = threading.Lock()
        self._busy = 0
        self._closing = False

    def _enter(self) -> Any:
        with self._lock:
            if self._closing:
                raise ValueError(f"{type(self).__name__} is closed")
            self._busy += 1
            return self._ptr

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1
            if not self._closing or self._busy:
                return
            ptr, self._ptr = self._ptr, None
        self._release(ptr)

    def _release(self, ptr: Any) -> None:
        if ptr:
            type(self)._free(ptr)
        self._released()

    def _released(self) -> None:
        """Hook run after the pointer is freed (drop callbacks kept alive)."""

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._busy:
                return  # freed by the last call in flight
            ptr, self._ptr = self._ptr, None
        self._release(ptr)

    @property
    def closed(self) -> bool:
        return self._closing

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except BaseException:
            pass

    # Convenience wrappers holding the handle for one call.
    def _str(self, fn: Callable[..., int], *args: Any, optional: bool = False) -> Optional[str]:
        ptr = self._enter()
        try:
            return read_str(fn, ptr, *args, optional=optional)
        finally:
            self._leave()

    def _i64(self, fn: Callable[..., int], *args: Any) -> Optional[int]:
        ptr = self._enter()
        try:
            return read_i64(fn, ptr, *args)
        finally:
            self._leave()

    def _int(self, fn: Callable[..., int], *args: Any) -> int:
        ptr = self._enter()
        try:
            return int(fn(ptr, *args))
        finally:
            self._leave()


lib = _native.lib
