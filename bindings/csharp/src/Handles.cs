// One SafeHandle per lic handle type. ReleaseHandle calls the matching
// lic_*_free exactly once; the runtime's reference counting defers it while
// a P/Invoke call is using the handle (lic forbids freeing a handle in use).
using System;
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
        // Delegates handed to lic (log, later events): referenced from the
        // handle, so they live until lic_client_free has returned, also when
        // the client is finalized rather than disposed.
        internal Delegate[] Callbacks;

        private ClientHandle() : base(true) { }
        internal ClientHandle(IntPtr p, Delegate[] callbacks) : base(true) { SetHandle(p); Callbacks = callbacks; }

        protected override bool ReleaseHandle()
        {
            Native.lic_client_free(handle);
            GC.KeepAlive(Callbacks);
            Callbacks = null;
            return true;
        }
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

    internal sealed class MachineListHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        private MachineListHandle() : base(true) { }
        internal MachineListHandle(IntPtr p) : base(true) { SetHandle(p); }
        protected override bool ReleaseHandle() { Native.lic_machine_list_free(handle); return true; }
    }
}
