using KmPs.Core.Status;

namespace KmPs.Core.Bundles;

/// <summary>SGX files of a runtime: the SGXS enclave and its (optional) SIGSTRUCT.</summary>
public sealed record OrcSgx(string Executable, string? Signature = null);

/// <summary>TDX metadata of a component (oasis-core 25.x TDXMetadata): its files, kernel options, stage 2 and VM resources.</summary>
public sealed record OrcTdx(string Firmware, string? Kernel = null, string? InitRd = null, string? Stage2Image = null)
{
    public IReadOnlyList<string> ExtraKernelOptions { get; init; } = Array.Empty<string>();
    public string? Stage2Format { get; init; }
    public bool Stage2Persist { get; init; }
    public OrcTdxResources Resources { get; init; } = new();

    public bool Equals(OrcTdx? other) =>
        other is not null && (Firmware, Kernel, InitRd, Stage2Image, Stage2Format, Stage2Persist, Resources) ==
        (other.Firmware, other.Kernel, other.InitRd, other.Stage2Image, other.Stage2Format, other.Stage2Persist, other.Resources) &&
        ExtraKernelOptions.SequenceEqual(other.ExtraKernelOptions);

    public override int GetHashCode() => HashCode.Combine(Firmware, Kernel, Stage2Image);
}

/// <summary>Requested TDX VM resources (TDXResources): memory in MB, vCPUs, an optional GPU.</summary>
public sealed record OrcTdxResources(ulong Memory = 0, byte Cpus = 0, OrcGpu? Gpu = null);

/// <summary>A requested GPU (GPUResource).</summary>
public sealed record OrcGpu(string? Model, byte Count);

/// <summary>
/// An expected identity of a component (oasis-core 25.0+ component <c>identity</c> entries): the
/// enclave identity, and the hypervisor it is for, if any.
/// </summary>
public sealed record OrcIdentity(Sgx.EnclaveIdentity Enclave, string? Hypervisor = null);

/// <summary>A file the manifest names, and what it is for ("ronl: SGX executable").</summary>
public sealed record OrcNamedFile(string File, string Role);

/// <summary>One entry of the manifest's <c>components</c> list (oasis-core 24.0+).</summary>
public sealed record OrcComponent
{
    public const string RonlKind = "ronl";
    public const string RoflKind = "rofl";

    public required string Kind { get; init; }
    public string? Name { get; init; }
    public OasisVersion Version { get; init; }
    /// <summary>Legacy per-component ELF executable (superseded by <see cref="ElfExecutable"/>).</summary>
    public string? Executable { get; init; }
    public string? ElfExecutable { get; init; }
    public OrcSgx? Sgx { get; init; }
    public OrcTdx? Tdx { get; init; }
    /// <summary>The component's expected enclave identities (25.0+ <c>identity</c>); empty when the manifest gives none.</summary>
    public IReadOnlyList<OrcIdentity> Identities { get; init; } = Array.Empty<OrcIdentity>();
    public bool Disabled { get; init; }

    public bool IsRonl => Kind == RonlKind;

    /// <summary>Value equality, the identity list included.</summary>
    public bool Equals(OrcComponent? other) =>
        other is not null && (Kind, Name, Version, Executable, ElfExecutable, Sgx, Tdx, Disabled) ==
        (other.Kind, other.Name, other.Version, other.Executable, other.ElfExecutable, other.Sgx, other.Tdx, other.Disabled) &&
        Identities.SequenceEqual(other.Identities);

    public override int GetHashCode() => HashCode.Combine(Kind, Name, Version);

    /// <summary>Component id as oasis-core prints it: the kind, or kind.name.</summary>
    public string Id => string.IsNullOrEmpty(Name) ? Kind : $"{Kind}.{Name}";

    public string? ElfFile => NonEmpty(ElfExecutable) ?? NonEmpty(Executable);

    /// <summary>The file the enclave runs from: the SGXS when there is one, else the ELF.</summary>
    public string? EnclaveFile => NonEmpty(Sgx?.Executable) ?? ElfFile;

    internal IEnumerable<OrcNamedFile> NamedFiles()
    {
        var files = new (string? File, string Role)[]
        {
            (Executable, "ELF executable"), (ElfExecutable, "ELF executable"),
            (Sgx?.Executable, "SGX executable"), (Sgx?.Signature, "SGX signature"),
            (Tdx?.Firmware, "TDX firmware"), (Tdx?.Kernel, "TDX kernel"),
            (Tdx?.InitRd, "TDX initrd"), (Tdx?.Stage2Image, "TDX stage 2 image"),
        };
        return files.Where(f => !string.IsNullOrEmpty(f.File)).Select(f => new OrcNamedFile(f.File!, $"{Id}: {f.Role}")).Distinct();
    }

