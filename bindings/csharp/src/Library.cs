using System;
using System.Threading;

namespace Lic
{
    /// <summary>The native library as loaded.</summary>
    public static class Library
    {
        private static int checkedAbi; // 0 not yet, 1 ok

        /// <summary>Checks lic_abi_version() once; every public entry point calls it first.</summary>
        internal static void EnsureAbi()
        {
            if (Volatile.Read(ref checkedAbi) == 1) return;
            uint abi = Native.lic_abi_version();
            if (abi != Native.AbiVersion)
                throw new LicenseAbiException("liblic has ABI version " + abi + ", this binding needs " +
                                              Native.AbiVersion + "; install matching versions");
            Volatile.Write(ref checkedAbi, 1);
        }

        /// <summary>lic_version(), e.g. "0.1.0".</summary>
        public static string Version
        {
            get { EnsureAbi(); return Utf8.FromNative(Native.lic_version()); }
        }

        /// <summary>The ABI version of the loaded library.</summary>
        public static uint AbiVersion
        {
            get { return Native.lic_abi_version(); }
        }

        /// <summary>lic's English text for a status.</summary>
        public static string StatusText(LicStatus status)
        {
            EnsureAbi();
            return Utf8.FromNative(Native.lic_status_str((int)status));
        }

        /// <summary>This machine's built-in fingerprint for appId (null means "lic").</summary>
        public static string MachineFingerprint(string appId = null)
        {
            EnsureAbi();
            Utf8.Arg(appId, "appId");
            return Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_fingerprint(appId, b, l, out n), false);
        }
    }
}
