// Node-locked licensing with lic, as an integrator writes it (mirrors examples/c/node_locked.c).
//
//   NodeLocked                 validate; activate this machine when needed;
//                              offer to move the license when it is locked elsewhere
//   NodeLocked --deactivate    release this machine's activation
//
// Settings come from the environment so the same program runs against
// lic-devserver or Keygen: LIC_ACCOUNT_ID, LIC_API_URL, LIC_PUBLIC_KEY,
// LIC_LICENSE_KEY, and optionally LIC_FINGERPRINT and LIC_CACHE_DIR.
//
//   mcs -r:Lic.dll NodeLocked.cs && LD_LIBRARY_PATH=target/debug mono NodeLocked.exe
using System;
using Lic;

internal static class NodeLocked
{
    private static int Fail(string what, LicenseException e)
    {
        Console.Error.WriteLine(what + " failed: " + Library.StatusText(e.Status) + " (" + e.NativeMessage + ")");
        return 1;
    }

    private static LicenseClient ClientFromEnv()
    {
        // An unset variable (null) leaves the setting at its default.
        return new LicenseClient(new LicenseClientOptions
        {
            AccountId = Environment.GetEnvironmentVariable("LIC_ACCOUNT_ID"),
            ApiUrl = Environment.GetEnvironmentVariable("LIC_API_URL"),
            PublicKey = Environment.GetEnvironmentVariable("LIC_PUBLIC_KEY"),
            LicenseKey = Environment.GetEnvironmentVariable("LIC_LICENSE_KEY"),
            Fingerprint = Environment.GetEnvironmentVariable("LIC_FINGERPRINT"),
            CacheDir = Environment.GetEnvironmentVariable("LIC_CACHE_DIR"),
        });
    }

    private static void PrintResult(ValidationResult r)
    {
        string source = "online";
        switch (r.Source)
        {
            case LicenseSource.CachedFile: source = "cached machine file (offline)"; break;
            case LicenseSource.LoadedFile: source = "loaded file (offline)"; break;
            case LicenseSource.SignedKey: source = "signed key (offline)"; break;
        }
        Console.WriteLine("  verdict: " + r.CodeText + ", valid=" + (r.Valid ? 1 : 0) + ", \"" + r.Detail + "\" [" +
                          source + (r.Verified ? ", signature verified" : ", NOT verified") + "]");
    }

    // The license is locked to another machine: list it and let the user move it.
    private static int OfferTransfer(LicenseClient client)
    {
        string id = "", host = "?";
        try
        {
            var machines = client.Machines();
            if (machines.Count > 0) { id = machines[0].Id; host = machines[0].Hostname ?? "?"; }
        }
        catch (LicenseException e) { return Fail("listing machines", e); }
        Console.Write("  this license is in use on another machine (" + host + ", " + id + ").\n  Move it to this machine? [y/N] ");
        Console.Out.Flush();
        string answer = Console.ReadLine();
        if (answer == null || !(answer.StartsWith("y") || answer.StartsWith("Y")))
        {
            Console.WriteLine("  not moved: the app stays locked.");
            return 1;
        }
        try { client.Deactivate(id); }
        catch (LicenseException e) { return Fail("deactivating the other machine", e); }
        try { client.Activate(); }
        catch (LicenseException e) { return Fail("activating", e); }
        Console.WriteLine("  moved: this machine is now activated.");
        return 0;
    }

    private static int Run(LicenseClient client, string[] args)
    {
        if (args.Length > 0 && args[0] == "--deactivate")
        {
            try { client.Deactivate(); }
            catch (LicenseException e) { return Fail("deactivation", e); }
            Console.WriteLine("  this machine is deactivated.");
            return 0;
        }

        ValidationResult result;
        try { result = client.Validate(); }
        catch (LicenseException e) { return Fail("validation", e); } // no answer at all: unreachable, nothing cached
        int rc;
        using (result)
        {
            PrintResult(result);
            switch (result.Code)
            {
                case ValidationCode.Valid:
                    rc = 0;
                    break;
                case ValidationCode.NoMachine:
                case ValidationCode.NoMachines:
                    Console.WriteLine("  activating this machine...");
                    try
                    {
                        client.Activate();
                        using (var again = client.Validate())
                        {
                            PrintResult(again);
                            rc = again.Code == ValidationCode.Valid ? 0 : 1;
                        }
                    }
                    catch (MachineLimitException) { rc = OfferTransfer(client); }
                    catch (LicenseException e) { rc = Fail("activation", e); }
                    break;
                case ValidationCode.FingerprintScopeMismatch:
                    rc = OfferTransfer(client);
                    break;
                default:
                    // Expired, suspended, ...: the verdict is the answer. Note that Valid
                    // can be true with Expired under a MAINTAIN_ACCESS policy.
                    rc = result.Valid ? 0 : 1;
                    break;
            }
        }
        Console.WriteLine(rc == 0 ? "  => licensed: start the app." : "  => not licensed.");
        return rc;
    }

    private static int Main(string[] args)
    {
        LicenseClient client;
        try { client = ClientFromEnv(); }
        catch (LicenseException e) { return Fail("configuration", e); }
        using (client) return Run(client, args);
    }
}
