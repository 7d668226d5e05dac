// Generated from include/lic.h by tests/bindings_enums.rs; do not edit. Run `LIC_BLESS=1 cargo test
// --test bindings_enums` after changing the header. Numbers are stable ABI: lic appends, never
// renumbers.
using System;

namespace Lic
{
    /// <summary>enum lic_source: Where a validation answer came from.</summary>
    public enum LicenseSource
    {
        /// <summary>Not an answer (only returned for a NULL or broken handle).</summary>
        Unknown = 0,
        Online = 1,
        /// <summary>The machine file lic cached after activation.</summary>
        CachedFile = 2,
        /// <summary>A file the app loaded (air-gapped delivery).</summary>
        LoadedFile = 3,
        /// <summary>A signed license key checked with no server.</summary>
        SignedKey = 4,
        /// <summary>
        /// The license file a Keygen Relay leased to this machine, verified and decrypted by lic
        /// (`lic_result_lease_expiry` says until when).
        /// </summary>
        Relay = 5,
    }

    /// <summary>
    /// enum lic_code: Every validation code Keygen defines (keygen-api
    /// `license_validation_service.rb`), plus lic's own offline verdicts. Numbers are stable ABI:
    /// append, never renumber. `Unknown` is zero so a zeroed or missing value never reads as valid.
    /// </summary>
    public enum ValidationCode
    {
        Unknown = 0,
        Valid = 1,
        NotFound = 2,
        Banned = 3,
        Suspended = 4,
        Expired = 5,
        Overdue = 6,
        EnvironmentScopeMismatch = 7,
        EnvironmentScopeRequired = 8,
        ProductScopeMismatch = 9,
        ProductScopeRequired = 10,
        PolicyScopeMismatch = 11,
        PolicyScopeRequired = 12,
        UserScopeMismatch = 13,
        UserScopeRequired = 14,
        EntitlementsScopeEmpty = 15,
        EntitlementsMissing = 16,
        NoMachine = 17,
        NoMachines = 18,
        MachineScopeMismatch = 19,
        MachineScopeRequired = 20,
        HeartbeatNotStarted = 21,
        HeartbeatDead = 22,
        FingerprintScopeEmpty = 23,
        FingerprintScopeMismatch = 24,
        FingerprintScopeRequired = 25,
        ComponentsScopeEmpty = 26,
        ComponentsScopeMismatch = 27,
        ComponentsScopeRequired = 28,
        ChecksumScopeMismatch = 29,
        ChecksumScopeRequired = 30,
        VersionScopeMismatch = 31,
        VersionScopeRequired = 32,
        TooManyUsers = 33,
        TooManyMachines = 34,
        TooManyCores = 35,
        TooMuchMemory = 36,
        TooMuchDisk = 37,
        TooManyProcesses = 38,
        FileExpired = 100,
        ClockTampered = 101,
        /// <summary>Offline past the grace after the last verified online validation.</summary>
        GraceExpired = 102,
    }

    /// <summary>
    /// enum lic_clock_state: The trust state of the system clock when a result was produced.
    /// </summary>
    public enum ClockState
    {
        /// <summary>No trusted time has been seen yet on this machine.</summary>
        Unknown = 0,
        /// <summary>The clock is not behind the latest trusted time.</summary>
        Ok = 1,
        /// <summary>
        /// The clock is behind the latest trusted time by more than the tolerance.
        /// </summary>
        Tampered = 2,
    }

