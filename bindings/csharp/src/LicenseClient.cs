using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Lic
{
    /// <summary>Client settings, named after lic_config_set_*; null keeps lic's default.</summary>
    public sealed class LicenseClientOptions
    {
        public string AccountId { get; set; }
        public string LicenseKey { get; set; }
        /// <summary>One of the account's public keys: Ed25519 as 64 hex characters or base64
        /// DER, RSA-2048 or ECDSA P-256 as PEM or base64 DER (lic_config_set_public_key).</summary>
        public string PublicKey { get; set; }
        /// <summary>More of the account's keys, in the same forms, added after
        /// <see cref="PublicKey"/> (lic_config_add_public_key): verification picks
        /// the key by the algorithm a signature names.</summary>
        public string[] PublicKeys { get; set; }
        public string ApiUrl { get; set; }
        public string ProductId { get; set; }
        public string LicenseToken { get; set; }
        public string Fingerprint { get; set; }
        public string AppId { get; set; }
        public string CacheDir { get; set; }
        public uint? TimeoutMs { get; set; }
        public string ApiVersion { get; set; }
        public string UserAgentSuffix { get; set; }
        public bool? AllowInsecureHttp { get; set; }
        public long? MaxResponseAgeSeconds { get; set; }
        public long? ClockToleranceSeconds { get; set; }
        public long? MaxOfflineAgeSeconds { get; set; }
        public long? CheckoutTtlSeconds { get; set; }
        public string CaBundle { get; set; }
        public string Proxy { get; set; }
        /// <summary>Offline answers stay valid this long after the last verified online
        /// validation (lic_config_set_offline_grace_seconds); 0 or null: no limit.</summary>
        public long? OfflineGraceSeconds { get; set; }
        /// <summary>A Keygen Relay on the LAN (lic_config_set_relay_url): Validate then leases
        /// a license file for this machine from it (source Relay) instead of asking Keygen.
        /// Plain http is fine here (Relay has no TLS); PublicKey is still required and
        /// LicenseKey must stay unset (the relay hands out the key).</summary>
        public string RelayUrl { get; set; }
        /// <summary>The relay pool to lease from (lic_config_set_relay_pool).</summary>
        public string RelayPool { get; set; }
        /// <summary>The relay's --signing-secret (lic_config_set_relay_secret): answers not
        /// signed with it are never believed.</summary>
        public string RelaySecret { get; set; }
        /// <summary>Hardware components to set, add (a value) or keep from being sent (null),
        /// in order (lic_config_add_component).</summary>
        public IList<KeyValuePair<string, string>> Components { get; set; }
        /// <summary>Receives lic's log messages (never keys or tokens), possibly on lic's own
        /// threads and concurrently. Must not call back into lic. Exceptions are swallowed.</summary>
        public Action<LogLevel, string> Log { get; set; }
        public LogLevel LogLevel { get; set; } = LogLevel.Info;
        /// <summary>Receives the client's events (heartbeats, slot losses and recoveries,
        /// offline fallback, license state changes) instead of <see cref="LicenseClient.PollEvents"/>.
        /// Called on lic's heartbeat thread or the thread calling Validate, possibly
        /// concurrently; must be quick and must not call back into the client. An
        /// exception it throws is caught (and reported to <see cref="Log"/> when set).</summary>
        public Action<LicenseEvent> OnEvent { get; set; }
    }

    /// <summary>A licensing client for one license key on this machine (or, with
    /// <see cref="LicenseClientOptions.RelayUrl"/>, for the license a Keygen Relay leases it).
    /// Thread-safe; Dispose frees it (releasing the process slots and the relay lease it still
    /// holds), after which every member throws ObjectDisposedException.</summary>
    public sealed class LicenseClient : IDisposable
    {
        private readonly ClientHandle handle;

        public LicenseClient(LicenseClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            Library.EnsureAbi();
            IntPtr cfgPtr;
            Ensure.Check(Native.lic_config_new(out cfgPtr));
            var callbacks = new List<Delegate>();
            using (var cfg = new ConfigHandle(cfgPtr))
            {
                SetString(cfg, Native.lic_config_set_account_id, options.AccountId, "AccountId");
                SetString(cfg, Native.lic_config_set_product_id, options.ProductId, "ProductId");
                SetString(cfg, Native.lic_config_set_api_url, options.ApiUrl, "ApiUrl");
                SetString(cfg, Native.lic_config_set_license_key, options.LicenseKey, "LicenseKey");
                SetString(cfg, Native.lic_config_set_license_token, options.LicenseToken, "LicenseToken");
                SetPublicKeys(cfg, options.PublicKey, options.PublicKeys);
                SetString(cfg, Native.lic_config_set_api_version, options.ApiVersion, "ApiVersion");
                SetString(cfg, Native.lic_config_set_cache_dir, options.CacheDir, "CacheDir");
                SetString(cfg, Native.lic_config_set_fingerprint, options.Fingerprint, "Fingerprint");
                SetString(cfg, Native.lic_config_set_app_id, options.AppId, "AppId");
                SetString(cfg, Native.lic_config_set_user_agent_suffix, options.UserAgentSuffix, "UserAgentSuffix");
                SetString(cfg, Native.lic_config_set_ca_bundle, options.CaBundle, "CaBundle");
                SetString(cfg, Native.lic_config_set_proxy, options.Proxy, "Proxy");
                SetString(cfg, Native.lic_config_set_relay_url, options.RelayUrl, "RelayUrl");
                SetString(cfg, Native.lic_config_set_relay_pool, options.RelayPool, "RelayPool");
                SetString(cfg, Native.lic_config_set_relay_secret, options.RelaySecret, "RelaySecret");
                if (options.TimeoutMs.HasValue) Ensure.Check(Native.lic_config_set_timeout_ms(cfg, options.TimeoutMs.Value));
                if (options.AllowInsecureHttp.HasValue)
                    Ensure.Check(Native.lic_config_set_allow_insecure_http(cfg, options.AllowInsecureHttp.Value ? 1 : 0));
                SetInt64(cfg, Native.lic_config_set_max_response_age_seconds, options.MaxResponseAgeSeconds);
                SetInt64(cfg, Native.lic_config_set_clock_tolerance_seconds, options.ClockToleranceSeconds);
                SetInt64(cfg, Native.lic_config_set_max_offline_age_seconds, options.MaxOfflineAgeSeconds);
                SetInt64(cfg, Native.lic_config_set_checkout_ttl_seconds, options.CheckoutTtlSeconds);
                SetInt64(cfg, Native.lic_config_set_offline_grace_seconds, options.OfflineGraceSeconds);
                if (options.Components != null)
                    foreach (var kv in options.Components)
                        Ensure.Check(Native.lic_config_add_component(cfg, Utf8.Arg(kv.Key, "component name"), Utf8.Arg(kv.Value, "component value")));
                if (options.Log != null)
                {
                    LogCallback cb = MakeLogCallback(options.Log);
                    callbacks.Add(cb);
                    Ensure.Check(Native.lic_config_set_log_callback(cfg, cb, (int)options.LogLevel, IntPtr.Zero));
                }
                var eventTarget = default(GCHandle);
                try
                {
                    if (options.OnEvent != null)
                    {
                        eventTarget = GCHandle.Alloc(new EventDispatcher(options.OnEvent, options.Log));
                        Ensure.Check(Native.lic_config_set_event_callback(cfg, EventDispatcher.Trampoline, GCHandle.ToIntPtr(eventTarget)));
                    }
                    IntPtr clientPtr;
                    Ensure.Check(Native.lic_client_new(cfg, out clientPtr));
                    handle = new ClientHandle(clientPtr, callbacks.ToArray(), eventTarget);
                }
                catch
                {
                    if (eventTarget.IsAllocated) eventTarget.Free();
                    throw;
                }
            }
        }

        private delegate int StringSetter(ConfigHandle cfg, string value);
        private delegate int Int64Setter(ConfigHandle cfg, long value);

        private static void SetString(ConfigHandle cfg, StringSetter setter, string value, string name)
        {
            if (value != null) Ensure.Check(setter(cfg, Utf8.Arg(value, name)));
        }

        internal static void SetPublicKeys(ConfigHandle cfg, string first, string[] more)
        {
            var keys = new List<string>();
            if (first != null) keys.Add(first);
            if (more != null) keys.AddRange(more);
            for (int i = 0; i < keys.Count; i++)
            {
                if (keys[i] == null) throw new ArgumentNullException("PublicKeys");
                string key = Utf8.Arg(keys[i], "PublicKey");
                Ensure.Check(i == 0 ? Native.lic_config_set_public_key(cfg, key) : Native.lic_config_add_public_key(cfg, key));
            }
        }

        private static void SetInt64(ConfigHandle cfg, Int64Setter setter, long? value)
        {
            if (value.HasValue) Ensure.Check(setter(cfg, value.Value));
        }

        private static LogCallback MakeLogCallback(Action<LogLevel, string> log)
        {
            return (IntPtr userData, int level, IntPtr message) =>
            {
                try { log((LogLevel)level, Utf8.FromNative(message)); }
                catch { } // an exception must not unwind into lic
            };
        }

        internal ClientHandle Handle
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("LicenseClient");
                return handle;
            }
        }

        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>Frees the native client (idempotent). A call in flight on another
        /// thread finishes first: the handle is released when it returns.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>Validates the license for this machine; the verdict is on the result.</summary>
        public ValidationResult Validate(ValidateOptions options = ValidateOptions.None)
        {
            IntPtr r;
            Ensure.Check(Native.lic_validate(Handle, (uint)options, out r));
            return new ValidationResult(new ResultHandle(r));
        }

        /// <summary>Checks the license key as a signed key, with no server.</summary>
        public ValidationResult CheckSignedKey()
        {
            IntPtr r;
            Ensure.Check(Native.lic_client_check_signed_key(Handle, out r));
            return new ValidationResult(new ResultHandle(r));
        }

        /// <summary>Activates this machine (success when it already is).</summary>
        public Machine Activate()
        {
            IntPtr m;
            Ensure.Check(Native.lic_activate(Handle, out m));
            using (var h = new MachineHandle(m)) return new Machine(h);
        }

        /// <summary>Deactivates this machine (null) or the machine with that id.</summary>
        public void Deactivate(string machineId = null)
        {
            Ensure.Check(Native.lic_deactivate(Handle, Utf8.Arg(machineId, "machineId")));
        }

        /// <summary>The machines activated for the license.</summary>
        public IReadOnlyList<Machine> Machines()
        {
            IntPtr l;
            Ensure.Check(Native.lic_client_machines(Handle, out l));
            using (var list = new MachineListHandle(l))
            {
                ulong count = Native.lic_machine_list_count(list).ToUInt64();
                var machines = new List<Machine>((int)count);
                for (ulong i = 0; i < count; i++)
                {
                    IntPtr m;
                    Ensure.Check(Native.lic_machine_list_get(list, (UIntPtr)i, out m));
                    using (var h = new MachineHandle(m)) machines.Add(new Machine(h));
                }
                return machines;
            }
        }

        /// <summary>Loads a license or machine file from its contents.</summary>
        public void LoadFile(byte[] contents)
        {
            if (contents == null) throw new ArgumentNullException("contents");
            Ensure.Check(Native.lic_client_load_file(Handle, contents, (UIntPtr)contents.Length));
        }

        /// <summary>Loads a license or machine file from a path.</summary>
        public void LoadFile(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            Ensure.Check(Native.lic_client_load_file_path(Handle, Utf8.Arg(path, "path")));
        }

        /// <summary>The activation request this (air-gapped) machine shows, as text and
        /// QR code, for a person to activate it through lic-portal on any online device.
        /// With <paramref name="portalUrl"/> the text is <c>portalUrl#lic1.…</c>, so a
        /// phone's camera opens the portal directly; <paramref name="appName"/> is shown by
        /// the portal. No network. Load the .lic file the portal gives with
        /// <see cref="LoadFile(string)"/>, then validate with
        /// <see cref="ValidateOptions.OfflineOnly"/>.</summary>
        public ActivationRequest CreateActivationRequest(string portalUrl = null, string appName = null,
            bool includeHostname = true, bool includePlatform = true)
        {
            uint flags = (includeHostname ? 0u : Lic.ActivationRequest.OmitHostname)
                | (includePlatform ? 0u : Lic.ActivationRequest.OmitPlatform);
            IntPtr r;
            Ensure.Check(Native.lic_client_activation_request(Handle, Utf8.Arg(portalUrl, "portalUrl"),
                Utf8.Arg(appName, "appName"), flags, out r));
            using (var h = new ActivationRequestHandle(r)) return new ActivationRequest(h);
        }

        /// <summary>The fingerprint this client validates and activates with.</summary>
        public string Fingerprint
        {
            get
            {
                ClientHandle h = Handle;
                return Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_client_fingerprint(h, b, l, out n), false);
            }
        }

        /// <summary>Takes a process slot for this (activated) machine; lic keeps it alive
        /// from its heartbeat thread until it is released or this client is disposed.
        /// A full license throws <see cref="NoProcessSlotAvailableException"/>.</summary>
        public ProcessSlot AcquireProcessSlot(string label = null)
        {
            IntPtr slot;
            Ensure.Check(Native.lic_process_slot_acquire(Handle, Utf8.Arg(label, "label"), out slot));
            return new ProcessSlot(new ProcessSlotHandle(slot), this);
        }

        /// <summary>Starts the machine heartbeat monitor (requireHeartbeat policies); already running is fine.</summary>
        public void StartMachineHeartbeat()
        {
            Ensure.Check(Native.lic_client_start_machine_heartbeat(Handle));
        }

        /// <summary>The fingerprint report (schema version 1): the fingerprint, each component
        /// (never a raw value), the environment, and the comparison with the activated machine
        /// (asks the server; a failure is reported inside).</summary>
        public FingerprintReport FingerprintReport()
        {
            ClientHandle h = Handle;
            return Lic.FingerprintReport.Parse(Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_fingerprint_report(h, b, l, out n), false));
        }

        /// <summary>The redacted diagnostics bundle (lic_client_diagnostics) as JSON text:
        /// no license key, token or file content.</summary>
        public string Diagnostics()
        {
            ClientHandle h = Handle;
            return Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_client_diagnostics(h, b, l, out n), false);
        }

        /// <summary>Revalidates from lic's background thread every <paramref name="intervalSeconds"/>
        /// (0: one hour), plus jitter; changes arrive as events.</summary>
        public void StartRevalidation(long intervalSeconds = 0)
        {
            Ensure.Check(Native.lic_client_start_revalidation(Handle, intervalSeconds));
        }

        /// <summary>Stops the background revalidation; fine when not running.</summary>
        public void StopRevalidation()
        {
            Ensure.Check(Native.lic_client_stop_revalidation(Handle));
        }

        /// <summary>Stops the machine heartbeat monitor; not running is fine.</summary>
        public void StopMachineHeartbeat()
        {
            Ensure.Check(Native.lic_client_stop_machine_heartbeat(Handle));
        }

        /// <summary>The oldest queued event, or null when there is none (never blocks).</summary>
        public LicenseEvent PollEvent()
        {
            IntPtr ev;
            Ensure.Check(Native.lic_client_poll_event(Handle, out ev));
            if (ev == IntPtr.Zero) return null;
            try { return LicenseEvent.Read(ev); }
            finally { Native.lic_event_free(ev); }
        }

        /// <summary>Drains the queued events, oldest first (never blocks). Always empty
        /// when <see cref="LicenseClientOptions.OnEvent"/> is set: it receives them instead.</summary>
        public IReadOnlyList<LicenseEvent> PollEvents()
        {
            var events = new List<LicenseEvent>();
            for (LicenseEvent e = PollEvent(); e != null; e = PollEvent()) events.Add(e);
            return events;
        }

        /// <summary>How many events the full queue (1024) has dropped, oldest first.</summary>
        public long DroppedEvents
        {
            get { return (long)Native.lic_client_dropped_events(Handle); }
        }
    }

    /// <summary>An air-gapped machine's activation request and its QR code (a copy; no
    /// native handle is kept). <see cref="Text"/> holds the license key: show it, never
    /// log it.</summary>
    public sealed class ActivationRequest
    {
        // lic_client_activation_request flags (LIC_ACTIVATION_REQUEST_* in lic.h).
        internal const uint OmitHostname = 1;
        internal const uint OmitPlatform = 2;

        /// <summary><c>lic1.…</c>, or <c>&lt;portal URL&gt;#lic1.…</c>: what the QR code holds.</summary>
        public string Text { get; private set; }
        /// <summary>The QR code as an SVG document.</summary>
        public string Svg { get; private set; }
        /// <summary>The QR code as PNG bytes (1-bit, 8 px per module).</summary>
        public byte[] Png { get; private set; }
        /// <summary>The QR code in Unicode half blocks for a dark terminal; print it as it is.</summary>
        public string Terminal { get; private set; }

        internal ActivationRequest(ActivationRequestHandle h)
        {
            Text = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_activation_request_text(h, b, l, out n), false);
            Svg = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_activation_request_svg(h, b, l, out n), false);
            Png = Buffers.ReadBytes((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_activation_request_png(h, b, l, out n), false, false);
            Terminal = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_activation_request_terminal(h, b, l, out n), false);
        }

        /// <summary>Sizes only: the text holds the license key.</summary>
        public override string ToString() { return "ActivationRequest (" + Text.Length + " chars, " + Png.Length + " PNG bytes)"; }
    }

    /// <summary>One activation of a license (a copy; no native handle is kept).</summary>
    public sealed class Machine
    {
        public string Id { get; private set; }
        public string Fingerprint { get; private set; }
        public string Hostname { get; private set; }
        public string Platform { get; private set; }
        public string Name { get; private set; }
        public DateTimeOffset? Created { get; private set; }

        internal Machine(MachineHandle h)
        {
            Id = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_machine_id(h, b, l, out n), false);
            Fingerprint = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_machine_fingerprint(h, b, l, out n), false);
            Hostname = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_machine_hostname(h, b, l, out n), true);
            Platform = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_machine_platform(h, b, l, out n), true);
            Name = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_machine_name(h, b, l, out n), true);
            Created = Buffers.ToTime(Buffers.ReadInt64((out long v) => Native.lic_machine_created(h, out v)));
        }

        public override string ToString() { return "Machine " + Id + " (" + Fingerprint + ")"; }
    }
}
