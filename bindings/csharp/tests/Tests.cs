// Console test harness for the C# binding: compiled with mcs, run with mono
// against a lic-devserver it starts (see ../run-tests.sh). Prints one line per
// failure and "N passed, N failed" last; exits non-zero on any failure.
//
// Environment: LIC_REPO_ROOT (for include/lic.h), LIC_DEVSERVER (the
// binary), LIC_EXAMPLE_EXE (examples/csharp/NodeLocked.exe, built), and the
// native library on LD_LIBRARY_PATH or mapped by Lic.dll.config.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading;

namespace Lic.Tests
{
    internal static class Program
    {
        private static int passed, failed;
        private static DevServer server;
        private static string root, tmp;
        private static int counter;

        private static string Unique(string prefix)
        {
            return prefix + "-" + Interlocked.Increment(ref counter) + "-" + Process.GetCurrentProcess().Id;
        }

        private static void Assert(bool cond, string what)
        {
            if (!cond) throw new Exception("assertion failed: " + what);
        }

        private static void Equal<T>(T want, T got, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(want, got))
                throw new Exception(what + ": expected <" + want + ">, got <" + got + ">");
        }

        private static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try { action(); }
            catch (TException e) { return e; }
            catch (Exception e) { throw new Exception(what + ": expected " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message); }
            throw new Exception(what + ": expected " + typeof(TException).Name + ", nothing thrown");
        }

        private static readonly List<LicenseClient> made = new List<LicenseClient>();

        private static LicenseClient Client(string key, string fingerprint, Action<LicenseClientOptions> tweak = null)
        {
            var o = new LicenseClientOptions
            {
                AccountId = server.AccountId,
                ApiUrl = server.BaseUrl,
                PublicKey = server.PublicKey,
                LicenseKey = key,
                Fingerprint = fingerprint,
                CacheDir = Path.Combine(tmp, "cache"),
                TimeoutMs = 3000,
            };
            if (tweak != null) tweak(o);
            var c = new LicenseClient(o);
            made.Add(c);
            return c;
        }

        private static void Run(string name, Action test)
        {
            try
            {
                test();
                passed++;
            }
            catch (Exception e)
            {
                failed++;
                Console.Error.WriteLine("FAIL " + name + ": " + e);
            }
            finally
            {
                try { server.ClearFaults(); } catch { }
            }
        }

        private static int Main(string[] args)
        {
            root = Environment.GetEnvironmentVariable("LIC_REPO_ROOT") ?? Path.GetFullPath("../../..");
            string devserver = Environment.GetEnvironmentVariable("LIC_DEVSERVER") ?? Path.Combine(root, "target/debug/lic-devserver");
            tmp = Path.Combine(Path.GetTempPath(), "lic-cs-" + Process.GetCurrentProcess().Id);
            Directory.CreateDirectory(tmp);
            using (server = new DevServer(devserver))
            {
                Run("library and ABI", LibraryAndAbi);
                Run("every lic.h function is imported and resolves", SymbolCoverage);
                Run("enums mirror lic.h", EnumsMirrorHeader);
                Run("status to exception mapping", ExceptionMapping);
                Run("node-locked flow", NodeLockedFlow);
                Run("FINGERPRINT_SCOPE_MISMATCH and machine limit", MismatchAndMachineLimit);
                Run("expiry, metadata, suspended", ExpiryMetadataSuspended);
                Run("offline fallback (server unreachable)", OfflineFallback);
                Run("tampered answer", TamperedAnswer);
                Run("hand-delivered machine file", LoadedFile);
                Run("signed keys of every scheme (RSA, ECDSA, Ed25519)", SignedKeysOfEveryScheme);
                Run("the real RSA-PSS key of Keygen's C# example", RealKeygenRsaKey);
                Run("files of every algorithm load and answer offline", FilesOfEveryAlgorithm);
                Run("signature-only file checks", SignatureOnlyChecks);
                Run("malformed and wrong-kind public keys", BadPublicKeys);
                Run("extra keys keep the devserver's answers verified", ExtraKeysOnline);
                Run("air-gapped activation request (QR code)", AirGappedActivationRequest);
                Run("configuration exceptions and messages", ConfigurationErrors);
                Run("Dispose semantics", DisposeSemantics);
                Run("Unicode keys and fingerprints", Unicode);
                Run("threads share one client", Threads);
                Run("log callback", LogCallback);
                Run("finalizers free what was not disposed", Finalizers);
                Run("process slots up to the limit", ProcessSlotsUpToTheLimit);
                Run("ProcessSlot Dispose releases, client Dispose releases", SlotDispose);
                Run("events through PollEvents", PolledEvents);
                Run("an outage longer than the heartbeat window", Outage);
                Run("OnEvent callback", EventCallbackOption);
                Run("machine heartbeat", MachineHeartbeat);
                Run("components and the fingerprint report", ComponentsAndReport);
                Run("components matching survives a disk, refuses a clone", ComponentsMatching);
                Run("background revalidation and the offline grace", RevalidationAndGrace);
                Run("diagnostics hold no secret", DiagnosticsRedacted);
                Run("Keygen Relay: claim, renew, exhausted pool, release, lost lease, fallback", RelayLease);
                Run("Keygen Relay: a wrong secret is never believed", RelaySecret);
                Run("examples/csharp/NodeLocked", Example);
                foreach (var c in made) c.Dispose();
            }
            try { Directory.Delete(tmp, true); } catch { }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private static string Header()
        {
            return File.ReadAllText(Path.Combine(root, "include/lic.h"));
        }

        private static void LibraryAndAbi()
        {
            Equal("0.1.0", Library.Version, "version");
            Equal(1u, Library.AbiVersion, "abi");
            Assert(Regex.IsMatch(Header(), "#define LIC_ABI_VERSION " + Library.AbiVersion + "\\b"), "header ABI");
            Equal("timed out", Library.StatusText(LicStatus.Timeout), "status text");
            string fp = Library.MachineFingerprint();
            Assert(Regex.IsMatch(fp, "^[0-9a-f]{64}$"), "fingerprint hex: " + fp);
            Equal(fp, Library.MachineFingerprint("lic"), "default app id");
            Assert(Library.MachineFingerprint("другое-приложение-🔑") != fp, "app id changes it");
        }

        private static void SymbolCoverage()
        {
            var declared = new HashSet<string>(Regex.Matches(Header(), @"^[A-Za-z_][\w \*]*?\b(lic_\w+)\(", RegexOptions.Multiline)
                .Cast<Match>().Select(m => m.Groups[1].Value));
            Assert(declared.Count > 70, "parsed the header");
            Type native = typeof(LicenseClient).Assembly.GetType("Lic.Native", true);
            var imports = native.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
                .Where(m => m.GetCustomAttributes(typeof(DllImportAttribute), false).Length > 0).ToList();
            var bound = new HashSet<string>(imports.Select(m => m.Name));
            var missing = declared.Except(bound).ToList();
            var extra = bound.Except(declared).ToList();
            Assert(missing.Count == 0, "not imported: " + string.Join(", ", missing));
            Assert(extra.Count == 0, "imported but not in lic.h: " + string.Join(", ", extra));
            foreach (var m in imports)
            {
                var attr = (DllImportAttribute)m.GetCustomAttributes(typeof(DllImportAttribute), false)[0];
                Assert(attr.ExactSpelling && attr.CallingConvention == CallingConvention.Cdecl, m.Name + " attributes");
                Assert(m.GetParameters().All(p => p.ParameterType != typeof(bool)) && m.ReturnType != typeof(bool), m.Name + " has a bool");
                Marshal.Prelink(m); // throws EntryPointNotFoundException for a misspelled name
            }
        }

        private static Dictionary<string, int> HeaderEnum(string prefix)
        {
            return Regex.Matches(Header(), @"^\s+" + prefix + @"_(\w+) = (-?\d+),", RegexOptions.Multiline).Cast<Match>()
                .ToDictionary(m => m.Groups[1].Value.Replace("_", ""), m => int.Parse(m.Groups[2].Value));
        }

        private static void EnumMirrors(Type e, string prefix)
        {
            var want = HeaderEnum(prefix);
            var got = Enum.GetValues(e).Cast<object>().ToDictionary(v => Enum.GetName(e, v).ToUpperInvariant(), v => (int)v);
            Equal(want.Count, got.Count, e.Name + " count");
            foreach (var kv in want)
            {
                int v;
                Assert(got.TryGetValue(kv.Key.ToUpperInvariant(), out v) && v == kv.Value, e.Name + "." + kv.Key + " = " + kv.Value);
            }
        }

        private static void EnumsMirrorHeader()
        {
            EnumMirrors(typeof(LicStatus), "LIC_STATUS");
            EnumMirrors(typeof(ValidationCode), "LIC_CODE");
            EnumMirrors(typeof(LicenseSource), "LIC_SOURCE");
            EnumMirrors(typeof(ClockState), "LIC_CLOCK_STATE");
            EnumMirrors(typeof(SignedPart), "LIC_SIGNED_PART");
            EnumMirrors(typeof(LicenseEventKind), "LIC_EVENT_KIND");
        }

        private static void ExceptionMapping()
        {
            Assert(Ensure.Create(LicStatus.NoLicenseAvailable, "m") is NoLicenseAvailableException, "no license");
            Assert(Ensure.Create(LicStatus.MachineLimitExceeded, "m") is MachineLimitException, "machine limit");
            Assert(Ensure.Create(LicStatus.ProcessLimitExceeded, "m") is NoProcessSlotAvailableException, "process limit");
            Assert(Ensure.Create(LicStatus.SignatureInvalid, "m") is LicenseSignatureException, "signature");
            Assert(Ensure.Create(LicStatus.ResponseMismatch, "m") is LicenseSignatureException, "mismatch");
            Assert(Ensure.Create(LicStatus.NetworkError, "m") is LicenseNetworkException, "network");
            Assert(Ensure.Create(LicStatus.ServerError, "m") is LicenseServerException, "server");
            Assert(Ensure.Create(LicStatus.NoOfflineData, "m") is OfflineFileException, "offline");
            Assert(Ensure.Create(LicStatus.InsecureUrl, "m") is LicenseConfigException, "config");
            Assert(Ensure.Create(LicStatus.InvalidUtf8, "m") is LicenseArgumentException, "argument");
            Assert(Ensure.Create(LicStatus.LicenseSuspended, "m") is LicenseRefusedException, "refused");
            Assert(Ensure.Create(LicStatus.InternalPanic, "m") is LicenseInternalException, "panic");
            var unknown = Ensure.Create((LicStatus)12345, "m");
            Assert(unknown.GetType() == typeof(LicenseException), "unknown status");
        }

        private static void NodeLockedFlow()
        {
            string licenseId;
            string key = server.License(server.NodeLockedPolicy(), "", out licenseId);
            string fp = Unique("cs-a");
            var a = Client(key, fp);
            Equal(fp, a.Fingerprint, "client fingerprint");
            using (var r = a.Validate())
            {
                Equal(ValidationCode.NoMachine, r.Code, "code before activation");
                Equal("NO_MACHINE", r.CodeText, "code text");
                Assert(!r.Valid && r.MachineId == null, "not valid, no machine");
            }
            Machine m = a.Activate();
            Equal(fp, m.Fingerprint, "machine fingerprint");
            Assert(m.Created.HasValue && m.Id.Length == 36, "machine id and created");
            using (var r = a.Validate())
            {
                Equal(ValidationCode.Valid, r.Code, "code");
                Assert(r.Valid && r.Verified, "valid and verified");
                Equal("is valid", r.Detail, "detail");
                Equal(licenseId, r.LicenseId, "license id");
                Equal(key, r.LicenseKey, "license key");
                Equal(m.Id, r.MachineId, "machine id");
                Equal(fp, r.Fingerprint, "fingerprint");
                Equal(LicenseSource.Online, r.Source, "source");
                Assert(r.ClockState != ClockState.Tampered, "clock");
                Assert(r.Expiry == null, "perpetual");
                Equal((long?)1, r.MaxMachines, "max machines");
                Equal("ACTIVE", r.LicenseStatus, "status");
                Assert(r.PolicyId != null, "policy");
                Assert(r.MetadataJson.StartsWith("{"), "metadata");
                Equal(0, r.Entitlements.Count, "entitlements");
                Assert(!r.HasEntitlement("NOPE"), "has entitlement");
                Assert(r.Timestamp.HasValue && Math.Abs((r.Timestamp.Value - DateTimeOffset.UtcNow).TotalMinutes) < 5, "timestamp");
                Assert(r.FileIssued == null && r.OfflineReason == null, "online answer");
                Equal(64, r.SignedPart(SignedPart.Signature).Length, "signature bytes");
                Assert(r.SignedPart(SignedPart.Body).Length > 256, "body via the retry");
                Assert(r.SignedPart(SignedPart.Certificate) == null, "no certificate online");
                var e = Throws<LicenseArgumentException>(() => r.SignedPart((SignedPart)42), "unknown part");
                Equal(LicStatus.InvalidArgument, e.Status, "unknown part status");
                Assert(r.ToString().Contains("VALID"), "ToString");
            }
            a.Deactivate();
            var e2 = Throws<LicenseRefusedException>(() => a.Deactivate(), "second deactivation");
            Equal(LicStatus.MachineNotActivated, e2.Status, "status");
            Assert(e2.NativeMessage.Contains("not activated"), "message: " + e2.NativeMessage);
        }

        private static void MismatchAndMachineLimit()
        {
            string key = server.NodeLockedLicense();
            var a = Client(key, Unique("cs-a"));
            var b = Client(key, Unique("cs-b"));
            Machine m = a.Activate();
            using (var r = b.Validate(ValidateOptions.AutoActivate))
                Equal(ValidationCode.FingerprintScopeMismatch, r.Code, "locked elsewhere");
            var e = Throws<MachineLimitException>(() => b.Activate(), "machine limit");
            Equal(LicStatus.MachineLimitExceeded, e.Status, "status");
            Assert(e.NativeMessage.Contains("MACHINE_LIMIT_EXCEEDED"), "message: " + e.NativeMessage);
            Assert(e.Message.StartsWith("MachineLimitExceeded: "), "Message: " + e.Message);
            var machines = b.Machines();
            Equal(1, machines.Count, "machines");
            Equal(m.Id, machines[0].Id, "listed machine");
            b.Deactivate(machines[0].Id);
            using (var r = b.Validate(ValidateOptions.AutoActivate))
                Equal(ValidationCode.Valid, r.Code, "moved");
        }

        private static void ExpiryMetadataSuspended()
        {
            var expiry = DateTimeOffset.UtcNow.AddDays(30);
            expiry = DateTimeOffset.FromUnixTimeSeconds(expiry.ToUnixTimeSeconds());
            string id;
            string key = server.License(server.NodeLockedPolicy(),
                "\"name\":\"Lizenz für Jürgen\",\"expiry\":" + Json.Q(expiry.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.000Z")) +
                ",\"metadata\":{\"tier\":\"pro\"}", out id);
            var c = Client(key, Unique("cs-exp"));
            using (var r = c.Validate(ValidateOptions.AutoActivate))
            {
                Equal(ValidationCode.Valid, r.Code, "code");
                Equal((DateTimeOffset?)expiry, r.Expiry, "expiry");
                Equal("Lizenz für Jürgen", r.LicenseName, "name");
                Assert(r.MetadataJson.Contains("\"tier\":\"pro\""), "metadata " + r.MetadataJson);
            }
            server.Expect("POST", "/v1/licenses/" + id + "/actions/suspend", null, 200);
            using (var r = c.Validate(ValidateOptions.OnlineOnly))
            {
                Equal(ValidationCode.Suspended, r.Code, "suspended is a verdict");
                Assert(!r.Valid, "not valid");
            }
        }

        private static void OfflineFallback()
        {
            string key = server.NodeLockedLicense();
            string fp = Unique("cs-off");
            var c = Client(key, fp);
            using (var r = c.Validate(ValidateOptions.AutoActivate)) Equal(ValidationCode.Valid, r.Code, "online");
            server.Fault("{\"mode\":\"offline\"}");
            using (var r = c.Validate())
            {
                Equal(ValidationCode.Valid, r.Code, "offline code");
                Equal(LicenseSource.CachedFile, r.Source, "source");
                Assert(r.Verified && r.OfflineReason != null && r.FileIssued.HasValue, "offline details");
                Assert(System.Text.Encoding.UTF8.GetString(r.SignedPart(SignedPart.Certificate)).StartsWith("-----BEGIN MACHINE FILE-----"), "certificate");
            }
            var e = Throws<LicenseNetworkException>(() => c.Validate(ValidateOptions.OnlineOnly), "online only");
            Equal(LicStatus.NetworkError, e.Status, "status");
            var fresh = Client(key, Unique("cs-nocache"));
            var e2 = Throws<OfflineFileException>(() => fresh.Validate(), "no cache");
            Equal(LicStatus.NoOfflineData, e2.Status, "status");
            server.ClearFaults();
            using (var r = c.Validate(ValidateOptions.OfflineOnly)) Equal(LicenseSource.CachedFile, r.Source, "offline only");
        }

        private static void TamperedAnswer()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-tamper"));
            c.Validate(ValidateOptions.AutoActivate).Dispose();
            server.Fault("{\"mode\":\"tamper\",\"path\":\"validate-key\"}");
            var e = Throws<LicenseSignatureException>(() => c.Validate(ValidateOptions.OnlineOnly), "tampered");
            Equal(LicStatus.SignatureInvalid, e.Status, "status");
            server.Fault("{\"mode\":\"tamper\",\"path\":\"validate-key\"}");
            using (var r = c.Validate())
                Assert(r.Code == ValidationCode.Valid && r.Source == LicenseSource.CachedFile, "falls back to the cache");
        }

        private static void LoadedFile()
        {
            string key = server.NodeLockedLicense();
            string fp = Unique("cs-air");
            var vendor = Client(key, fp, o => o.CacheDir = Path.Combine(tmp, "vendor"));
            string cert = server.CheckoutMachine(vendor.Activate().Id);
            var air = Client(key, fp, o => { o.ApiUrl = "http://127.0.0.1:9"; o.CacheDir = Path.Combine(tmp, "air"); });
            Throws<OfflineFileException>(() => air.Validate(), "nothing yet");
            air.LoadFile(System.Text.Encoding.UTF8.GetBytes(cert));
            using (var r = air.Validate(ValidateOptions.OfflineOnly))
                Assert(r.Code == ValidationCode.Valid && r.Valid && r.Source == LicenseSource.LoadedFile, "loaded file answers");
            string path = Path.Combine(tmp, "machine.lic");
            File.WriteAllText(path, cert);
            var fromPath = Client(key, fp, o => { o.ApiUrl = "http://127.0.0.1:9"; o.CacheDir = Path.Combine(tmp, "air2"); });
            fromPath.LoadFile(path);
            using (var r = fromPath.Validate(ValidateOptions.OfflineOnly)) Equal(LicenseSource.LoadedFile, r.Source, "from path");
            var elsewhere = Client(key, Unique("cs-else"), o => o.ApiUrl = "http://127.0.0.1:9");
            Equal(LicStatus.FingerprintMismatch,
                Throws<OfflineFileException>(() => elsewhere.LoadFile(System.Text.Encoding.UTF8.GetBytes(cert)), "other machine").Status, "status");
            Equal(LicStatus.IoError, Throws<OfflineFileException>(() => air.LoadFile(Path.Combine(tmp, "missing.lic")), "missing").Status, "io");
            Equal(LicStatus.FileMalformed, Throws<OfflineFileException>(() => air.LoadFile(new byte[] { 1, 2, 3 }), "garbage").Status, "malformed");
        }

        // tests/data/signing/vectors.json, made by tests/support/keygen.rs (signs
        // as Keygen's source does). Its objects hold no nested braces.
        private static string vectors;
        private static string Vectors()
        {
            if (vectors == null) vectors = File.ReadAllText(Path.Combine(root, "tests/data/signing/vectors.json"));
            return vectors;
        }

        private static List<string> Objects(string section)
        {
            string text = Vectors();
            int start = text.IndexOf("\"" + section + "\": [", StringComparison.Ordinal);
            int end = text.IndexOf("]", start, StringComparison.Ordinal);
            return Regex.Matches(text.Substring(start, end - start), "\\{[^{}]*\\}").Cast<Match>().Select(m => m.Value).ToList();
        }

        private static string AccountKey(string kind)
        {
            string account = Regex.Match(Vectors(), "\"account\": \\{[^{}]*\\}").Value;
            return Json.Str(account, kind);
        }

        private static string[] AllKeys() { return new[] { AccountKey("ed25519"), AccountKey("rsa"), AccountKey("ecdsa") }; }

        private static string KeyForAlgorithm(string signing)
        {
            if (signing.EndsWith("ed25519") || signing == "ED25519_SIGN") return AccountKey("ed25519");
            if (signing.EndsWith("ecdsa-p256") || signing == "ECDSA_P256_SIGN") return AccountKey("ecdsa");
            return AccountKey("rsa");
        }

        private static LicenseClient OfflineClient(string licenseKey, string fingerprint, params string[] keys)
        {
            return Client(licenseKey, fingerprint, o =>
            {
                o.ApiUrl = "http://127.0.0.1:9";
                o.PublicKey = null;
                o.PublicKeys = keys;
                o.CacheDir = Path.Combine(tmp, Unique("sig"));
            });
        }

        private static void SignedKeysOfEveryScheme()
        {
            var schemes = new HashSet<string>();
            foreach (string v in Objects("keys"))
            {
                string scheme = Json.Str(v, "scheme"), key = Json.Str(v, "key");
                schemes.Add(scheme);
                foreach (var keys in new[] { new[] { KeyForAlgorithm(scheme) }, AllKeys() })
                    using (var r = OfflineClient(key, "fp", keys).CheckSignedKey())
                    {
                        Equal(ValidationCode.Valid, r.Code, scheme);
                        Equal(LicenseSource.SignedKey, r.Source, scheme);
                        Equal(Json.Str(v, "license_id"), r.LicenseId, scheme + " license id");
                        string expiry = Json.Str(v, "expiry");
                        Equal(expiry == null, !r.Expiry.HasValue, scheme + " expiry");
                    }
                string other = KeyForAlgorithm(scheme) == AccountKey("ed25519") ? AccountKey("rsa") : AccountKey("ed25519");
                var e = Throws<LicenseException>(() => OfflineClient(key, "fp", other).CheckSignedKey(), scheme + " other key");
                Equal(LicStatus.NoPublicKey, e.Status, scheme + " status");
            }
            Equal(8, schemes.Count, "every scheme");
        }

        private static void RealKeygenRsaKey()
        {
            string real = File.ReadAllText(Path.Combine(root, "tests/data/keygen/example-csharp-cryptographic-verification.json"));
            using (var r = OfflineClient(Json.Str(real, "license_key"), "fp", Json.Str(real, "public_key")).CheckSignedKey())
            {
                Equal(ValidationCode.Valid, r.Code, "genuine");
                Equal(Json.Str(real, "license_id"), r.LicenseId, "license id");
            }
            string altered = Json.Str(real, "license_key").Replace("PtRHZ", "PtRHY");
            Equal(LicStatus.SignatureInvalid,
                Throws<LicenseException>(() => OfflineClient(altered, "fp", Json.Str(real, "public_key")).CheckSignedKey(), "altered").Status, "altered");
        }

        private static void FilesOfEveryAlgorithm()
        {
            int n = 0;
            foreach (string v in Objects("files"))
            {
                string alg = Json.Str(v, "algorithm");
                string fp = Json.Str(v, "fingerprint") ?? "fp-any";
                var c = OfflineClient(Json.Str(v, "license_key"), fp, KeyForAlgorithm(alg));
                c.LoadFile(System.Text.Encoding.UTF8.GetBytes(Json.Str(v, "certificate")));
                using (var r = c.Validate(ValidateOptions.OfflineOnly))
                {
                    Equal(ValidationCode.Valid, r.Code, alg);
                    Equal(LicenseSource.LoadedFile, r.Source, alg);
                }
                n++;
            }
            Equal(16, n, "every algorithm for both kinds of file");
        }

        private static void SignatureOnlyChecks()
        {
            foreach (string v in Objects("files"))
            {
                string alg = Json.Str(v, "algorithm");
                byte[] cert = System.Text.Encoding.UTF8.GetBytes(Json.Str(v, "certificate"));
                var s = FileSignature.Verify(cert, AllKeys());
                Assert(s.Valid, alg + " valid");
                Equal(alg, s.Algorithm, "algorithm");
                Equal(alg.StartsWith("aes-256-gcm"), s.Encrypted, alg + " encrypted");
                Equal(Json.Str(v, "kind") == "license" ? FileKind.License : FileKind.Machine, s.Kind, alg + " kind");
                Equal(!s.Encrypted, s.Issued.HasValue, alg + " issued");
                if (!s.Encrypted)
                    Equal(DateTimeOffset.Parse(Json.Str(v, "issued")), s.Issued.Value, alg + " issued time");
                Equal(!s.Encrypted && Json.Str(v, "expiry") != null, s.Expires.HasValue, alg + " expires");
                Assert(FileSignature.Verify(cert, KeyForAlgorithm(alg)).Valid, alg + " own key");

                // The signed payload altered: the signature no longer holds.
                string text = Json.Str(v, "certificate");
                string[] lines = text.Split('\n');
                string env = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(string.Concat(lines.Skip(1).Take(lines.Length - 3))));
                int at = env.IndexOf("\"enc\":\"", StringComparison.Ordinal) + 7;
                env = env.Substring(0, at) + (env[at] == 'A' ? 'B' : 'A') + env.Substring(at + 1);
                string altered = lines[0] + "\n" + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(env)) + "\n" + lines[lines.Length - 2] + "\n";
                var bad = FileSignature.Verify(System.Text.Encoding.UTF8.GetBytes(altered), AllKeys());
                Assert(!bad.Valid && !bad.Issued.HasValue, alg + " altered");
            }
            string rsaFile = Json.Str(Objects("files").First(o => Json.Str(o, "algorithm") == "base64+rsa-sha256"), "certificate");
            var e = Throws<LicenseException>(() => FileSignature.Verify(System.Text.Encoding.UTF8.GetBytes(rsaFile), AccountKey("ed25519")), "no RSA key");
            Equal(LicStatus.NoPublicKey, e.Status, "status");
            Assert(e.NativeMessage.Contains("rsa-sha256"), e.NativeMessage);
            string path = Path.Combine(tmp, "rsa.lic");
            File.WriteAllText(path, rsaFile);
            Assert(FileSignature.VerifyFile(path, AccountKey("rsa")).Valid, "from a path");
            Equal(LicStatus.FileMalformed,
                Throws<LicenseException>(() => FileSignature.Verify(new byte[] { 1, 2, 3 }, AllKeys()), "garbage").Status, "garbage");
        }

        private static void BadPublicKeys()
        {
            foreach (var c in new[] { new[] { "abcd", "64 hex characters" }, new[] { "not a key!", "PEM" },
                                      new[] { "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", "private key" } })
            {
                var e = Throws<LicenseArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", PublicKey = c[0] }), c[0]);
                Equal(LicStatus.InvalidArgument, e.Status, "status");
                Assert(e.NativeMessage.Contains(c[1]) && e.NativeMessage.Contains("DER"), e.NativeMessage);
                Throws<LicenseArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", PublicKeys = new[] { AccountKey("rsa"), c[0] } }), "second " + c[0]);
            }
        }

        private static void ExtraKeysOnline()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-keys"), o => o.PublicKeys = new[] { AccountKey("rsa"), AccountKey("ecdsa") });
            using (var r = c.Validate(ValidateOptions.AutoActivate))
                Assert(r.Code == ValidationCode.Valid && r.Verified && r.Source == LicenseSource.Online, "verified online");
            using (var r = c.Validate(ValidateOptions.OfflineOnly))
                Equal(LicenseSource.CachedFile, r.Source, "the checked-out machine file answers");
        }

        /// <summary>The request's JSON, decoded here independently of lic (format v1).</summary>
        private static string RequestPayload(string text)
        {
            string token = text.Substring(text.LastIndexOf('#') + 1);
            Assert(token.StartsWith("lic1."), "prefix: " + token);
            string body = token.Substring(5).Replace('-', '+').Replace('_', '/');
            Assert(body.IndexOf('=') < 0, "no padding");
            body += new string('=', (4 - body.Length % 4) % 4);
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(body));
        }

        private static void AirGappedActivationRequest()
        {
            string licenseId;
            string key = server.License(server.NodeLockedPolicy(), "", out licenseId);
            string fp = Unique("cs-qr");
            var device = Client(key, fp, o => o.ApiUrl = "http://127.0.0.1:9"); // never reachable
            ActivationRequest req = device.CreateActivationRequest("https://activate.example.com/", "Acme CAD");
            Assert(req.Text.StartsWith("https://activate.example.com/#lic1."), "portal form: " + req.Text);
            string json = RequestPayload(req.Text);
            Assert(json.StartsWith("{\"v\":1,\"k\":" + Json.Q(key) + ",\"f\":" + Json.Q(fp)), "payload order: " + json);
            Equal("Acme CAD", Json.Str(json, "a"), "app name");
            Assert(Json.Str(json, "p") != null && Json.Str(json, "p").Contains("/"), "platform");
            Equal((byte)0x89, req.Png[0], "PNG signature");
            Equal("PNG", System.Text.Encoding.ASCII.GetString(req.Png, 1, 3), "PNG signature");
            Assert(req.Svg.StartsWith("<svg ") && req.Svg.TrimEnd().EndsWith("</svg>"), "SVG");
            string[] lines = req.Terminal.TrimEnd('\n').Split('\n');
            Assert(lines.Length > 10 && lines[0].Length == lines[lines.Length - 1].Length, "terminal lines");
            foreach (char c in req.Terminal) Assert(" \u2580\u2584\u2588\n".IndexOf(c) >= 0, "terminal characters");
            Assert(!req.ToString().Contains(key), "ToString hides the key");

            ActivationRequest bare = device.CreateActivationRequest(null, null, false, false);
            Assert(bare.Text.StartsWith("lic1."), "bare form");
            Equal("{\"v\":1,\"k\":" + Json.Q(key) + ",\"f\":" + Json.Q(fp) + "}", RequestPayload(bare.Text), "bare payload");
            var bad = Throws<LicenseArgumentException>(() => device.CreateActivationRequest("ftp://x"), "bad portal URL");
            Equal(LicStatus.InvalidArgument, bad.Status, "bad URL status");

            // The portal's part (lic-portal does it with the license key; the
            // admin API stands in here), then the file goes to the device.
            string cert = server.CheckoutMachine(server.ActivateAsAdmin(licenseId, Json.Str(json, "f")));
            string path = Path.Combine(tmp, "qr-machine.lic");
            File.WriteAllText(path, cert);
            device.LoadFile(path);
            using (var r = device.Validate(ValidateOptions.OfflineOnly))
                Assert(r.Code == ValidationCode.Valid && r.Valid && r.Source == LicenseSource.LoadedFile, "valid offline from the portal's file");
        }

        private static void ConfigurationErrors()
        {
            var e = Throws<LicenseConfigException>(() => new LicenseClient(new LicenseClientOptions { LicenseKey = "k" }), "no account");
            Equal(LicStatus.ConfigIncomplete, e.Status, "status");
            Assert(e.NativeMessage.Length > 0, "message");
            e = Throws<LicenseConfigException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", ApiUrl = "http://licensing.example.com" }), "insecure");
            Equal(LicStatus.InsecureUrl, e.Status, "status");
            var a = Throws<LicenseArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", PublicKey = "zz" }), "bad key");
            Equal(LicStatus.InvalidArgument, a.Status, "status");
            Throws<LicenseArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", TimeoutMs = 0 }), "timeout 0");
            Throws<ArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a\0b" }), "embedded NUL");
            Throws<ArgumentNullException>(() => new LicenseClient(null), "null options");
            var c = Client("k", Unique("cs-net"), o => { o.ApiUrl = "http://127.0.0.1:9"; o.PublicKey = null; });
            var n = Throws<LicenseNetworkException>(() => c.Validate(ValidateOptions.OnlineOnly), "unreachable");
            Assert(n.NativeMessage.Contains("127.0.0.1:9"), "message names the server: " + n.NativeMessage);
            var p = Throws<LicenseRefusedException>(() => Client("NO-SUCH-KEY", Unique("cs-nokey")).Activate(), "unknown key");
            Equal(LicStatus.LicenseInvalid, p.Status, "status");
        }

        private static void DisposeSemantics()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-dispose"));
            ValidationResult r = c.Validate(ValidateOptions.AutoActivate);
            Assert(!c.IsDisposed, "alive");
            c.Dispose();
            c.Dispose(); // idempotent
            Assert(c.IsDisposed, "disposed");
            Throws<ObjectDisposedException>(() => c.Validate(), "validate");
            Throws<ObjectDisposedException>(() => c.Activate(), "activate");
            Throws<ObjectDisposedException>(() => c.Deactivate(), "deactivate");
            Throws<ObjectDisposedException>(() => c.Machines(), "machines");
            Throws<ObjectDisposedException>(() => c.LoadFile(new byte[1]), "load");
            Throws<ObjectDisposedException>(() => c.CheckSignedKey(), "signed key");
            Throws<ObjectDisposedException>(() => { var x = c.Fingerprint; }, "fingerprint");
            // Results outlive their client.
            Equal(ValidationCode.Valid, r.Code, "result after client dispose");
            Equal(key, r.LicenseKey, "key");
            r.Dispose();
            r.Dispose();
            Throws<ObjectDisposedException>(() => { var x = r.Code; }, "result code");
            Throws<ObjectDisposedException>(() => { var x = r.LicenseKey; }, "result key");
            Assert(r.ToString().Contains("disposed"), "ToString");
            LicenseClient used;
            using (used = Client(key, Unique("cs-using"))) { Assert(used.Fingerprint.StartsWith("cs-using"), "inside using"); }
            Throws<ObjectDisposedException>(() => used.Validate(), "after using");
            // Flags lic rejects are its call, not the binding's.
            Throws<LicenseArgumentException>(() => Client(key, Unique("cs-flags")).Validate(ValidateOptions.OfflineOnly | ValidateOptions.OnlineOnly), "exclusive flags");
        }

        private static void Unicode()
        {
            // A non-ASCII fingerprint through activation.
            string key = server.NodeLockedLicense();
            string fp = "指紋-ü-🖥-" + Unique("fp");
            var c = Client(key, fp);
            Equal(fp, c.Fingerprint, "client fingerprint");
            Equal(fp, c.Activate().Fingerprint, "activated fingerprint");
            using (var r = c.Validate()) { Equal(ValidationCode.Valid, r.Code, "valid"); Equal(fp, r.Fingerprint, "result fingerprint"); }
            Equal(fp, c.Machines()[0].Fingerprint, "listed fingerprint");
            // A non-ASCII key created through the API (activated by the admin: lic sends the
            // key in an HTTP header for activation, which fails for non-ASCII keys; see report).
            string id;
            string ukey = "clé-ключ-鍵-🔑-" + Unique("u");
            Equal(ukey, server.License(server.NodeLockedPolicy(), "\"key\":" + Json.Q(ukey), out id), "created key");
            string ufp = string.Concat(Enumerable.Repeat("ü", 300)) + Unique("-fp"); // > 256 bytes: the retry path
            var u = Client(ukey, ufp);
            using (var r = u.Validate()) { Equal(ValidationCode.NoMachine, r.Code, "before"); Equal(ukey, r.LicenseKey, "key round trip"); }
            server.ActivateAsAdmin(id, ufp);
            using (var r = u.Validate())
            {
                Equal(ValidationCode.Valid, r.Code, "after");
                Equal(ukey, r.LicenseKey, "key");
                Equal(ufp, r.Fingerprint, "long fingerprint");
            }
            var e = Throws<OfflineFileException>(() => u.LoadFile(Path.Combine(tmp, "файл-🔑.lic")), "unicode path");
            Assert(e.NativeMessage.Contains("файл-🔑.lic"), "path in message: " + e.NativeMessage);
        }

        private static void Threads()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-threads"));
            c.Activate();
            int ok = 0;
            var errors = new List<string>();
            var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
            {
                for (int k = 0; k < 10; k++)
                {
                    try
                    {
                        using (var r = c.Validate(ValidateOptions.OnlineOnly))
                            if (r.Code == ValidationCode.Valid && r.LicenseKey == key) Interlocked.Increment(ref ok);
                        string path = "/nonexistent/" + i + ".lic";
                        try { c.LoadFile(path); }
                        catch (OfflineFileException e) { if (e.NativeMessage.Contains(path)) Interlocked.Increment(ref ok); }
                    }
                    catch (Exception e) { lock (errors) errors.Add(e.Message); }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert(errors.Count == 0, string.Join("; ", errors));
            Equal(160, ok, "successes");

            // Dispose while other threads are inside calls: they finish or see ObjectDisposedException.
            var d = Client(server.NodeLockedLicense(), Unique("cs-race"));
            d.Activate();
            int done = 0, disposed = 0;
            var workers = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                for (int k = 0; k < 20; k++)
                {
                    try { d.Validate(ValidateOptions.OfflineOnly).Dispose(); Interlocked.Increment(ref done); }
                    catch (ObjectDisposedException) { Interlocked.Increment(ref disposed); }
                }
            })).ToList();
            workers.ForEach(t => t.Start());
            Thread.Sleep(20);
            d.Dispose();
            workers.ForEach(t => t.Join());
            Equal(80, done + disposed, "every call finished or saw the disposal");
        }

        private static void LogCallback()
        {
            string key = server.NodeLockedLicense();
            var seen = new List<string>();
            var c = Client(key, Unique("cs-log"), o =>
            {
                o.Log = (level, msg) => { lock (seen) seen.Add(level + " " + msg); };
                o.LogLevel = LogLevel.Debug;
            });
            GC.Collect();
            GC.WaitForPendingFinalizers(); // the delegate must survive: the client keeps it
            using (var r = c.Validate(ValidateOptions.AutoActivate)) Equal(ValidationCode.Valid, r.Code, "valid");
            c.Deactivate();
            Assert(seen.Count > 0, "messages arrived");
            Assert(!seen.Any(s => s.Contains(key)), "no key in logs");
            var noisy = Client(key, Unique("cs-boom"), o => { o.Log = (l, m) => { throw new Exception("boom"); }; o.LogLevel = LogLevel.Debug; });
            using (var r = noisy.Validate(ValidateOptions.AutoActivate)) Equal(ValidationCode.Valid, r.Code, "throwing callback is contained");
            noisy.Deactivate();
            Throws<LicenseArgumentException>(() => new LicenseClient(new LicenseClientOptions { AccountId = "a", Log = (l, m) => { }, LogLevel = (LogLevel)9 }), "level 9");
        }

        private static void Finalizers()
        {
            string key = server.NodeLockedLicense();
            for (int i = 0; i < 20; i++)
            {
                var c = new LicenseClient(new LicenseClientOptions { AccountId = server.AccountId, ApiUrl = server.BaseUrl, LicenseKey = key, Fingerprint = "fp-gc", Log = (l, m) => { } });
                var unused = c.Fingerprint;
            }
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        private static Relay StartRelay(string flags)
        {
            string licenseId;
            server.License(server.Policy("\"name\":\"relay seats\""), "", out licenseId);
            string exe = Environment.GetEnvironmentVariable("LIC_DEVSERVER") ?? Path.Combine(root, "target/debug/lic-devserver");
            return new Relay(exe, server, new[] { licenseId }, flags);
        }

        private static LicenseClient RelayClient(Relay relay, string fingerprint, string secret = null)
        {
            var c = new LicenseClient(new LicenseClientOptions
            {
                AccountId = server.AccountId,
                PublicKey = server.PublicKey,
                RelayUrl = relay.Url,
                RelaySecret = secret,
                Fingerprint = fingerprint,
                CacheDir = Path.Combine(tmp, "relay-cache", fingerprint),
                TimeoutMs = 3000,
            });
            made.Add(c);
            return c;
        }

        private static void RelayLease()
        {
            using (var relay = StartRelay("--ttl 4s --min-ttl 1s --cull-interval 1s"))
            {
                string a = Unique("cs-relay-a"), b = Unique("cs-relay-b");
                var first = RelayClient(relay, a);
                string license;
                using (var r = first.Validate())
                {
                    Equal(ValidationCode.Valid, r.Code, "code");
                    Equal(LicenseSource.Relay, r.Source, "source");
                    Assert(r.Verified && r.LicenseKey != null, "verified, key from the lease");
                    Assert(r.LeaseExpiry.HasValue, "lease expiry");
                    double left = (r.LeaseExpiry.Value - DateTimeOffset.UtcNow).TotalSeconds;
                    Assert(left >= -1 && left <= 5, "lease ends within the TTL: " + left);
                    license = r.LicenseId;
                }
                Equal(a, relay.Holder(), "the relay leased it to this machine");
                var seen = new List<LicenseEvent>();
                Assert(Eventually(() => { seen.AddRange(first.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.LeaseRenewed); }, 15000), "renewed");
                var second = RelayClient(relay, b);
                var e1 = Throws<NoLicenseAvailableException>(() => second.Validate(), "pool exhausted");
                Equal(LicStatus.NoLicenseAvailable, e1.Status, "status");
                // The relay stops answering: the lease is lost, the cached file answers.
                relay.Fault("{\"mode\":\"offline\"}");
                Assert(Eventually(() => { seen.AddRange(first.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.LeaseLost); }, 20000), "lost: " + string.Join("; ", seen));
                var failed = seen.Where(e => e.Kind == LicenseEventKind.LeaseRenewalFailed).ToList();
                Assert(failed.Count > 0 && failed[0].Attempt >= 1 && failed[0].TimeLeft.HasValue, "renewal failures: " + string.Join("; ", seen));
                using (var r = first.Validate())
                {
                    Equal(LicenseSource.CachedFile, r.Source, "fallback source");
                    Assert(r.Valid && r.LeaseExpiry == null && r.OfflineReason.Contains("relay"), "fallback");
                }
                relay.ClearFaults();
                Assert(Eventually(() => { seen.AddRange(first.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.LeaseRecovered); }, 20000), "recovered");
                // Dispose releases the lease: the other machine gets the license.
                first.Dispose();
                Equal(null, relay.Holder(), "released on Dispose");
                using (var r = second.Validate())
                {
                    Equal(LicenseSource.Relay, r.Source, "second machine");
                    Equal(license, r.LicenseId, "same license");
                }
            }
        }

        private static void RelaySecret()
        {
            using (var relay = StartRelay("--signing-secret cs-secret"))
            {
                string fp = Unique("cs-relay-s");
                var wrong = RelayClient(relay, fp, "not-it");
                Throws<LicenseSignatureException>(() => wrong.Validate(ValidateOptions.OnlineOnly), "wrong secret");
                var e = Throws<OfflineFileException>(() => wrong.Validate(), "nothing cached");
                Equal(LicStatus.NoOfflineData, e.Status, "status");
                var right = RelayClient(relay, fp, "cs-secret");
                using (var r = right.Validate()) Equal(LicenseSource.Relay, r.Source, "right secret");
            }
        }

        private static bool Eventually(Func<bool> cond, int withinMs = 6000)
        {
            var sw = Stopwatch.StartNew();
            while (true)
            {
                if (cond()) return true;
                if (sw.ElapsedMilliseconds >= withinMs) return false;
                Thread.Sleep(50);
            }
        }

        /// <summary>A floating license with a process limit and a heartbeat window; its key.</summary>
        private static string SlotLicense(int maxProcesses, int heartbeat = 2, string extra = "")
        {
            string id;
            return server.License(server.Policy("\"strict\":true,\"floating\":true,\"maxMachines\":10,\"maxProcesses\":" + maxProcesses +
                                                ",\"heartbeatDuration\":" + heartbeat + extra), "", out id);
        }

        private static void ProcessSlotsUpToTheLimit()
        {
            var c = Client(SlotLicense(2), Unique("cs-slots"));
            Equal(LicStatus.MachineNotActivated, Throws<LicenseRefusedException>(() => c.AcquireProcessSlot(), "not activated").Status, "status");
            c.Activate();
            var first = c.AcquireProcessSlot("render 1");
            var second = c.AcquireProcessSlot();
            Assert(first.Id != second.Id && first.Id.Length == 36, "two ids");
            Assert(first.IsHeld && second.IsHeld, "held");
            string resp;
            server.Request("GET", "/v1/processes/" + first.Id, null, out resp);
            Equal("render 1", Json.Str(resp, "label"), "label in the metadata");
            var e = Throws<NoProcessSlotAvailableException>(() => c.AcquireProcessSlot(), "third slot");
            Assert(e is LicenseRefusedException, "a refusal");
            Equal(LicStatus.ProcessLimitExceeded, e.Status, "status");
            Assert(e.NativeMessage.Contains("MACHINE_PROCESS_LIMIT_EXCEEDED") && e.NativeMessage.Contains("(2)"), "message: " + e.NativeMessage);
            using (var r = c.Validate())
            {
                Equal(ValidationCode.Valid, r.Code, "code");
                Equal(2, r.ProcessSlots, "slots held");
                Equal((long?)2, r.MaxProcesses, "max processes");
            }
            first.Release();
            first.Release(); // idempotent
            Assert(!first.IsHeld, "released");
            Equal(null, server.ProcessStatus(first.Id), "deleted on the server");
            var third = c.AcquireProcessSlot();
            Equal("ALIVE", server.ProcessStatus(third.Id), "the seat is free again");
            using (var r = c.Validate()) Equal(2, r.ProcessSlots, "slots held");
            first.Dispose(); second.Dispose(); third.Dispose();
        }

        private static void SlotDispose()
        {
            string key = SlotLicense(1);
            string fp = Unique("cs-slot-dispose");
            var c = Client(key, fp);
            c.Activate();
            ProcessSlot slot = null;
            for (int i = 0; i < 3; i++) // one seat: each using block must give it back
            {
                string id;
                using (slot = c.AcquireProcessSlot()) { id = slot.Id; Equal("ALIVE", server.ProcessStatus(id), "alive"); }
                Assert(slot.IsDisposed, "disposed");
                Equal(null, server.ProcessStatus(id), "released by Dispose");
            }
            slot.Dispose(); // idempotent
            Throws<ObjectDisposedException>(() => { var x = slot.Id; }, "Id");
            Throws<ObjectDisposedException>(() => { var x = slot.IsHeld; }, "IsHeld");
            Throws<ObjectDisposedException>(() => slot.Release(), "Release");
            Assert(slot.ToString().Contains("disposed"), "ToString");

            // Disposing the client releases what it still holds; the slot handle stays usable.
            var s2 = c.AcquireProcessSlot();
            string id2 = s2.Id;
            c.Dispose();
            Equal(null, server.ProcessStatus(id2), "released by the client");
            Assert(!s2.IsHeld, "not held");
            s2.Release(); // its client is gone: still fine
            s2.Dispose();
            Throws<ObjectDisposedException>(() => c.AcquireProcessSlot(), "acquire after dispose");
            Throws<ObjectDisposedException>(() => c.PollEvents(), "poll after dispose");
            Throws<ObjectDisposedException>(() => { var x = c.DroppedEvents; }, "dropped after dispose");
            Throws<ObjectDisposedException>(() => c.StartMachineHeartbeat(), "start after dispose");
            Throws<ObjectDisposedException>(() => c.StopMachineHeartbeat(), "stop after dispose");

            // A slot keeps its client from being finalized (which would release it).
            var held = AcquireWithUnreferencedClient(key, fp);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(200);
            Assert(held.IsHeld && server.ProcessStatus(held.Id) == "ALIVE", "still held");
            held.Dispose();
        }

        private static ProcessSlot AcquireWithUnreferencedClient(string key, string fp)
        {
            var c = new LicenseClient(new LicenseClientOptions
            {
                AccountId = server.AccountId, ApiUrl = server.BaseUrl, PublicKey = server.PublicKey,
                LicenseKey = key, Fingerprint = fp, CacheDir = Path.Combine(tmp, "cache"), TimeoutMs = 3000,
            });
            return c.AcquireProcessSlot();
        }

        private static void PolledEvents()
        {
            var c = Client(SlotLicense(2), Unique("cs-poll"));
            using (var r = c.Validate()) Equal(ValidationCode.NoMachines, r.Code, "floating, not activated");
            c.Activate();
            using (var r = c.Validate()) Equal(ValidationCode.Valid, r.Code, "valid");
            var seen = new List<LicenseEvent>(c.PollEvents());
            Equal(1, seen.Count, "one event so far");
            Equal(LicenseEventKind.LicenseStateChanged, seen[0].Kind, "kind");
            Equal("NO_MACHINES -> VALID", seen[0].Message, "message");
            Assert(seen[0].SlotId == null && seen[0].TimeLeft == null && seen[0].Attempt == 0, "no slot fields");
            using (var slot = c.AcquireProcessSlot())
            {
                Assert(Eventually(() => { seen.AddRange(c.PollEvents()); return seen.Count(e => e.Kind == LicenseEventKind.HeartbeatSent) >= 2; }), "heartbeats");
                var sent = seen.First(e => e.Kind == LicenseEventKind.HeartbeatSent);
                Equal(slot.Id, sent.SlotId, "slot id");
                Assert(sent.Attempt == 0 && sent.TimeLeft == null && sent.Message.Length > 0, "fields: " + sent);
                Assert(!seen.Any(e => e.Kind == LicenseEventKind.SlotLost), "nothing lost");
            }
            Equal(0L, c.DroppedEvents, "dropped");
            Assert(c.PollEvent() == null, "PollEvent on an empty queue");
        }

        private static void Outage()
        {
            // A ping may retry a failed connection until the client's timeout; kept
            // well inside the 2 s window, the first failure leaves time to retry.
            var c = Client(SlotLicense(1), Unique("cs-outage"), o => o.TimeoutMs = 400);
            c.Activate();
            using (var slot = c.AcquireProcessSlot())
            {
                string old = slot.Id;
                var seen = new List<LicenseEvent>();
                server.Fault("{\"mode\":\"offline\",\"path\":\"/v1/processes\"}");
                Assert(Eventually(() => { seen.AddRange(c.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.SlotLost); }, 8000), "lost");
                Assert(!slot.IsHeld, "not held while lost");
                var failed = seen.Where(e => e.Kind == LicenseEventKind.HeartbeatFailed).ToList();
                Assert(failed.Count > 0 && failed[0].Attempt == 1 && failed[0].SlotId == old, "failures: " + string.Join("; ", seen));
                Assert(failed.All(e => e.TimeLeft.HasValue && e.TimeLeft.Value < TimeSpan.FromSeconds(3)), "time left");
                server.ClearFaults();
                Assert(Eventually(() => { seen.AddRange(c.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.SlotRecovered); }, 8000), "recovered");
                Assert(slot.IsHeld && slot.Id != old, "held again under a new id");
                Equal(slot.Id, seen.First(e => e.Kind == LicenseEventKind.SlotRecovered).SlotId, "recovered id");
                Equal("ALIVE", server.ProcessStatus(slot.Id), "alive");
            }
        }

        private static void EventCallbackOption()
        {
            string key = SlotLicense(2);
            var got = new List<LicenseEvent>();
            var threads = new HashSet<int>();
            var c = Client(key, Unique("cs-callback"), o => o.OnEvent = e => { lock (got) { got.Add(e); threads.Add(Thread.CurrentThread.ManagedThreadId); } });
            GC.Collect();
            GC.WaitForPendingFinalizers(); // the dispatcher must survive: the client keeps it
            c.Activate();
            using (var slot = c.AcquireProcessSlot())
            {
                Assert(Eventually(() => { lock (got) return got.Any(e => e.Kind == LicenseEventKind.HeartbeatSent); }), "heartbeat via the callback");
                lock (got) Equal(slot.Id, got.First(e => e.Kind == LicenseEventKind.HeartbeatSent).SlotId, "slot id");
            }
            lock (got) Assert(!threads.Contains(Thread.CurrentThread.ManagedThreadId), "called on lic's thread");
            Equal(0, c.PollEvents().Count, "the queue stays empty");
            c.Dispose(); // joins the heartbeat thread: no callback after this
            int n;
            lock (got) n = got.Count;
            Thread.Sleep(1200);
            lock (got) Equal(n, got.Count, "no events after Dispose");

            // A throwing handler is contained and reported to Log.
            int calls = 0;
            var logged = new List<string>();
            var noisy = Client(SlotLicense(2), Unique("cs-boom-events"), o =>
            {
                o.OnEvent = e => { Interlocked.Increment(ref calls); throw new InvalidOperationException("handler failure"); };
                o.Log = (l, m) => { if (l == LogLevel.Error) lock (logged) logged.Add(m); };
            });
            using (var r = noisy.Validate()) Equal(ValidationCode.NoMachines, r.Code, "not activated");
            noisy.Activate();
            using (var r = noisy.Validate()) Equal(ValidationCode.Valid, r.Code, "state change raised on this thread");
            using (var slot = noisy.AcquireProcessSlot())
            {
                Assert(Eventually(() => Volatile.Read(ref calls) >= 3), "handler called again after throwing");
                Assert(slot.IsHeld, "held");
            }
            lock (logged) Assert(logged.Any(m => m.Contains("handler failure")), "reported to Log");
        }

        private static void ComponentsAndReport()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-comp"), o => o.Components = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("machine_id", "cs-host-id-42"),
                new KeyValuePair<string, string>("pod", "cs-pod-7"),
                new KeyValuePair<string, string>("disk", null),
            });
            using (var r = c.Validate(ValidateOptions.AutoActivate)) Equal(ValidationCode.Valid, r.Code, "valid");
            var report = c.FingerprintReport();
            Equal(1, report.Version, "version");
            Equal(c.Fingerprint, report.Fingerprint, "fingerprint");
            var pod = report.Components.First(x => x.Name == "pod");
            Assert(pod.Source == "app" && pod.Readable && pod.Sent && pod.Activated == "match", "pod " + pod.Activated);
            Assert(!report.Components.First(x => x.Name == "disk").Sent, "disk excluded");
            Assert(report.ActivatedMachine.Activated == true && report.ActivatedMachine.Matching == report.ActivatedMachine.Components, "all match");
            Assert(report.Environment.Kind.Length > 0 && report.Environment.Evidence.Length > 0, "environment");
            Assert(!report.Json.Contains("cs-host-id-42") && !report.Json.Contains("cs-pod-7") && !report.Json.Contains(key), "no raw value");
        }

        /// <summary>A client sending exactly <paramref name="mine"/> (every built-in component excluded).</summary>
        private static LicenseClient Only(string key, string fp, params string[] mine)
        {
            var builtin = Client(key, fp).FingerprintReport().Components.Select(x => x.Name).ToList();
            var settings = builtin.Select(n => new KeyValuePair<string, string>(n, null)).ToList();
            for (int i = 0; i + 1 < mine.Length; i += 2) settings.Add(new KeyValuePair<string, string>(mine[i], mine[i + 1]));
            return Client(key, fp, o => o.Components = settings);
        }

        private static void ComponentsMatching()
        {
            string id;
            string key = server.License(server.Policy("\"strict\":true,\"floating\":false,\"maxMachines\":1,\"requireComponentsScope\":true,\"componentMatchingStrategy\":\"MATCH_MOST\""), "", out id);
            string fp = Unique("cs-match");
            using (var r = Only(key, fp, "system_uuid", "u1", "disk", "d1", "mac:eth0", "m1").Validate(ValidateOptions.AutoActivate))
                Equal(ValidationCode.Valid, r.Code, "activated with components");
            using (var r = Only(key, fp, "system_uuid", "u1", "disk", "d2", "mac:eth0", "m1").Validate())
                Equal(ValidationCode.Valid, r.Code, "a new disk");
            using (var r = Only(key, fp, "system_uuid", "u2", "disk", "d1", "mac:eth0", "m2").Validate())
                Equal(ValidationCode.ComponentsScopeMismatch, r.Code, "a clone");
        }

        private static void RevalidationAndGrace()
        {
            string id;
            string key = server.License(server.NodeLockedPolicy(), "", out id);
            var got = new List<LicenseEvent>();
            var c = Client(key, Unique("cs-reval"), o => { o.OfflineGraceSeconds = 3600; o.OnEvent = e => { lock (got) got.Add(e); }; });
            using (var r = c.Validate(ValidateOptions.AutoActivate))
            {
                Equal(ValidationCode.Valid, r.Code, "valid");
                Equal((long?)3600, r.GraceSecondsLeft, "whole grace online");
                Assert(r.LastOnlineValidation.HasValue && r.GraceExpiry == r.LastOnlineValidation.Value.AddSeconds(3600), "grace expiry");
            }
            c.StartRevalidation(1);
            server.Expect("POST", "/v1/licenses/" + id + "/actions/suspend", null, 200);
            Assert(Eventually(() => { lock (got) return got.Any(e => e.Kind == LicenseEventKind.LicenseStateChanged); }, 8000), "state change");
            LicenseEvent changed;
            lock (got) changed = got.First(e => e.Kind == LicenseEventKind.LicenseStateChanged);
            Equal((ValidationCode?)ValidationCode.Valid, changed.OldCode, "old code");
            Equal((ValidationCode?)ValidationCode.Suspended, changed.NewCode, "new code");
            c.StopRevalidation();
            Equal(3600L, c.Validate(ValidateOptions.OnlineOnly).GraceSecondsLeft ?? 0, "suspended online still resets the grace");
            var nograce = Client(key, Unique("cs-nograce"));
            Assert(nograce.Validate().GraceSecondsLeft == null, "no grace configured");
        }

        private static void DiagnosticsRedacted()
        {
            string key = server.NodeLockedLicense();
            var c = Client(key, Unique("cs-diag"));
            using (var r = c.Validate(ValidateOptions.AutoActivate)) Equal(ValidationCode.Valid, r.Code, "valid");
            string d = c.Diagnostics();
            Assert(!d.Contains(key), "no license key");
            Assert(d.Contains("\"version\":1") && d.Contains("\"call\":\"validate\"") && d.Contains("\"verifies\":true"), d);
            var t = Client(key, Unique("cs-diag-token"), o => o.LicenseToken = "activ-cs-secret-token");
            Assert(!t.Diagnostics().Contains("activ-cs-secret-token"), "no token");
        }

        private static void MachineHeartbeat()
        {
            string id;
            string key = server.License(server.Policy("\"strict\":true,\"floating\":true,\"maxMachines\":5,\"requireHeartbeat\":true,\"heartbeatDuration\":2"), "", out id);
            var c = Client(key, Unique("cs-machine-hb"));
            Equal(LicStatus.MachineNotActivated, Throws<LicenseRefusedException>(() => c.StartMachineHeartbeat(), "not activated").Status, "status");
            c.Activate();
            c.StartMachineHeartbeat();
            c.StartMachineHeartbeat(); // already running
            var seen = new List<LicenseEvent>();
            Assert(Eventually(() => { seen.AddRange(c.PollEvents()); return seen.Any(e => e.Kind == LicenseEventKind.HeartbeatSent); }), "machine heartbeat");
            Equal(null, seen.First(e => e.Kind == LicenseEventKind.HeartbeatSent).SlotId, "no slot id");
            using (var r = c.Validate(ValidateOptions.OnlineOnly)) Equal(ValidationCode.Valid, r.Code, "valid while beating");
            c.StopMachineHeartbeat();
            c.StopMachineHeartbeat(); // not running
        }

        private static void Example()
        {
            string exe = Environment.GetEnvironmentVariable("LIC_EXAMPLE_EXE");
            Assert(exe != null && File.Exists(exe), "LIC_EXAMPLE_EXE is built: " + exe);
            string key = server.NodeLockedLicense();
            string fpA = Unique("ex-a"), fpB = Unique("ex-b");
            string cacheA = Path.Combine(tmp, "ex-a"), cacheB = Path.Combine(tmp, "ex-b");
            string output;
            Equal(0, RunExample(exe, key, fpA, cacheA, "", "", out output), "first run: " + output);
            Assert(output.Contains("verdict: NO_MACHINE") && output.Contains("activating this machine") && output.Contains("verdict: VALID"), output);
            Equal(0, RunExample(exe, key, fpA, cacheA, "", "", out output), "second run: " + output);
            Assert(!output.Contains("activating") && output.Contains("verdict: VALID") && output.Contains("signature verified"), output);
            Equal(1, RunExample(exe, key, fpB, cacheB, "", "n\n", out output), "declined: " + output);
            Assert(output.Contains("FINGERPRINT_SCOPE_MISMATCH") && output.Contains("Move it to this machine? [y/N]") && output.Contains("not moved"), output);
            Equal(0, RunExample(exe, key, fpB, cacheB, "", "y\n", out output), "moved: " + output);
            Assert(output.Contains("moved: this machine is now activated."), output);
            Equal(0, RunExample(exe, key, fpB, cacheB, "--deactivate", "", out output), "deactivate: " + output);
            Equal(1, RunExample(exe, key, fpB, cacheB, "--deactivate", "", out output), "deactivate again: " + output);
            Assert(output.Contains("deactivation failed"), output);
        }

        private static int RunExample(string exe, string key, string fp, string cache, string args, string stdin, out string output)
        {
            var psi = new ProcessStartInfo("mono", "\"" + exe + "\" " + args)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            psi.EnvironmentVariables["LIC_ACCOUNT_ID"] = server.AccountId;
            psi.EnvironmentVariables["LIC_API_URL"] = server.BaseUrl;
            psi.EnvironmentVariables["LIC_PUBLIC_KEY"] = server.PublicKey;
            psi.EnvironmentVariables["LIC_LICENSE_KEY"] = key;
            psi.EnvironmentVariables["LIC_FINGERPRINT"] = fp;
            psi.EnvironmentVariables["LIC_CACHE_DIR"] = cache;
            using (var p = Process.Start(psi))
            {
                var err = p.StandardError.ReadToEndAsync();
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
                output = p.StandardOutput.ReadToEnd() + err.Result;
                if (!p.WaitForExit(60000)) { p.Kill(); throw new Exception("example timed out"); }
                return p.ExitCode;
            }
        }
    }
}