    /// <summary>
    /// enum lic_event_kind: What an event reports. Values are stable: new kinds are appended.
    /// </summary>
    public enum LicenseEventKind
    {
        /// <summary>Not an event (only returned for NULL).</summary>
        None = 0,
        /// <summary>
        /// A heartbeat reached the server (slot id set for slots; the message names the machine for
        /// the machine heartbeat).
        /// </summary>
        HeartbeatSent = 1,
        /// <summary>
        /// A heartbeat got no answer; lic retries within the window. See `lic_event_attempt` and
        /// `lic_event_time_left_ms`.
        /// </summary>
        HeartbeatFailed = 2,
        /// <summary>
        /// A slot is no longer held: the server declared it dead or removed it, or its window
        /// passed with no heartbeat. lic tries to get it back.
        /// </summary>
        SlotLost = 3,
        /// <summary>
        /// A lost slot is held again; its id may have changed (`lic_event_slot_id`).
        /// </summary>
        SlotRecovered = 4,
        /// <summary>
        /// The machine heartbeat monitor stopped: the server declared the machine dead, or refused
        /// its ping for good (the message says why).
        /// </summary>
        MachineHeartbeatDead = 5,
        /// <summary>`lic_validate` answered from offline evidence after online answers.</summary>
        OfflineEntered = 6,
        /// <summary>`lic_validate` answered online again after offline answers.</summary>
        OfflineLeft = 7,
        /// <summary>
        /// A validation's code (from `lic_validate` or the background revalidation) differs from
        /// the previous one's: `lic_event_old_code` and `lic_event_new_code` have both (the message
        /// says "OLD -&gt; NEW").
        /// </summary>
        LicenseStateChanged = 8,
        /// <summary>
        /// Offline answers are close to the end of the offline grace
        /// (`lic_config_set_offline_grace_seconds`); `lic_event_time_left_ms` has what is left.
        /// Sent once per grace period.
        /// </summary>
        GraceExpiring = 9,
        /// <summary>
        /// The Keygen Relay extended this machine's lease (the heartbeat thread renews it at half
        /// its TTL).
        /// </summary>
        LeaseRenewed = 10,
        /// <summary>
        /// A lease renewal got no trustworthy answer (relay unreachable, bad signature); lic
        /// retries until the lease ends. See `lic_event_attempt` and `lic_event_time_left_ms`.
        /// </summary>
        LeaseRenewalFailed = 11,
        /// <summary>
        /// The relay lease is no longer held: it ended without a renewal reaching the relay, or the
        /// relay let it go (the message says which). lic keeps trying to claim a lease again;
        /// validations answer from the cached file meanwhile.
        /// </summary>
        LeaseLost = 12,
        /// <summary>
        /// A lease is held again after LEASE_LOST; the message names the license (it may be another
        /// one of the pool).
        /// </summary>
        LeaseRecovered = 13,
    }

    /// <summary>
    /// enum lic_file_kind: Which kind of Keygen file a signature check looked at.
    /// </summary>
    public enum FileKind
    {
        /// <summary>NULL handle.</summary>
        Unknown = 0,
        /// <summary>A license file (`-----BEGIN LICENSE FILE-----`).</summary>
        License = 1,
        /// <summary>A machine file (`-----BEGIN MACHINE FILE-----`).</summary>
        Machine = 2,
    }

    /// <summary>
    /// enum lic_signed_part: Parts of the signed material behind a result, for
    /// `lic_result_signed_part`.
    /// </summary>
    public enum SignedPart
    {
        /// <summary>The exact response body bytes.</summary>
        Body = 1,
        /// <summary>The response `Date` header.</summary>
        Date = 2,
        /// <summary>The response `Digest` header (`sha-256=&lt;base64&gt;`).</summary>
        Digest = 3,
        /// <summary>The raw 64-byte Ed25519 signature.</summary>
        Signature = 4,
        /// <summary>The signing string the signature covers, as lic rebuilt it.</summary>
        SigningString = 5,
        /// <summary>The full `Keygen-Signature` header.</summary>
        SignatureHeader = 6,
        /// <summary>
        /// The certificate text of the license or machine file an offline answer used.
        /// </summary>
        Certificate = 7,
    }

