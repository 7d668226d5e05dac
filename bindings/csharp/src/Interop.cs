// UTF-8 strings and lic's buffer protocol.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Lic
{
    internal static class Utf8
    {
        /// <summary>Decodes a NUL-terminated UTF-8 string lic owns (never freed here).</summary>
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            byte[] bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Refuses strings that C would silently cut at an embedded NUL.</summary>
        internal static string Arg(string value, string name)
        {
            if (value != null && value.IndexOf('\0') >= 0)
                throw new ArgumentException(name + " contains a NUL character", name);
            return value;
        }
    }

    /// <summary>(char *buf, size_t buf_len, size_t *out_len) with the handle and other arguments bound.</summary>
    internal delegate int BufferCall(byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

    /// <summary>(…, int64_t *out).</summary>
    internal delegate int Int64Call(out long value);

    internal static class Buffers
    {
        private const int FirstTry = 256;

        /// <summary>Calls with 256 bytes, then once more with the size lic reported
        /// (+1 for the NUL of text). NOT_FOUND gives null when optional.</summary>
        internal static byte[] ReadBytes(BufferCall call, bool optional, bool text)
        {
            byte[] buf = new byte[FirstTry];
            UIntPtr n;
            int rc = call(buf, (UIntPtr)buf.Length, out n);
            if (rc == (int)LicStatus.BufferTooSmall)
            {
                buf = new byte[Math.Max((int)n.ToUInt64() + (text ? 1 : 0), 1)];
                rc = call(buf, (UIntPtr)buf.Length, out n);
            }
            if (rc == (int)LicStatus.NotFound && optional) return null;
            Ensure.Check(rc);
            int len = (int)n.ToUInt64();
            if (len == buf.Length) return buf;
            byte[] exact = new byte[len];
            Buffer.BlockCopy(buf, 0, exact, 0, len);
            return exact;
        }

        internal static string ReadString(BufferCall call, bool optional)
        {
            byte[] buf = new byte[FirstTry];
            UIntPtr n;
            int rc = call(buf, (UIntPtr)buf.Length, out n);
            if (rc == (int)LicStatus.BufferTooSmall)
            {
                buf = new byte[(int)n.ToUInt64() + 1];
                rc = call(buf, (UIntPtr)buf.Length, out n);
            }
            if (rc == (int)LicStatus.NotFound && optional) return null;
            Ensure.Check(rc);
            return Encoding.UTF8.GetString(buf, 0, (int)n.ToUInt64());
        }

        internal static long? ReadInt64(Int64Call call)
        {
            long value;
            int rc = call(out value);
            if (rc == (int)LicStatus.NotFound) return null;
            Ensure.Check(rc);
            return value;
        }

        internal static DateTimeOffset? ToTime(long? seconds)
        {
            return seconds.HasValue ? DateTimeOffset.FromUnixTimeSeconds(seconds.Value) : (DateTimeOffset?)null;
        }
    }
}
