using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;
using System.Text;

namespace Lic
{
    /// <summary>The fingerprint report (lic.h <c>lic_fingerprint_report</c>, schema version 1):
    /// what this machine's fingerprint and components are made of, never a raw value.
    /// <see cref="Json"/> has the document as lic wrote it.</summary>
    [DataContract]
    public sealed class FingerprintReport
    {
        [DataMember(Name = "version")] public int Version { get; private set; }
        /// <summary>The fingerprint lic sends; null when this machine has none.</summary>
        [DataMember(Name = "fingerprint")] public string Fingerprint { get; private set; }
        /// <summary>"config" or "os_machine_id".</summary>
        [DataMember(Name = "fingerprint_source")] public string FingerprintSource { get; private set; }
        [DataMember(Name = "fingerprint_error")] public string FingerprintError { get; private set; }
        [DataMember(Name = "app_id")] public string AppId { get; private set; }
        [DataMember(Name = "platform")] public string Platform { get; private set; }
        [DataMember(Name = "environment")] public EnvironmentInfo Environment { get; private set; }
        [DataMember(Name = "components")] public ComponentInfo[] Components { get; private set; }
        [DataMember(Name = "activated_machine")] public ActivatedMachineInfo ActivatedMachine { get; private set; }
        [DataMember(Name = "advice")] public string[] Advice { get; private set; }
        public string Json { get; private set; }

        internal static FingerprintReport Parse(string json)
        {
            var s = new DataContractJsonSerializer(typeof(FingerprintReport));
            using (var m = new MemoryStream(Encoding.UTF8.GetBytes(json)))
            {
                var r = (FingerprintReport)s.ReadObject(m);
                r.Json = json;
                return r;
            }
        }
    }

    /// <summary>Where lic runs: "bare_metal", "vm", "container" or "wsl", with the evidence.</summary>
    [DataContract]
    public sealed class EnvironmentInfo
    {
        [DataMember(Name = "kind")] public string Kind { get; private set; }
        [DataMember(Name = "hypervisor")] public string Hypervisor { get; private set; }
        [DataMember(Name = "container")] public string Container { get; private set; }
        [DataMember(Name = "evidence")] public string[] Evidence { get; private set; }
    }

    /// <summary>One hardware component: its hash (never the raw value) and how it compares
    /// with the activated machine's ("match", "differs", "not_activated" or null).</summary>
    [DataContract]
    public sealed class ComponentInfo
    {
        [DataMember(Name = "name")] public string Name { get; private set; }
        /// <summary>"file", "registry", "syscall", "command" or "app".</summary>
        [DataMember(Name = "source")] public string Source { get; private set; }
        [DataMember(Name = "origin")] public string Origin { get; private set; }
        [DataMember(Name = "readable")] public bool Readable { get; private set; }
        [DataMember(Name = "hash")] public string Hash { get; private set; }
        [DataMember(Name = "sent")] public bool Sent { get; private set; }
        [DataMember(Name = "note")] public string Note { get; private set; }
        [DataMember(Name = "activated")] public string Activated { get; private set; }
    }

    /// <summary>The activated machine's components as the server has them.</summary>
    [DataContract]
    public sealed class ActivatedMachineInfo
    {
        [DataMember(Name = "checked")] public bool Checked { get; private set; }
        [DataMember(Name = "activated")] public bool? Activated { get; private set; }
        [DataMember(Name = "error")] public string Error { get; private set; }
        [DataMember(Name = "machine_id")] public string MachineId { get; private set; }
        [DataMember(Name = "components")] public int? Components { get; private set; }
        [DataMember(Name = "matching")] public int? Matching { get; private set; }
        [DataMember(Name = "differs")] public string[] Differs { get; private set; }
        [DataMember(Name = "missing")] public MissingComponent[] Missing { get; private set; }
    }

    [DataContract]
    public sealed class MissingComponent
    {
        [DataMember(Name = "name")] public string Name { get; private set; }
        [DataMember(Name = "hash")] public string Hash { get; private set; }
    }
}
