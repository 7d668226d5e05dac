// Every function of include/lic.h, spelled exactly as in C. Conventions:
//   * handles go in as their SafeHandle (the marshaller keeps the handle alive
//     and unreleased during the call) and come out as `out IntPtr`, wrapped at
//     once by the caller; the lic_*_free functions take the raw IntPtr;
//   * `const char *` inputs are UTF-8 (LPUTF8Str, verified on mono 6.8);
//   * static or thread-local `const char *` returns are IntPtr, decoded with
//     Utf8.FromNative and never freed;
//   * buffers are `byte[] buf, UIntPtr bufLen, out UIntPtr outLen`;
//   * statuses, codes and flags are int; there is no bool in this ABI.
//   * a lic_event is a borrowed IntPtr (the callback's belongs to lic; a
//     polled one is copied into a LicenseEvent and freed at once).
// tests/bindings_coverage.rs fails when a function of lic.h is missing here.
using System;
using System.Runtime.InteropServices;

namespace Lic
{
    /// <summary>lic_log_callback: (void *user_data, int32_t level, const char *message).</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void LogCallback(IntPtr userData, int level, IntPtr message);

    /// <summary>lic_event_callback: (void *user_data, const lic_event *event).</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void EventCallback(IntPtr userData, IntPtr ev);

    internal static class Native
    {
        internal const string Lib = "lic";

        /// <summary>LIC_ABI_VERSION this binding was written against.</summary>
        internal const uint AbiVersion = 1;

#if NETCOREAPP3_0_OR_GREATER
        static Native()
        {
            NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
        }

        // LIC_LIBRARY, then a copy beside the assembly, then the default probing.
        private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? path)
        {
            if (name != Lib) return IntPtr.Zero;
            IntPtr h;
            string explicitPath = Environment.GetEnvironmentVariable("LIC_LIBRARY");
            if (!string.IsNullOrEmpty(explicitPath) && NativeLibrary.TryLoad(explicitPath, out h)) return h;
            string dir = System.IO.Path.GetDirectoryName(assembly.Location) ?? "";
            foreach (string file in new[] { "liblic.so", "liblic.dylib", "lic.dll" })
            {
                string candidate = System.IO.Path.Combine(dir, file);
                if (System.IO.File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out h)) return h;
            }
            return NativeLibrary.TryLoad(name, assembly, path, out h) ? h : IntPtr.Zero;
        }
#endif

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_new(ConfigHandle config, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_client_free(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_fingerprint([MarshalAs(UnmanagedType.LPUTF8Str)] string appId, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_fingerprint(ClientHandle client, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_validate(ClientHandle client, uint flags, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_activate(ClientHandle client, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_deactivate(ClientHandle client, [MarshalAs(UnmanagedType.LPUTF8Str)] string machineId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_machines(ClientHandle client, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern UIntPtr lic_machine_list_count(MachineListHandle list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_list_get(MachineListHandle list, UIntPtr index, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_machine_list_free(IntPtr list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_id(MachineHandle machine, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_fingerprint(MachineHandle machine, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_hostname(MachineHandle machine, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_platform(MachineHandle machine, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_name(MachineHandle machine, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_machine_created(MachineHandle machine, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_machine_free(IntPtr machine);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_new(out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_config_free(IntPtr config);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_account_id(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string accountId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_product_id(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string productId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_api_url(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string url);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_license_key(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string licenseKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_license_token(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string token);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_public_key(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string publicKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_add_public_key(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string publicKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_verify_signature(ConfigHandle config, byte[] data, UIntPtr len, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_valid(FileSignatureHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_encrypted(FileSignatureHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_kind(FileSignatureHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_algorithm(FileSignatureHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_issued_unix(FileSignatureHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_file_signature_expires_unix(FileSignatureHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_file_signature_free(IntPtr r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_api_version(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string version);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_timeout_ms(ConfigHandle config, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_cache_dir(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_fingerprint(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string fingerprint);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_app_id(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string appId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_user_agent_suffix(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string suffix);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_allow_insecure_http(ConfigHandle config, int allow);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_max_response_age_seconds(ConfigHandle config, long seconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_clock_tolerance_seconds(ConfigHandle config, long seconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_max_offline_age_seconds(ConfigHandle config, long seconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_checkout_ttl_seconds(ConfigHandle config, long seconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_ca_bundle(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string pemPath);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_proxy(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string proxyUrl);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_log_callback(ConfigHandle config, LogCallback callback, int maxLevel, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_load_file(ClientHandle client, byte[] data, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_load_file_path(ClientHandle client, [MarshalAs(UnmanagedType.LPUTF8Str)] string path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_check_signed_key(ClientHandle client, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_activation_request(ClientHandle client, [MarshalAs(UnmanagedType.LPUTF8Str)] string portalUrl, [MarshalAs(UnmanagedType.LPUTF8Str)] string appName, uint flags, out IntPtr result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_activation_request_text(ActivationRequestHandle request, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_activation_request_svg(ActivationRequestHandle request, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_activation_request_png(ActivationRequestHandle request, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_activation_request_terminal(ActivationRequestHandle request, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_activation_request_free(IntPtr request);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_code(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_valid(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_code_text(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_detail(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_license_id(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_license_key(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_license_name(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_license_status(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_policy_id(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_license_expiry(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_max_machines(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_max_processes(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_metadata_json(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern UIntPtr lic_result_entitlement_count(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_entitlement(ResultHandle r, UIntPtr index, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_has_entitlement(ResultHandle r, [MarshalAs(UnmanagedType.LPUTF8Str)] string code, out int value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_machine_id(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_fingerprint(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_source(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_timestamp(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_verified(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_clock_state(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_file_issued(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_file_expiry(ResultHandle r, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_offline_reason(ResultHandle r, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_signed_part(ResultHandle r, int part, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern UIntPtr lic_result_process_slots(ResultHandle r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_result_free(IntPtr r);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_event_callback(ConfigHandle config, EventCallback callback, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_poll_event(ClientHandle client, out IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern ulong lic_client_dropped_events(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_event_get_kind(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_event_slot_id(IntPtr ev, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_event_message(IntPtr ev, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern uint lic_event_attempt(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern long lic_event_time_left_ms(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_event_free(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_process_slot_acquire(ClientHandle client, [MarshalAs(UnmanagedType.LPUTF8Str)] string label, out IntPtr slot);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_process_slot_release(ProcessSlotHandle slot);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_process_slot_id(ProcessSlotHandle slot, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_process_slot_is_held(ProcessSlotHandle slot);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern void lic_process_slot_free(IntPtr slot);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_start_machine_heartbeat(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_stop_machine_heartbeat(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_add_component(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_offline_grace_seconds(ConfigHandle config, long seconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_relay_url(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string url);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_relay_pool(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string pool);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_config_set_relay_secret(ConfigHandle config, [MarshalAs(UnmanagedType.LPUTF8Str)] string secret);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_lease_expiry(ResultHandle result, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_fingerprint_report(ClientHandle client, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_diagnostics(ClientHandle client, byte[] buf, UIntPtr bufLen, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_start_revalidation(ClientHandle client, long intervalSeconds);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_client_stop_revalidation(ClientHandle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_last_online_validation(ResultHandle result, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_grace_expiry(ResultHandle result, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_result_grace_seconds_left(ResultHandle result, out long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_event_old_code(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern int lic_event_new_code(IntPtr ev);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern IntPtr lic_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern uint lic_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern IntPtr lic_status_str(int status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern IntPtr lic_code_str(int code);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
        internal static extern IntPtr lic_last_error_message();
    }
}