    /// <summary>
    /// enum lic_status: The status of a call. `LIC_STATUS_OK` (0) is success; anything else is a
    /// failure whose detail is in `lic_last_error_message()`. Ranges: 1–19 usage, 20–39 refused
    /// by the server, 40–59 transport, 60–79 offline and cryptography, 99 a bug in lic.
    /// </summary>
    public enum LicStatus
    {
        Ok = 0,
        /// <summary>A required pointer argument was NULL.</summary>
        NullArgument = 1,
        /// <summary>An argument was out of range or malformed.</summary>
        InvalidArgument = 2,
        /// <summary>A string argument was not valid UTF-8.</summary>
        InvalidUtf8 = 3,
        /// <summary>The output buffer was too small; `*out_len` holds the length needed.</summary>
        BufferTooSmall = 4,
        /// <summary>
        /// The requested value is absent (for example a perpetual license's expiry).
        /// </summary>
        NotFound = 5,
        /// <summary>A required setting (account id, license key) is missing.</summary>
        ConfigIncomplete = 6,
        /// <summary>Plain http:// to a host that is not loopback, without opting in.</summary>
        InsecureUrl = 7,
        /// <summary>
        /// A string output holds a NUL byte (U+0000), so it cannot be given as a C string: nothing
        /// was written. Keygen never sends one; lic refuses such text as malformed data rather than
        /// let C read a truncated string.
        /// </summary>
        EmbeddedNul = 8,
        /// <summary>The license key does not exist (401 LICENSE_INVALID).</summary>
        LicenseInvalid = 20,
        /// <summary>
        /// The policy does not allow license-key authentication: a setup mistake.
        /// </summary>
        LicenseNotAllowed = 21,
        LicenseSuspended = 22,
        /// <summary>
        /// Expired under a REVOKE_ACCESS policy: the key no longer authenticates.
        /// </summary>
        LicenseExpired = 23,
        LicenseBanned = 24,
        /// <summary>The license token is unknown, expired or malformed.</summary>
        TokenInvalid = 25,
        TokenNotAllowed = 26,
        /// <summary>Refused for lack of permission (403).</summary>
        AccessDenied = 27,
        /// <summary>
        /// The license has no room for another machine; deactivate one to free a slot.
        /// </summary>
        MachineLimitExceeded = 28,
        /// <summary>
        /// The machine to deactivate (or act on) is not activated for this license.
        /// </summary>
        MachineNotActivated = 29,
        /// <summary>
        /// The fingerprint is activated for another license in the same uniqueness scope.
        /// </summary>
        FingerprintTaken = 30,
        /// <summary>No process slot is free (MACHINE_PROCESS_LIMIT_EXCEEDED).</summary>
        ProcessLimitExceeded = 31,
        /// <summary>The machine or process heartbeat is dead.</summary>
        HeartbeatDead = 32,
        /// <summary>A core, memory or disk limit would be exceeded.</summary>
        ResourceLimitExceeded = 33,
        /// <summary>
        /// The server refused the request for another reason (message has its code).
        /// </summary>
        ServerRejected = 34,
        /// <summary>
        /// The Keygen Relay has no free license in the pool (410): every license is leased to
        /// another node. The message names the relay and the pool.
        /// </summary>
        NoLicenseAvailable = 35,
        /// <summary>The server could not be reached (DNS, connect, reset).</summary>
        NetworkError = 40,
        /// <summary>No answer within the configured timeout.</summary>
        Timeout = 41,
        /// <summary>TLS failed (certificate not trusted, handshake error).</summary>
        TlsError = 42,
        /// <summary>The server answered 5xx.</summary>
        ServerError = 43,
        /// <summary>The server answered 429 and its Retry-After did not fit the deadline.</summary>
        RateLimited = 44,
        /// <summary>The answer was not a well-formed Keygen response.</summary>
        BadResponse = 45,
        /// <summary>A file could not be read or written.</summary>
        IoError = 60,
        /// <summary>A license/machine file or signed key is malformed.</summary>
        FileMalformed = 61,
        /// <summary>A signature (response, file or key) is missing, malformed or wrong.</summary>
        SignatureInvalid = 62,
        /// <summary>
        /// A file, key or response uses an algorithm lic does not verify (named in the message).
        /// </summary>
        UnsupportedAlgorithm = 63,
        /// <summary>Decryption failed: wrong license key.</summary>
        DecryptionFailed = 64,
        /// <summary>The file belongs to another machine.</summary>
        FingerprintMismatch = 65,
        /// <summary>Offline evidence needs a public key and none is configured.</summary>
        NoPublicKey = 66,
        /// <summary>The server could not answer and there is no usable offline file.</summary>
        NoOfflineData = 67,
        /// <summary>This machine has no readable machine id; set a fingerprint.</summary>
        FingerprintUnavailable = 68,
        /// <summary>
        /// A signed answer is not about this request (nonce, scope, license, stale Date).
        /// </summary>
        ResponseMismatch = 69,
        /// <summary>The license key is not a signed key of any Keygen scheme.</summary>
        KeyNotSigned = 70,
        /// <summary>A bug in lic was caught at the boundary; the message says where.</summary>
        InternalPanic = 99,
    }

    /// <summary>Levels of the log callback (lic_log_callback).</summary>
    public enum LogLevel
    {
        Error = 1,
        Warn = 2,
        Info = 3,
        Debug = 4,
    }

    /// <summary>lic_validate flags (LIC_VALIDATE_*).</summary>
    [Flags]
    public enum ValidateOptions
    {
        None = 0,
        /// <summary>
        /// `lic_validate` flag: activate this machine when the license has none for it (NO_MACHINE,
        /// NO_MACHINES, or a floating license's FINGERPRINT_SCOPE_MISMATCH), then validate again.
        /// </summary>
        AutoActivate = 1,
        /// <summary>
        /// `lic_validate` flag: answer only from the server; no offline fallback.
        /// </summary>
        OnlineOnly = 2,
        /// <summary>
        /// `lic_validate` flag: answer only from offline evidence (cached or loaded file, or a
        /// signed key); no network.
        /// </summary>
        OfflineOnly = 4,
    }
}
