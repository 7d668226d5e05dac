// Shared by Tests.cs and BenchOffline.cs: a lic-devserver subprocess, its
// admin API over HttpWebRequest (System.dll) and a tiny JSON field reader.
using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Lic.Tests
{
    internal static class Json
    {
        /// <summary>The first string value of "name" in the text (JSON-unescaped), or null.</summary>
        public static string Str(string json, string name)
        {
            var m = Regex.Match(json, "\"" + Regex.Escape(name) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
            return m.Success ? Unescape(m.Groups[1].Value) : null;
        }

        public static string Unescape(string s)
        {
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c != '\\' || i + 1 >= s.Length) { sb.Append(c); continue; }
                char e = s[++i];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u': sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 4), 16)); i += 4; break;
                    default: sb.Append(e); break;
                }
            }
            return sb.ToString();
        }

        /// <summary>A JSON string literal.</summary>
        public static string Q(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20) sb.AppendFormat("\\u{0:x4}", (int)c);
                else sb.Append(c);
            }
            return sb.Append('"').ToString();
        }
    }

    internal sealed class DevServer : IDisposable
    {
        public readonly string BaseUrl, AccountId, PublicKey, AdminToken, ProductId;
        private readonly Process proc;

        public DevServer(string exe)
        {
            // Heartbeat durations down to 1 s (Keygen's minimum is 60) keep the slot tests short.
            var psi = new ProcessStartInfo(exe, "--bootstrap --min-heartbeat-duration 1")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            proc = Process.Start(psi);
            proc.ErrorDataReceived += (s, e) => { }; // logs: drained, not shown
            proc.BeginErrorReadLine();
            string line = proc.StandardOutput.ReadLine();
            if (line == null) throw new Exception("lic-devserver printed nothing");
            BaseUrl = Json.Str(line, "base_url");
            AccountId = Json.Str(line, "account_id");
            PublicKey = Json.Str(line, "public_key");
            AdminToken = Json.Str(line, "admin_token");
            ProductId = Json.Str(line, "product_id");
        }

        public void Dispose()
        {
            try { if (!proc.HasExited) { proc.Kill(); proc.WaitForExit(10000); } } catch { }
            proc.Dispose();
        }

        public int Request(string method, string path, string body, out string response)
        {
            string ct = path.StartsWith("/v1/dev/") ? "application/json" : "application/vnd.api+json";
            var req = (HttpWebRequest)WebRequest.Create(BaseUrl + path);
            req.Method = method;
            req.Headers["Authorization"] = "Bearer " + AdminToken;
            req.Accept = ct;
            req.Timeout = 30000;
            req.Proxy = null;
            req.KeepAlive = false;
            if (body != null)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(body);
                req.ContentType = ct;
                req.ContentLength = bytes.Length;
                using (var s = req.GetRequestStream()) s.Write(bytes, 0, bytes.Length);
            }
            HttpWebResponse resp;
            try { resp = (HttpWebResponse)req.GetResponse(); }
            catch (WebException e)
            {
                resp = e.Response as HttpWebResponse;
                if (resp == null) throw;
            }
            using (resp)
            using (var r = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
            {
                response = r.ReadToEnd();
                return (int)resp.StatusCode;
            }
        }

        public string Expect(string method, string path, string body, int status)
        {
            string resp;
            int got = Request(method, path, body, out resp);
            if (got != status) throw new Exception(method + " " + path + ": expected " + status + ", got " + got + ": " + resp);
            return resp;
        }

        public string Policy(string extraAttrs)
        {
            string body = "{\"data\":{\"type\":\"policies\",\"attributes\":{\"name\":\"p\",\"authenticationStrategy\":\"LICENSE\"" +
                          (extraAttrs.Length > 0 ? "," + extraAttrs : "") +
                          "},\"relationships\":{\"product\":{\"data\":{\"type\":\"products\",\"id\":" + Json.Q(ProductId) + "}}}}}";
            return Json.Str(Expect("POST", "/v1/policies", body, 201), "id");
        }

        public string NodeLockedPolicy()
        {
            return Policy("\"strict\":true,\"floating\":false,\"maxMachines\":1");
        }

        /// <summary>Creates a license; returns its key (id in licenseId).</summary>
        public string License(string policyId, string extraAttrs, out string licenseId)
        {
            string body = "{\"data\":{\"type\":\"licenses\",\"attributes\":{" + extraAttrs +
                          "},\"relationships\":{\"policy\":{\"data\":{\"type\":\"policies\",\"id\":" + Json.Q(policyId) + "}}}}}";
            string resp = Expect("POST", "/v1/licenses", body, 201);
            licenseId = Json.Str(resp, "id");
            return Json.Str(resp, "key");
        }

        public string NodeLockedLicense()
        {
            string id;
            return License(NodeLockedPolicy(), "", out id);
        }

        public string ActivateAsAdmin(string licenseId, string fingerprint)
        {
            string body = "{\"data\":{\"type\":\"machines\",\"attributes\":{\"fingerprint\":" + Json.Q(fingerprint) +
                          "},\"relationships\":{\"license\":{\"data\":{\"type\":\"licenses\",\"id\":" + Json.Q(licenseId) + "}}}}}";
            return Json.Str(Expect("POST", "/v1/machines", body, 201), "id");
        }

        public string CheckoutMachine(string machineId)
        {
            string resp = Expect("POST", "/v1/machines/" + machineId + "/actions/check-out",
                "{\"meta\":{\"include\":[\"license\",\"license.entitlements\"],\"encrypt\":true}}", 200);
            return Json.Str(resp, "certificate");
        }

        /// <summary>A process's status (ALIVE, DEAD, ...); null when the server has no such process.</summary>
        public string ProcessStatus(string processId)
        {
            string resp;
            return Request("GET", "/v1/processes/" + processId, null, out resp) == 200 ? Json.Str(resp, "status") : null;
        }

        public void Fault(string json) { Expect("POST", "/v1/dev/faults", json, 201); }
        public void ClearFaults() { Expect("DELETE", "/v1/dev/faults", null, 200); }
    }

    /// <summary>`lic-devserver relay`: a Keygen Relay loaded with license files the devserver
    /// checked out (--keygen), and its dev extensions (faults, the licenses and their nodes).</summary>
    internal sealed class Relay : IDisposable
    {
        public readonly string Url, AdminToken;
        private readonly Process proc;

        public Relay(string exe, DevServer keygen, string[] licenseIds, string flags)
        {
            string args = "relay --public-key " + keygen.PublicKey + " --keygen " + keygen.BaseUrl +
                          " --keygen-admin-token " + keygen.AdminToken + " --license " + string.Join(",", licenseIds) +
                          " " + flags;
            var psi = new ProcessStartInfo(exe, args)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            proc = Process.Start(psi);
            proc.ErrorDataReceived += (s, e) => { };
            proc.BeginErrorReadLine();
            string line = proc.StandardOutput.ReadLine();
            if (line == null) throw new Exception("lic-devserver relay printed nothing");
            Url = Json.Str(line, "relay_url");
            AdminToken = Json.Str(line, "admin_token");
        }

        public void Dispose()
        {
            try { if (!proc.HasExited) { proc.Kill(); proc.WaitForExit(10000); } } catch { }
            proc.Dispose();
        }

        private string Dev(string method, string path, string body, int status)
        {
            var req = (HttpWebRequest)WebRequest.Create(Url + path);
            req.Method = method;
            req.Headers["Authorization"] = "Bearer " + AdminToken;
            req.Timeout = 30000;
            req.Proxy = null;
            req.KeepAlive = false;
            if (body != null)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(body);
                req.ContentType = "application/json";
                req.ContentLength = bytes.Length;
                using (var st = req.GetRequestStream()) st.Write(bytes, 0, bytes.Length);
            }
            HttpWebResponse resp;
            try { resp = (HttpWebResponse)req.GetResponse(); }
            catch (WebException e)
            {
                resp = e.Response as HttpWebResponse;
                if (resp == null) throw;
            }
            using (resp)
            using (var r = new StreamReader(resp.GetResponseStream(), Encoding.UTF8))
            {
                string text = r.ReadToEnd();
                if ((int)resp.StatusCode != status) throw new Exception(method + " " + path + ": " + (int)resp.StatusCode + " " + text);
                return text;
            }
        }

        /// <summary>The node leasing the relay's first license; null when it is free.</summary>
        public string Holder()
        {
            return Json.Str(Dev("GET", "/v1/dev/licenses", null, 200), "node");
        }

        public void Fault(string json) { Dev("POST", "/v1/dev/faults", json, 201); }
        public void ClearFaults() { Dev("DELETE", "/v1/dev/faults", null, 200); }
    }
}
