"""Exceptions and messages, argument checking, lifetime and the log callback."""

from __future__ import annotations

import gc
import logging

import pytest

import lic


def test_configuration_errors_carry_status_and_message(admin) -> None:
    with pytest.raises(lic.ConfigError) as e:
        lic.Client(license_key="k")
    assert e.value.status is lic.Status.CONFIG_INCOMPLETE
    assert e.value.message and "CONFIG_INCOMPLETE" in str(e.value)

    with pytest.raises(lic.ConfigError) as e:
        lic.Client(account_id="acct", api_url="http://licensing.example.com")
    assert e.value.status is lic.Status.INSECURE_URL
    assert "http" in e.value.message

    with pytest.raises(lic.InvalidArgumentError) as e:
        lic.Client(account_id="acct", public_key="zz")
    assert e.value.status is lic.Status.INVALID_ARGUMENT
    assert isinstance(e.value, ValueError)

    with pytest.raises(lic.InvalidArgumentError) as e:
        lic.Client(account_id="acct", timeout_ms=0)
    assert e.value.status is lic.Status.INVALID_ARGUMENT

    with pytest.raises(lic.InvalidArgumentError) as e:
        lic.Client(account_id="acct", log=lambda lvl, msg: None, log_level=9)
    assert e.value.status is lic.Status.INVALID_ARGUMENT


def test_python_side_argument_checks() -> None:
    with pytest.raises(ValueError, match="NUL"):
        lic.Client(account_id="a\x00b")
    with pytest.raises(TypeError):
        lic.Client(account_id=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lic.Client("positional")  # type: ignore[misc]


def test_message_is_read_on_the_failing_thread_and_cleared_after(make_client, unique) -> None:
    c = make_client("k", unique("py-err"), api_url="http://127.0.0.1:9", public_key=None)
    with pytest.raises(lic.LicError) as e:
        c.validate(online_only=True)
    assert e.value.status is lic.Status.NETWORK_ERROR
    assert "127.0.0.1:9" in e.value.message
    from lic import _native

    # The static-string calls leave it alone; the next call that takes a
    # handle or returns a status clears it.
    assert _native.lib.lic_code_str(1) == b"VALID"
    assert _native.lib.lic_last_error_message() != b""
    assert c.fingerprint
    assert _native.lib.lic_last_error_message() == b""


def test_use_after_close(make_client, license, unique) -> None:
    _, key = license
    c = make_client(key, unique("py-close"))
    r = c.validate(auto_activate=True)
    c.close()
    c.close()  # idempotent
    assert c.closed
    for call in (
        c.validate,
        c.activate,
        c.deactivate,
        c.machines,
        c.check_signed_key,
        lambda: c.load_file(b"x"),
        lambda: c.fingerprint,
    ):
        with pytest.raises(ValueError, match="closed"):
            call()
    # Results outlive their client.
    assert r.code is lic.Code.VALID and r.license_key == key
    r.close()
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.code
    assert "closed" in repr(r) and "closed" in repr(c)


def test_context_managers(make_client, license, unique) -> None:
    _, key = license
    with make_client(key, unique("py-with")) as c:
        with c.validate(auto_activate=True) as r:
            assert r.code is lic.Code.VALID
        assert r.closed
    assert c.closed
    # Objects dropped without close are freed by the garbage collector.
    for _ in range(20):
        lic.Client(account_id="acct", license_key=key, fingerprint="fp-gc")
    gc.collect()


def test_log_callback_kept_alive_and_never_sees_the_key(make_client, license, unique) -> None:
    _, key = license
    seen = []
    c = make_client(key, unique("py-log"), log=lambda level, msg: seen.append((level, msg)), log_level=lic.LogLevel.DEBUG)
    gc.collect()  # the callback must survive: the client keeps it
    assert c.validate(auto_activate=True).code is lic.Code.VALID
    c.deactivate()
    assert seen
    assert all(isinstance(level, lic.LogLevel) for level, _ in seen)
    assert not any(key in msg for _, msg in seen)

    def boom(level, msg):
        raise RuntimeError("callback failure must not reach lic")

    noisy = make_client(key, unique("py-boom"), log=boom, log_level=4)
    assert noisy.validate(auto_activate=True).code is lic.Code.VALID
    noisy.deactivate()


def test_log_to_a_logging_logger(make_client, license, unique, caplog) -> None:
    _, key = license
    logger = logging.getLogger("lic-test")
    with caplog.at_level(logging.DEBUG, logger="lic-test"):
        c = make_client(key, unique("py-logger"), log=logger, log_level=lic.LogLevel.DEBUG)
        c.validate(auto_activate=True)
        c.deactivate()
    assert any(rec.name == "lic-test" for rec in caplog.records)
