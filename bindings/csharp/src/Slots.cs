// Process slots and events.
using System;
using System.Runtime.InteropServices;

namespace Lic
{
    /// <summary>A held process slot (from <see cref="LicenseClient.AcquireProcessSlot"/>),
    /// kept alive by lic's heartbeat thread. Dispose releases it (one attempt; a
    /// failure is swallowed, call <see cref="Release"/> to see it) and frees the
    /// handle. A slot finalized without Dispose stays held until its client is
    /// disposed, which releases it. The slot keeps its client reachable.</summary>
    public sealed class ProcessSlot : IDisposable
    {
        private readonly ProcessSlotHandle handle;
        private readonly object gate = new object(); // lic_process_slot_release needs exclusive access
#pragma warning disable 414 // only referenced: keeps the client (and its slots) from being finalized
        private LicenseClient client;
#pragma warning restore 414
        private bool disposing;

        internal ProcessSlot(ProcessSlotHandle handle, LicenseClient client)
        {
            this.handle = handle;
            this.client = client;
        }

        private ProcessSlotHandle H
        {
            get
            {
                if (handle.IsClosed) throw new ObjectDisposedException("ProcessSlot");
                return handle;
            }
        }

        /// <summary>The id of the Keygen process holding the slot (it changes when a
        /// lost slot is recovered).</summary>
        public string Id
        {
            get
            {
                lock (gate)
                {
                    ProcessSlotHandle h = H;
                    return Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_process_slot_id(h, b, l, out n), false);
                }
            }
        }

        /// <summary>True while the slot is held (not lost, refused for good, or released).</summary>
        public bool IsHeld
        {
            get { lock (gate) return Native.lic_process_slot_is_held(H) == 1; }
        }

        /// <summary>Gives the slot back to the server now. Idempotent. On a transport
        /// failure it throws, the slot stays held, and Release may be called again.</summary>
        public void Release()
        {
            lock (gate) Ensure.Check(Native.lic_process_slot_release(H));
        }

        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>Releases the slot (one attempt, errors swallowed), then frees the handle. Idempotent.</summary>
        public void Dispose()
        {
            lock (gate)
            {
                if (disposing) return;
                disposing = true;
            }
            try
            {
                if (!handle.IsClosed) Release();
            }
            catch (LicenseException) { } // still held: released when the client is disposed
            catch (ObjectDisposedException) { }
            finally
            {
                handle.Dispose();
                client = null;
            }
        }

        public override string ToString()
        {
            if (handle.IsClosed) return "ProcessSlot (disposed)";
            return "ProcessSlot " + Id + (IsHeld ? " held" : " not held");
        }
    }

    /// <summary>One event of a client (a copy; no native handle is kept).</summary>
    public sealed class LicenseEvent
    {
        public LicenseEventKind Kind { get; private set; }
        public string Message { get; private set; }
        /// <summary>The slot's current process id for slot events; null otherwise.</summary>
        public string SlotId { get; private set; }
        /// <summary>For HeartbeatFailed and LeaseRenewalFailed: how many attempts in a row have
        /// failed; 0 otherwise.</summary>
        public int Attempt { get; private set; }
        /// <summary>For HeartbeatFailed: time left before the server's heartbeat window closes;
        /// for GraceExpiring: offline grace left; for LeaseRenewalFailed: time left before the
        /// relay lease ends; null otherwise.</summary>
        public TimeSpan? TimeLeft { get; private set; }
        /// <summary>For LicenseStateChanged: the code before and after; null otherwise.</summary>
        public ValidationCode? OldCode { get; private set; }
        public ValidationCode? NewCode { get; private set; }

        /// <summary>Copies a lic_event (polled, or lent to the callback for the call).</summary>
        internal static LicenseEvent Read(IntPtr ev)
        {
            long left = Native.lic_event_time_left_ms(ev);
            var kind = (LicenseEventKind)Native.lic_event_get_kind(ev);
            bool changed = kind == LicenseEventKind.LicenseStateChanged;
            return new LicenseEvent
            {
                OldCode = changed ? (ValidationCode?)Native.lic_event_old_code(ev) : null,
                NewCode = changed ? (ValidationCode?)Native.lic_event_new_code(ev) : null,
                Kind = (LicenseEventKind)Native.lic_event_get_kind(ev),
                Message = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_event_message(ev, b, l, out n), false),
                SlotId = Buffers.ReadString((byte[] b, UIntPtr l, out UIntPtr n) => Native.lic_event_slot_id(ev, b, l, out n), true),
                Attempt = (int)Native.lic_event_attempt(ev),
                TimeLeft = left < 0 ? (TimeSpan?)null : TimeSpan.FromMilliseconds(left),
            };
        }

        public override string ToString()
        {
            return Kind + (SlotId != null ? " " + SlotId : "") + ": " + Message;
        }
    }

    /// <summary>Routes lic's event callback to a client's handler. lic gets one static
    /// delegate (never collected) and a GCHandle to the dispatcher as user_data; the
    /// GCHandle is freed after lic_client_free, which stops every callback.</summary>
    internal sealed class EventDispatcher
    {
        internal static readonly EventCallback Trampoline = Dispatch;

        private readonly Action<LicenseEvent> handler;
        private readonly Action<LogLevel, string> log;

        internal EventDispatcher(Action<LicenseEvent> handler, Action<LogLevel, string> log)
        {
            this.handler = handler;
            this.log = log;
        }

        private static void Dispatch(IntPtr userData, IntPtr ev)
        {
            EventDispatcher d = null;
            try
            {
                d = GCHandle.FromIntPtr(userData).Target as EventDispatcher;
                if (d != null) d.handler(LicenseEvent.Read(ev));
            }
            catch (Exception e) // an exception must not unwind into lic
            {
                try { if (d != null && d.log != null) d.log(LogLevel.Error, "the OnEvent handler threw: " + e); }
                catch { }
            }
        }
    }
}
