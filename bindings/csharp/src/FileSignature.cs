using System;
using System.IO;

namespace Lic
{
    /// <summary>What a signature-only check of a license or machine file found
    /// (lic_file_verify_signature): for tools that vet a file they cannot or need
    /// not decrypt. A copy: no native handle is kept.</summary>
    public sealed class FileSignature
    {
        /// <summary>Whether the signature holds with the account key of the file's algorithm.</summary>
        public bool Valid { get; private set; }
        /// <summary>The file's algorithm as Keygen names it, e.g. "aes-256-gcm+rsa-pss-sha256".</summary>
        public string Algorithm { get; private set; }
        /// <summary>Whether the dataset is encrypted (needs the license key to read).</summary>
        public bool Encrypted { get; private set; }
        public FileKind Kind { get; private set; }
        /// <summary>meta.issued; only for a file that is not encrypted and whose signature holds.</summary>
        public DateTimeOffset? Issued { get; private set; }
        /// <summary>meta.expiry, as <see cref="Issued"/>; null also for a file without a TTL.</summary>
        public DateTimeOffset? Expires { get; private set; }

        /// <summary>Checks the certificate bytes with one or more of the account's public keys
        /// (any form LicenseClientOptions.PublicKey takes). A signature that does not hold gives
        /// Valid = false; a malformed file, an unknown algorithm (UnsupportedAlgorithm) or no key
        /// of the file's kind (NoPublicKey) throw.</summary>
        public static FileSignature Verify(byte[] certificate, params string[] publicKeys)
        {
            if (certificate == null) throw new ArgumentNullException("certificate");
            if (publicKeys == null || publicKeys.Length == 0) throw new ArgumentException("at least one public key is needed", "publicKeys");
            Library.EnsureAbi();
            IntPtr cfgPtr;
            Ensure.Check(Native.lic_config_new(out cfgPtr));
            IntPtr ptr;
            using (var cfg = new ConfigHandle(cfgPtr))
            {
                LicenseClient.SetPublicKeys(cfg, null, publicKeys);
                Ensure.Check(Native.lic_file_verify_signature(cfg, certificate, (UIntPtr)certificate.Length, out ptr));
            }
            using (var h = new FileSignatureHandle(ptr))
            {
                return new FileSignature
                {
                    Valid = Native.lic_file_signature_valid(h) == 1,
                    Encrypted = Native.lic_file_signature_encrypted(h) == 1,
                    Kind = (FileKind)Native.lic_file_signature_kind(h),
                    Algorithm = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_file_signature_algorithm(h, b, l, out n), false),
                    Issued = Buffers.ToTime(Buffers.ReadInt64((out long v) => Native.lic_file_signature_issued_unix(h, out v))),
                    Expires = Buffers.ToTime(Buffers.ReadInt64((out long v) => Native.lic_file_signature_expires_unix(h, out v))),
                };
            }
        }

        /// <summary><see cref="Verify"/> for the file at <paramref name="path"/>.</summary>
        public static FileSignature VerifyFile(string path, params string[] publicKeys)
        {
            return Verify(File.ReadAllBytes(path), publicKeys);
        }

        public override string ToString()
        {
            return "FileSignature(" + Kind + ", " + Algorithm + ", valid=" + Valid + ", encrypted=" + Encrypted + ")";
        }
    }
}
