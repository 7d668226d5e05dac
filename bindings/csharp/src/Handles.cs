// One SafeHandle per lic handle type. ReleaseHandle calls the matching
// lic_*_free exactly once; the runtime's reference counting defers it while
// a P/Invoke call is using the handle (lic forbids freeing a handle in use).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lic
{
    internal sealed class ConfigHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ConfigHandle() : base(true) { }
        internal ConfigHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_config_free(handle); return true; }
    }

    internal sealed class ClientHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        // Delegates handed to lic (the log callback): referenced from the
        // handle, so they live until lic_client_free has returned, also when
        // the client is finalized rather than disposed.
        internal Delegate[] Callbacks;

        // The event dispatcher, passed to lic as user_data (the callback
        // itself is a static delegate). Freed after lic_client_free.
        private GCHandle eventTarget;

        private ClientHandle() : base(true) { }

        internal ClientHandle(IntPtr p, Delegate[] callbacks, GCHandle eventTarget) : base(true)
        {
            SetHandle(p);
            Callbacks = callbacks;
            this.eventTarget = eventTarget;
            if (callbacks.Length > 0 || eventTarget.IsAllocated) ShutdownGuard.Track(this);
        }

        protected override bool ReleaseHandle()
        {
            Native.lic_client_free(handle); // joins lic's heartbeat thread: no callback after this
            GC.KeepAlive(Callbacks);
            Callbacks = null;
            if (eventTarget.IsAllocated) eventTarget.Free();
            return true;
        }
    }

    /// <summary>Disposes clients that have callbacks when the process exits normally,
    /// so lic's heartbeat thread stops while the runtime can still run a callback
    /// (lic's own at-exit release runs later, from the C runtime).</summary>
    internal static class ShutdownGuard
    {
        private static readonly List<WeakReference<ClientHandle>> live = new List<WeakReference<ClientHandle>>();
        private static bool hooked;

        internal static void Track(ClientHandle h)
        {
            lock (live)
            {
                if (!hooked)
                {
                    AppDomain.CurrentDomain.ProcessExit += (s, e) => DisposeAll();
                    hooked = true;
                }
                live.RemoveAll(w => { ClientHandle t; return !w.TryGetTarget(out t); });
                live.Add(new WeakReference<ClientHandle>(h));
            }
        }

        private static void DisposeAll()
        {
            List<WeakReference<ClientHandle>> all;
            lock (live) all = new List<WeakReference<ClientHandle>>(live);
            foreach (var w in all)
            {
                ClientHandle h;
                if (w.TryGetTarget(out h)) { try { h.Dispose(); } catch { } }
            }
        }
    }

    internal sealed class ProcessSlotHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ProcessSlotHandle() : base(true) { }
        internal ProcessSlotHandle(IntPtr p) : base(true) { SetHandle(p); }
        // No network: a slot freed unreleased stays held until its client is freed.
        protected override bool ReleaseHandle() { Native.lic_process_slot_free(handle); return true; }
    }

    internal sealed class FileSignatureHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private FileSignatureHandle() : base(true) { }
        internal FileSignatureHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_file_signature_free(handle); return true; }
    }

    internal sealed class ResultHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ResultHandle() : base(true) { }
        internal ResultHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_result_free(handle); return true; }
    }

    internal sealed class MachineHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private MachineHandle() : base(true) { }
        internal MachineHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_machine_free(handle); return true; }
    }

    internal sealed class ActivationRequestHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private ActivationRequestHandle() : base(true) { }
        internal ActivationRequestHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_activation_request_free(handle); return true; }
    }

    internal sealed class MachineListHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private MachineListHandle() : base(true) { }
        internal MachineListHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_machine_list_free(handle); return true; }
    }
}
