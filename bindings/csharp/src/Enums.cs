// Mirrors of the enums in lic.h. Numbers are stable ABI: lic appends, never renumbers.
using System;

namespace Lic
{
    /// <summary>enum lic_status.</summary>
    public enum LicStatus
    {
        Ok = 0,
        NullArgument = 1,
        InvalidArgument = 2,
        InvalidUtf8 = 3,
        BufferTooSmall = 4,
        NotFound = 5,
        ConfigIncomplete = 6,
        InsecureUrl = 7,
        LicenseInvalid = 20,
        LicenseNotAllowed = 21,
        LicenseSuspended = 22,
        LicenseExpired = 23,
        LicenseBanned = 24,
        TokenInvalid = 25,
        TokenNotAllowed = 26,
        AccessDenied = 27,
        MachineLimitExceeded = 28,
        MachineNotActivated = 29,
        FingerprintTaken = 30,
        ProcessLimitExceeded = 31,
        HeartbeatDead = 32,
        ResourceLimitExceeded = 33,
        ServerRejected = 34,
        NetworkError = 40,
        Timeout = 41,
        TlsError = 42,
        ServerError = 43,
        RateLimited = 44,
        BadResponse = 45,
        IoError = 60,
        FileMalformed = 61,
        SignatureInvalid = 62,
        UnsupportedAlgorithm = 63,
        DecryptionFailed = 64,
        FingerprintMismatch = 65,
        NoPublicKey = 66,
        NoOfflineData = 67,
        FingerprintUnavailable = 68,
        ResponseMismatch = 69,
        KeyNotSigned = 70,
        InternalPanic = 99,
    }

    /// <summary>enum lic_code: Keygen's validation codes plus lic's offline verdicts.</summary>
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
    }

    /// <summary>enum lic_source: where a validation answer came from.</summary>
    public enum LicenseSource
    {
        Unknown = 0,
        Online = 1,
        CachedFile = 2,
        LoadedFile = 3,
        SignedKey = 4,
    }

    /// <summary>enum lic_clock_state.</summary>
    public enum ClockState
    {
        Unknown = 0,
        Ok = 1,
        Tampered = 2,
    }

    /// <summary>enum lic_signed_part.</summary>
    public enum SignedPart
    {
        Body = 1,
        Date = 2,
        Digest = 3,
        Signature = 4,
        SigningString = 5,
        SignatureHeader = 6,
        Certificate = 7,
    }

    /// <summary>enum lic_event_kind: what a <see cref="LicenseEvent"/> reports.</summary>
    public enum LicenseEventKind
    {
        None = 0,
        /// <summary>A heartbeat reached the server (SlotId set for slots).</summary>
        HeartbeatSent = 1,
        /// <summary>A heartbeat got no answer; lic retries within the window (Attempt, TimeLeft).</summary>
        HeartbeatFailed = 2,
        /// <summary>A slot is no longer held; lic tries to get it back.</summary>
        SlotLost = 3,
        /// <summary>A lost slot is held again; its id may have changed.</summary>
        SlotRecovered = 4,
        /// <summary>The machine heartbeat monitor stopped (the message says why).</summary>
        MachineHeartbeatDead = 5,
        OfflineEntered = 6,
        OfflineLeft = 7,
        /// <summary>Validate's code differs from the previous call's ("OLD -> NEW").</summary>
        LicenseStateChanged = 8,
    }

    /// <summary>Levels of the log callback.</summary>
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
        AutoActivate = 1,
        OnlineOnly = 2,
        OfflineOnly = 4,
    }
}
