// Offline validation per call through the C# binding beside the same call
// from C (bindings/bench_offline.c, compiled with cc). Run with
// `bindings/csharp/run-tests.sh --bench [ITERATIONS]`.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace Lic.Tests
{
    internal static class BenchOffline
    {
        private static double BenchCSharp(LicenseClient client, int iterations)
        {
            for (int i = 0; i < iterations / 10 + 1; i++) client.Validate(ValidateOptions.OfflineOnly).Dispose();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iterations; i++)
            {
                using (var r = client.Validate(ValidateOptions.OfflineOnly))
                    if (r.Code != ValidationCode.Valid) throw new Exception("not VALID");
            }
            return sw.Elapsed.TotalMilliseconds * 1e6 / iterations;
        }

        private static double BenchC(string exe, DevServer server, string key, string cache, int iterations)
        {
            var psi = new ProcessStartInfo(exe, iterations.ToString()) { UseShellExecute = false, RedirectStandardOutput = true };
            psi.EnvironmentVariables["LIC_ACCOUNT_ID"] = server.AccountId;
            psi.EnvironmentVariables["LIC_API_URL"] = server.BaseUrl;
            psi.EnvironmentVariables["LIC_PUBLIC_KEY"] = server.PublicKey;
            psi.EnvironmentVariables["LIC_LICENSE_KEY"] = key;
            psi.EnvironmentVariables["LIC_FINGERPRINT"] = "bench-fp";
            psi.EnvironmentVariables["LIC_CACHE_DIR"] = cache;
            using (var p = Process.Start(psi))
            {
                string line = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0) throw new Exception("C benchmark failed");
                return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        private static int Main(string[] args)
        {
            int iterations = args.Length > 0 ? int.Parse(args[0]) : 2000;
            const int rounds = 5;
            string root = Environment.GetEnvironmentVariable("LIC_REPO_ROOT");
            string devserver = Environment.GetEnvironmentVariable("LIC_DEVSERVER");
            string libDir = Path.GetDirectoryName(devserver);
            string work = Path.Combine(Path.GetTempPath(), "lic-cs-bench-" + Process.GetCurrentProcess().Id);
            Directory.CreateDirectory(work);
            string cexe = Path.Combine(work, "bench_offline");
            var cc = Process.Start(new ProcessStartInfo("cc",
                "-O2 -std=c99 -I " + Path.Combine(root, "include") + " " + Path.Combine(root, "bindings/bench_offline.c") +
                " -o " + cexe + " -L " + libDir + " -Wl,-rpath," + libDir + " -llic") { UseShellExecute = false });
            cc.WaitForExit();
            if (cc.ExitCode != 0) throw new Exception("cc failed");
            using (var server = new DevServer(devserver))
            {
                string key = server.NodeLockedLicense();
                string cache = Path.Combine(work, "cache");
                using (var client = new LicenseClient(new LicenseClientOptions
                {
                    AccountId = server.AccountId, ApiUrl = server.BaseUrl, PublicKey = server.PublicKey,
                    LicenseKey = key, Fingerprint = "bench-fp", CacheDir = cache,
                }))
                {
                    using (var r = client.Validate(ValidateOptions.AutoActivate))
                        if (r.Code != ValidationCode.Valid) throw new Exception("activation failed");
                    var cRuns = new double[rounds];
                    var csRuns = new double[rounds];
                    for (int i = 0; i < rounds; i++) // alternate, so machine load hits both alike
                    {
                        cRuns[i] = BenchC(cexe, server, key, cache, iterations);
                        csRuns[i] = BenchCSharp(client, iterations);
                    }
                    double c = cRuns.Min(), cs = csRuns.Min();
                    var one = client.Validate(ValidateOptions.OfflineOnly);
                    const int n = 200000;
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < n; i++) { var x = one.Code; }
                    double propNs = sw.Elapsed.TotalMilliseconds * 1e6 / n;
                    one.Dispose();
                    Console.WriteLine("offline validate, " + iterations + " calls per round, best of " + rounds + " alternating rounds");
                    Console.WriteLine(string.Format("  C      {0,9:F2} us/call", c / 1000));
                    Console.WriteLine(string.Format("  C#     {0,9:F2} us/call", cs / 1000));
                    Console.WriteLine(string.Format("  ratio  {0,9:F3}  (binding overhead {1:+0.00;-0.00} us/call)", cs / c, (cs - c) / 1000));
                    Console.WriteLine(string.Format("  one property read through the binding (result.Code): {0:F0} ns", propNs));
                    Console.WriteLine("  all rounds: C [" + string.Join(", ", cRuns.Select(x => (x / 1000).ToString("F1"))) +
                                      "] us, C# [" + string.Join(", ", csRuns.Select(x => (x / 1000).ToString("F1"))) + "] us");
                }
            }
            try { Directory.Delete(work, true); } catch { }
            return 0;
        }
    }
}
