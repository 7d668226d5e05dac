// Exceptions mapped from lic_status (libgit2sharp's Ensure + exception table).
using System;
using System.Collections.Generic;

namespace Lic
{
    /// <summary>A lic call failed: <see cref="Status"/> says how, the message says why.</summary>
    public class LicenseException : Exception
    {
        public LicStatus Status { get; private set; }
        /// <summary>lic's own message (lic_last_error_message), without the status prefix.</summary>
        public string NativeMessage { get; private set; }

        public LicenseException(LicStatus status, string message)
            : base(status + ": " + message)
        {
            Status = status;
            NativeMessage = message;
        }
    }

    /// <summary>A usage mistake: bad argument, invalid UTF-8 (statuses 1-5).</summary>
    public class LicenseArgumentException : LicenseException
    {
        public LicenseArgumentException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>Incomplete or unsafe settings (CONFIG_INCOMPLETE, INSECURE_URL).</summary>
    public class LicenseConfigException : LicenseArgumentException
    {
        public LicenseConfigException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>The server refused the request for this license (statuses 20-39).</summary>
    public class LicenseRefusedException : LicenseException
    {
        public LicenseRefusedException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>No room for another machine: deactivate one first.</summary>
    public class MachineLimitException : LicenseRefusedException
    {
        public MachineLimitException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>No process slot is free.</summary>
    public class NoProcessSlotAvailableException : LicenseRefusedException
    {
        public NoProcessSlotAvailableException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>The Keygen Relay has no free license in the pool (NoLicenseAvailable).</summary>
    public class NoLicenseAvailableException : LicenseRefusedException
    {
        public NoLicenseAvailableException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>The server could not be reached or answered badly (statuses 40-59).</summary>
    public class LicenseNetworkException : LicenseException
    {
        public LicenseNetworkException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>5xx, 429 or an answer that is not Keygen's format.</summary>
    public class LicenseServerException : LicenseNetworkException
    {
        public LicenseServerException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>A forged or replayed answer (SIGNATURE_INVALID, RESPONSE_MISMATCH).</summary>
    public class LicenseSignatureException : LicenseException
    {
        public LicenseSignatureException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>Offline evidence is missing or unusable (statuses 60-79).</summary>
    public class OfflineFileException : LicenseException
    {
        public OfflineFileException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>A bug in lic (INTERNAL_PANIC).</summary>
    public class LicenseInternalException : LicenseException
    {
        public LicenseInternalException(LicStatus s, string m) : base(s, m) { }
    }

    /// <summary>The loaded library speaks another ABI than this binding.</summary>
    public class LicenseAbiException : Exception
    {
        public LicenseAbiException(string message) : base(message) { }
    }

    internal static class Ensure
    {
        private static readonly Dictionary<LicStatus, Func<LicStatus, string, LicenseException>> ByStatus =
            new Dictionary<LicStatus, Func<LicStatus, string, LicenseException>>
            {
                { LicStatus.ConfigIncomplete, (s, m) => new LicenseConfigException(s, m) },
                { LicStatus.InsecureUrl, (s, m) => new LicenseConfigException(s, m) },
                { LicStatus.MachineLimitExceeded, (s, m) => new MachineLimitException(s, m) },
                { LicStatus.ProcessLimitExceeded, (s, m) => new NoProcessSlotAvailableException(s, m) },
                { LicStatus.NoLicenseAvailable, (s, m) => new NoLicenseAvailableException(s, m) },
                { LicStatus.ServerError, (s, m) => new LicenseServerException(s, m) },
                { LicStatus.RateLimited, (s, m) => new LicenseServerException(s, m) },
                { LicStatus.BadResponse, (s, m) => new LicenseServerException(s, m) },
                { LicStatus.SignatureInvalid, (s, m) => new LicenseSignatureException(s, m) },
                { LicStatus.ResponseMismatch, (s, m) => new LicenseSignatureException(s, m) },
                { LicStatus.InternalPanic, (s, m) => new LicenseInternalException(s, m) },
            };

        /// <summary>Throws the mapped exception unless rc is OK. Call right after the
        /// failing call, on the same thread: the message is thread-local.</summary>
        internal static void Check(int rc)
        {
            if (rc != 0) throw Exception(rc);
        }

        internal static LicenseException Exception(int rc)
        {
            string message = Utf8.FromNative(Native.lic_last_error_message());
            if (message.Length == 0) message = Utf8.FromNative(Native.lic_status_str(rc));
            return Create((LicStatus)rc, message);
        }

        internal static LicenseException Create(LicStatus status, string message)
        {
            Func<LicStatus, string, LicenseException> make;
            if (ByStatus.TryGetValue(status, out make)) return make(status, message);
            int rc = (int)status;
            if (rc >= 1 && rc <= 19) return new LicenseArgumentException(status, message);
            if (rc >= 20 && rc <= 39) return new LicenseRefusedException(status, message);
            if (rc >= 40 && rc <= 59) return new LicenseNetworkException(status, message);
            if (rc >= 60 && rc <= 79) return new OfflineFileException(status, message);
            return new LicenseException(status, message);
        }
    }
}
