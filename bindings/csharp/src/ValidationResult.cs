using System;
using System.Collections.Generic;

namespace Lic
{
    /// <summary>A validation answer; the verdict is data (check Code and Valid). Properties
    /// read the native result on demand; Dispose frees it (the finalizer does otherwise).</summary>
    public sealed class ValidationResult : IDisposable
    {
        private readonly ResultHandle handle;

        internal ValidationResult(ResultHandle handle) { this.handle = handle; }

        private ResultHandle H
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("ValidationResult");
                return handle;
            }
        }

        public void Dispose() { handle.Dispose(); }

        private string Str(Func<ResultHandle, BufferCall> call, bool optional)
        {
            return Buffers.ReadString(call(H), optional);
        }

        private long? I64(Func<ResultHandle, Int64Call> call)
        {
            return Buffers.ReadInt64(call(H));
        }

        /// <summary>The code; Unknown for codes newer than this binding (see CodeText).</summary>
        public ValidationCode Code
        {
            get
            {
                int c = Native.lic_result_code(H);
                return Enum.IsDefined(typeof(ValidationCode), c) ? (ValidationCode)c : ValidationCode.Unknown;
            }
        }

        public string CodeText
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_code_text(h, b, l, out n), false); }
        }

        /// <summary>The verdict's valid flag; can be true with Expired (MAINTAIN_ACCESS): check Code too.</summary>
        public bool Valid { get { return Native.lic_result_valid(H) == 1; } }

        public string Detail
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_detail(h, b, l, out n), false); }
        }

        public string LicenseId
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_license_id(h, b, l, out n), true); }
        }

        public string LicenseKey
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_license_key(h, b, l, out n), true); }
        }

        public string LicenseName
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_license_name(h, b, l, out n), true); }
        }

        public string LicenseStatus
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_license_status(h, b, l, out n), true); }
        }

        public string PolicyId
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_policy_id(h, b, l, out n), true); }
        }

        /// <summary>The license's expiry; null when it never expires.</summary>
        public DateTimeOffset? Expiry
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_license_expiry(h, out v))); }
        }

        public long? MaxMachines
        {
            get { return I64(h => (out long v) => Native.lic_result_max_machines(h, out v)); }
        }

        public long? MaxProcesses
        {
            get { return I64(h => (out long v) => Native.lic_result_max_processes(h, out v)); }
        }

        /// <summary>How many process slots the client held when it produced this result.</summary>
        public int ProcessSlots
        {
            get { return (int)Native.lic_result_process_slots(H).ToUInt64(); }
        }

        /// <summary>The license metadata as a JSON object text; null without a license.</summary>
        public string MetadataJson
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_metadata_json(h, b, l, out n), true); }
        }

        public IReadOnlyList<string> Entitlements
        {
            get
            {
                ResultHandle h = H;
                ulong count = Native.lic_result_entitlement_count(h).ToUInt64();
                var list = new List<string>((int)count);
                for (ulong i = 0; i < count; i++)
                {
                    UIntPtr index = (UIntPtr)i;
                    list.Add(Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_entitlement(h, index, b, l, out n), false));
                }
                return list;
            }
        }

        public bool HasEntitlement(string code)
        {
            if (code == null) throw new ArgumentNullException("code");
            int flag;
            Ensure.Check(Native.lic_result_has_entitlement(H, Utf8.Arg(code, "code"), out flag));
            return flag == 1;
        }

        public string MachineId
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_machine_id(h, b, l, out n), true); }
        }

        public string Fingerprint
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_fingerprint(h, b, l, out n), true); }
        }

        public LicenseSource Source
        {
            get
            {
                int s = Native.lic_result_source(H);
                return Enum.IsDefined(typeof(LicenseSource), s) ? (LicenseSource)s : LicenseSource.Unknown;
            }
        }

        public DateTimeOffset? Timestamp
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_timestamp(h, out v))); }
        }

        public bool Verified { get { return Native.lic_result_verified(H) == 1; } }

        public ClockState ClockState
        {
            get
            {
                int s = Native.lic_result_clock_state(H);
                return Enum.IsDefined(typeof(ClockState), s) ? (ClockState)s : ClockState.Unknown;
            }
        }

        public DateTimeOffset? FileIssued
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_file_issued(h, out v))); }
        }

        public DateTimeOffset? FileExpiry
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_file_expiry(h, out v))); }
        }

        /// <summary>The signed time of the last verified online validation; null when unknown.</summary>
        public DateTimeOffset? LastOnlineValidation
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_last_online_validation(h, out v))); }
        }

        /// <summary>When the offline grace ends; null without a configured grace.</summary>
        public DateTimeOffset? GraceExpiry
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_grace_expiry(h, out v))); }
        }

        /// <summary>Seconds of offline grace left when the result was made; null without a grace.</summary>
        public long? GraceSecondsLeft
        {
            get { return I64(h => (out long v) => Native.lic_result_grace_seconds_left(h, out v)); }
        }

        /// <summary>When the relay lease behind a Relay answer ends unless renewed; null for
        /// other answers and for a lease that does not expire.</summary>
        public DateTimeOffset? LeaseExpiry
        {
            get { return Buffers.ToTime(I64(h => (out long v) => Native.lic_result_lease_expiry(h, out v))); }
        }

        public string OfflineReason
        {
            get { return Str(h => (byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_offline_reason(h, b, l, out n), true); }
        }

        /// <summary>Raw bytes of the signed material behind the answer; null when absent.</summary>
        public byte[] SignedPart(SignedPart part)
        {
            ResultHandle h = H;
            int p = (int)part;
            return Buffers.ReadBytes((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_result_signed_part(h, p, b, l, out n), true, false);
        }

        public override string ToString()
        {
            if (handle.IsClosed) return "ValidationResult (disposed)";
            return "ValidationResult " + CodeText + " valid=" + Valid + " source=" + Source;
        }
    }
}
