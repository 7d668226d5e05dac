"""Enums and constants of lic.h.

Generated from include/lic.h by tests/bindings_enums.rs; do not edit. Run
`LIC_BLESS=1 cargo test --test bindings_enums` after changing the header.
Numbers are stable ABI: lic appends, never renumbers.
"""

from __future__ import annotations

import enum


class Source(enum.IntEnum):
    """``enum lic_source``: Where a validation answer came from."""

    #: Not an answer (only returned for a NULL or broken handle).
    UNKNOWN = 0

    ONLINE = 1

    #: The machine file lic cached after activation.
    CACHED_FILE = 2

    #: A file the app loaded (air-gapped delivery).
    LOADED_FILE = 3

    #: A signed license key checked with no server.
    SIGNED_KEY = 4

    #: The license file a Keygen Relay leased to this machine, verified and
    #: decrypted by lic (`lic_result_lease_expiry` says until when).
    RELAY = 5


class Code(enum.IntEnum):
    """``enum lic_code``: Every validation code Keygen defines (keygen-api
    `license_validation_service.rb`), plus lic's own offline verdicts.
    Numbers are stable ABI: append, never renumber. `Unknown` is zero so
    a zeroed or missing value never reads as valid.
    """

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

    #: Offline past the grace after the last verified online validation.
    GRACE_EXPIRED = 102


class ClockState(enum.IntEnum):
    """``enum lic_clock_state``: The trust state of the system clock when a
    result was produced.
    """

    #: No trusted time has been seen yet on this machine.
    UNKNOWN = 0

    #: The clock is not behind the latest trusted time.
    OK = 1

    #: The clock is behind the latest trusted time by more than the tolerance.
    TAMPERED = 2


class EventKind(enum.IntEnum):
    """``enum lic_event_kind``: What an event reports. Values are stable:
    new kinds are appended.
    """

    #: Not an event (only returned for NULL).
    NONE = 0

    #: A heartbeat reached the server (slot id set for slots; the message names
    #: the machine for the machine heartbeat).
    HEARTBEAT_SENT = 1

    #: A heartbeat got no answer; lic retries within the window. See
    #: `lic_event_attempt` and `lic_event_time_left_ms`.
    HEARTBEAT_FAILED = 2

    #: A slot is no longer held: the server declared it dead or removed it, or
    #: its window passed with no heartbeat. lic tries to get it back.
    SLOT_LOST = 3

    #: A lost slot is held again; its id may have changed
    #: (`lic_event_slot_id`).
    SLOT_RECOVERED = 4

    #: The machine heartbeat monitor stopped: the server declared the machine
    #: dead, or refused its ping for good (the message says why).
    MACHINE_HEARTBEAT_DEAD = 5

    #: `lic_validate` answered from offline evidence after online answers.
    OFFLINE_ENTERED = 6

    #: `lic_validate` answered online again after offline answers.
    OFFLINE_LEFT = 7

    #: A validation's code (from `lic_validate` or the background revalidation)
    #: differs from the previous one's: `lic_event_old_code` and
    #: `lic_event_new_code` have both (the message says "OLD -> NEW").
    LICENSE_STATE_CHANGED = 8

    #: Offline answers are close to the end of the offline grace
    #: (`lic_config_set_offline_grace_seconds`); `lic_event_time_left_ms` has
    #: what is left. Sent once per grace period.
    GRACE_EXPIRING = 9

    #: The Keygen Relay extended this machine's lease (the heartbeat thread
    #: renews it at half its TTL).
    LEASE_RENEWED = 10

    #: A lease renewal got no trustworthy answer (relay unreachable, bad
    #: signature); lic retries until the lease ends. See `lic_event_attempt`
    #: and `lic_event_time_left_ms`.
    LEASE_RENEWAL_FAILED = 11

    #: The relay lease is no longer held: it ended without a renewal reaching
    #: the relay, or the relay let it go (the message says which). lic keeps
    #: trying to claim a lease again; validations answer from the cached file
    #: meanwhile.
    LEASE_LOST = 12

    #: A lease is held again after LEASE_LOST; the message names the license
    #: (it may be another one of the pool).
    LEASE_RECOVERED = 13


class FileKind(enum.IntEnum):
    """``enum lic_file_kind``: Which kind of Keygen file a signature check
    looked at.
    """

    #: NULL handle.
    UNKNOWN = 0

    #: A license file (`-----BEGIN LICENSE FILE-----`).
    LICENSE = 1

    #: A machine file (`-----BEGIN MACHINE FILE-----`).
    MACHINE = 2


class SignedPart(enum.IntEnum):
    """``enum lic_signed_part``: Parts of the signed material behind a
    result, for `lic_result_signed_part`.
    """

    #: The exact response body bytes.
    BODY = 1

    #: The response `Date` header.
    DATE = 2

    #: The response `Digest` header (`sha-256=<base64>`).
    DIGEST = 3

    #: The raw 64-byte Ed25519 signature.
    SIGNATURE = 4

    #: The signing string the signature covers, as lic rebuilt it.
    SIGNING_STRING = 5

    #: The full `Keygen-Signature` header.
    SIGNATURE_HEADER = 6

    #: The certificate text of the license or machine file an offline answer
    #: used.
    CERTIFICATE = 7