    /// <summary>oasis-core's Component.Validate, as a problem sentence or null.</summary>
    internal string? Problem()
    {
        if (Sgx is not null && Tdx is not null) return "it has both SGX and TDX metadata";
        if (Sgx is not null && string.IsNullOrEmpty(Sgx.Executable)) return "sgx.executable is empty";
        if (Tdx is not null && string.IsNullOrEmpty(Tdx.Firmware)) return "tdx.firmware is empty";
        if (ElfExecutable is not null && ElfExecutable.Length == 0) return "elf.executable is empty";
        switch (Kind)
        {
            case RonlKind when !string.IsNullOrEmpty(Name): return "a RONL component must have an empty name";
            case RonlKind when ElfFile is null: return "a RONL component must name an executable";
            case RonlKind when Disabled: return "a RONL component cannot be disabled";
            case RonlKind or RoflKind: return null;
            default: return $"unknown component kind '{Kind}'";
        }
    }

    internal static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>
/// The JSON manifest of an ORC (<c>META-INF/MANIFEST.MF</c>), in the legacy form (top-level
/// <c>executable</c>/<c>sgx</c>, 22.2-24.x) or the <c>components</c> form (24.0+).
/// </summary>
public sealed record OrcManifest
{
    public const string EntryName = "META-INF/MANIFEST.MF";

    public string? Name { get; init; }
    /// <summary>Runtime id, lower-case hex.</summary>
    public required string Id { get; init; }
    /// <summary>The top-level version as written (zero when absent).</summary>
    public OasisVersion Version { get; init; }
    public string? Executable { get; init; }
    public OrcSgx? Sgx { get; init; }
    public IReadOnlyList<OrcComponent> Components { get; init; } = Array.Empty<OrcComponent>();
    /// <summary>File name to SHA-512/256, lower-case hex.</summary>
    public IReadOnlyDictionary<string, string> Digests { get; init; } = new Dictionary<string, string>();
    /// <summary>The JSON had no <c>digests</c> (or null): Go's nil map, which the manifest hash encodes as CBOR null.</summary>
    public bool DigestsAbsent { get; init; }

    /// <summary>True when the runtime's executables are at the top level (the 22.2-era form).</summary>
    public bool IsLegacy => !string.IsNullOrEmpty(Executable) || Sgx is not null;

    /// <summary>
    /// The RONL component: the listed one, or the one a legacy manifest implies. Like oasis-core's
    /// UnmarshalJSON, a non-zero top-level version overrides the component's.
    /// </summary>
    public OrcComponent? Ronl
    {
        get
        {
            var listed = Components.FirstOrDefault(c => c.IsRonl);
            if (listed is not null)
                return Version == default ? listed : listed with { Version = Version };
            if (!IsLegacy) return null;
            return new OrcComponent { Kind = OrcComponent.RonlKind, Version = Version, ElfExecutable = Executable, Sgx = Sgx };
        }
    }

    /// <summary>The runtime version: the top-level one, else the RONL component's (missing parts are 0).</summary>
    public OasisVersion RuntimeVersion => Ronl?.Version ?? Version;

    /// <summary>Every file the manifest names, each once, with what it is for.</summary>
    public IReadOnlyList<OrcNamedFile> NamedFiles()
    {
        var all = new List<OrcNamedFile>();
        if (IsLegacy) all.AddRange(Ronl!.NamedFiles());
        foreach (var c in Components) all.AddRange(c.NamedFiles());
        return all.DistinctBy(f => f.File).ToList();
    }

    /// <summary>oasis-core's Manifest.Validate, as a problem sentence or null.</summary>
    public string? Problem()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < Components.Count; i++)
        {
            var c = Components[i];
            if (!seen.Add(c.Id)) return $"component {i}: another component with id '{c.Id}' already exists";
            if (c.Problem() is { } p) return $"component {i} ({c.Id}): {p}";
        }
        if (IsLegacy && Components.Any(c => c.IsRonl))
            return "it defines both a legacy (top-level executable/sgx) and a componentised RONL runtime";
        if (Sgx is not null && string.IsNullOrEmpty(Sgx.Executable)) return "sgx.executable is empty";
        return null;
    }

    /// <summary>Parses and validates manifest JSON; <paramref name="source"/> names the bundle in errors.</summary>
    /// <exception cref="KmException">BundleManifestInvalid.</exception>
    public static OrcManifest Parse(ReadOnlySpan<byte> json, string source = "(manifest)") => OrcManifestJson.Read(json, source);

    /// <summary>Manifest JSON in oasis-core's field order, digests sorted by name.</summary>
    public byte[] ToJson() => OrcManifestJson.Write(this);

    /// <summary>The manifest as oasis-core's <c>cbor.Marshal</c> encodes it (see <see cref="OrcManifestCbor"/>).</summary>
    public byte[] ToCbor() => OrcManifestCbor.Encode(this);

    /// <summary>
    /// oasis-core's Manifest.Hash: SHA-512/256 of the CBOR-encoded manifest, lower-case hex. Oasis
    /// names the bundle's exploded folder with it and, from 25.0, a deployment's bundle_checksum.
    /// </summary>
    public string Hash() => Sha512_256.HashHex(ToCbor());
}