class Status(enum.IntEnum):
    """``enum lic_status``: The status of a call. `LIC_STATUS_OK` (0) is
    success; anything else is a failure whose detail is in
    `lic_last_error_message()`. Ranges: 1–19 usage, 20–39 refused by
    the server, 40–59 transport, 60–79 offline and cryptography, 99
    a bug in lic.
    """

    OK = 0

    #: A required pointer argument was NULL.
    NULL_ARGUMENT = 1

    #: An argument was out of range or malformed.
    INVALID_ARGUMENT = 2

    #: A string argument was not valid UTF-8.
    INVALID_UTF8 = 3

    #: The output buffer was too small; `*out_len` holds the length needed.
    BUFFER_TOO_SMALL = 4

    #: The requested value is absent (for example a perpetual license's
    #: expiry).
    NOT_FOUND = 5

    #: A required setting (account id, license key) is missing.
    CONFIG_INCOMPLETE = 6

    #: Plain http:// to a host that is not loopback, without opting in.
    INSECURE_URL = 7

    #: A string output holds a NUL byte (U+0000), so it cannot be given as a C
    #: string: nothing was written. Keygen never sends one; lic refuses such
    #: text as malformed data rather than let C read a truncated string.
    EMBEDDED_NUL = 8

    #: The license key does not exist (401 LICENSE_INVALID).
    LICENSE_INVALID = 20

    #: The policy does not allow license-key authentication: a setup mistake.
    LICENSE_NOT_ALLOWED = 21

    LICENSE_SUSPENDED = 22

    #: Expired under a REVOKE_ACCESS policy: the key no longer authenticates.
    LICENSE_EXPIRED = 23

    LICENSE_BANNED = 24

    #: The license token is unknown, expired or malformed.
    TOKEN_INVALID = 25

    TOKEN_NOT_ALLOWED = 26

    #: Refused for lack of permission (403).
    ACCESS_DENIED = 27

    #: The license has no room for another machine; deactivate one to free a
    #: slot.
    MACHINE_LIMIT_EXCEEDED = 28

    #: The machine to deactivate (or act on) is not activated for this license.
    MACHINE_NOT_ACTIVATED = 29

    #: The fingerprint is activated for another license in the same uniqueness
    #: scope.
    FINGERPRINT_TAKEN = 30

    #: No process slot is free (MACHINE_PROCESS_LIMIT_EXCEEDED).
    PROCESS_LIMIT_EXCEEDED = 31

    #: The machine or process heartbeat is dead.
    HEARTBEAT_DEAD = 32

    #: A core, memory or disk limit would be exceeded.
    RESOURCE_LIMIT_EXCEEDED = 33

    #: The server refused the request for another reason (message has its
    #: code).
    SERVER_REJECTED = 34

    #: The Keygen Relay has no free license in the pool (410): every license is
    #: leased to another node. The message names the relay and the pool.
    NO_LICENSE_AVAILABLE = 35

    #: The server could not be reached (DNS, connect, reset).
    NETWORK_ERROR = 40

    #: No answer within the configured timeout.
    TIMEOUT = 41

    #: TLS failed (certificate not trusted, handshake error).
    TLS_ERROR = 42

    #: The server answered 5xx.
    SERVER_ERROR = 43

    #: The server answered 429 and its Retry-After did not fit the deadline.
    RATE_LIMITED = 44

    #: The answer was not a well-formed Keygen response.
    BAD_RESPONSE = 45

    #: A file could not be read or written.
    IO_ERROR = 60

    #: A license/machine file or signed key is malformed.
    FILE_MALFORMED = 61

    #: A signature (response, file or key) is missing, malformed or wrong.
    SIGNATURE_INVALID = 62

    #: A file, key or response uses an algorithm lic does not verify (named in
    #: the message).
    UNSUPPORTED_ALGORITHM = 63

    #: Decryption failed: wrong license key.
    DECRYPTION_FAILED = 64

    #: The file belongs to another machine.
    FINGERPRINT_MISMATCH = 65

    #: Offline evidence needs a public key and none is configured.
    NO_PUBLIC_KEY = 66

    #: The server could not answer and there is no usable offline file.
    NO_OFFLINE_DATA = 67

    #: This machine has no readable machine id; set a fingerprint.
    FINGERPRINT_UNAVAILABLE = 68

    #: A signed answer is not about this request (nonce, scope, license, stale
    #: Date).
    RESPONSE_MISMATCH = 69

    #: The license key is not a signed key of any Keygen scheme.
    KEY_NOT_SIGNED = 70

    #: A bug in lic was caught at the boundary; the message says where.
    INTERNAL_PANIC = 99

    @property
    def text(self) -> str:
        """lic's English text for the status (``lic_status_str``)."""
        from . import _native

        return _native.lib.lic_status_str(int(self)).decode("utf-8")


class LogLevel(enum.IntEnum):
    """Levels of the log callback (``lic_log_callback``)."""

    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4


#: `lic_validate` flag: activate this machine when the license has none for it
#: (NO_MACHINE, NO_MACHINES, or a floating license's
#: FINGERPRINT_SCOPE_MISMATCH), then validate again.
VALIDATE_AUTO_ACTIVATE = 1

#: `lic_validate` flag: answer only from the server; no offline fallback.
VALIDATE_ONLINE_ONLY = 2

#: `lic_validate` flag: answer only from offline evidence (cached or loaded
#: file, or a signed key); no network.
VALIDATE_OFFLINE_ONLY = 4
