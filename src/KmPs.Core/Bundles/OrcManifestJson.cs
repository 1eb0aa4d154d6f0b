using System.Text.Json;
using System.Text.Json.Serialization;
using KmPs.Core.Status;

namespace KmPs.Core.Bundles;

/// <summary>
/// Reads and writes manifest JSON the way oasis-node's Go encoding/json does: keys match
/// case-insensitively (Go writes the component version as "Version", having no JSON tag), unknown
/// keys are ignored, ids and digests are hex with base64 accepted on input.
/// </summary>
internal static class OrcManifestJson
{
    private static readonly JsonSerializerOptions ReadOptions = new() { PropertyNameCaseInsensitive = true };

    /// <param name="validate">False skips Manifest.Validate (Go's json.Unmarshal does not validate either): for tests of the hash.</param>
    public static OrcManifest Read(ReadOnlySpan<byte> json, string source, bool validate = true)
    {
        ManifestDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<ManifestDto>(json, ReadOptions);
        }
        catch (JsonException e)
        {
            throw BundleErrors.ManifestInvalid(source, "it is not valid manifest JSON: " + e.Message, e);
        }
        if (dto is null) throw BundleErrors.ManifestInvalid(source, "it is JSON null");

        var manifest = new OrcManifest
        {
            Name = OrcComponent.NonEmpty(dto.Name),
            Id = ParseId(dto.Id, source),
            Version = dto.Version.ToVersion(),
            Executable = OrcComponent.NonEmpty(dto.Executable),
            Sgx = dto.Sgx?.ToModel(),
            Components = (dto.Components ?? new()).Select((c, i) => c?.ToModel(i, source) ?? throw BundleErrors.ManifestInvalid(source, $"component {i} is null")).ToList(),
            Digests = (dto.Digests ?? new()).ToDictionary(kv => kv.Key, kv => ParseDigest(kv.Key, kv.Value, source), StringComparer.Ordinal),
            DigestsAbsent = dto.Digests is null,
        };
        if (validate && manifest.Problem() is { } problem) throw BundleErrors.ManifestInvalid(source, problem);
        return manifest;
    }

    private static string ParseId(string? text, string source)
    {
        if (string.IsNullOrEmpty(text)) throw BundleErrors.ManifestInvalid(source, "it has no runtime id ('id')");
        var bytes = HexOrBase64(text);
        if (bytes is null || bytes.Length != RuntimeId.Size)
            throw BundleErrors.ManifestInvalid(source, $"its id '{text}' is not a runtime id (64 hex digits, or 32 bytes in base64)");
        if (!RuntimeId.HasValidFlags(bytes))
            throw BundleErrors.ManifestInvalid(source, $"its id '{text}' sets reserved flag bits");
        return Hex.Encode(bytes)!;
    }

    private static string ParseDigest(string file, string? text, string source)
    {
        var bytes = HexOrBase64(text);
        if (bytes is null || bytes.Length != Sha512_256.Size)
            throw BundleErrors.ManifestInvalid(source, $"the digest of '{file}' ('{text}') is not a 32-byte hash in hex or base64");
        return Hex.Encode(bytes)!;
    }

    /// <summary>oasis-core's UnmarshalText for hashes and namespaces: hex first, then standard base64.</summary>
    private static byte[]? HexOrBase64(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (text.Length % 2 == 0 && text.All(Uri.IsHexDigit)) return Convert.FromHexString(text);
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var n) ? buffer[..n] : null;
    }

    public static byte[] Write(OrcManifest m)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            if (m.Name is not null) w.WriteString("name", m.Name);
            w.WriteString("id", m.Id);
            WriteVersion(w, m.Version);
            if (m.Executable is not null) w.WriteString("executable", m.Executable);
            if (m.Sgx is not null) WriteSgx(w, m.Sgx);
            if (m.Components.Count > 0)
            {
                w.WriteStartArray("components");
                foreach (var c in m.Components) WriteComponent(w, c);
                w.WriteEndArray();
            }
            w.WriteStartObject("digests");
            foreach (var kv in m.Digests.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteComponent(Utf8JsonWriter w, OrcComponent c)
    {
        w.WriteStartObject();
        w.WriteString("kind", c.Kind);
        if (!string.IsNullOrEmpty(c.Name)) w.WriteString("name", c.Name);
        WriteVersion(w, c.Version);
        if (!string.IsNullOrEmpty(c.Executable)) w.WriteString("executable", c.Executable);
        if (c.ElfExecutable is not null)
        {
            w.WriteStartObject("elf");
            w.WriteString("executable", c.ElfExecutable);
            w.WriteEndObject();
        }
        if (c.Sgx is not null) WriteSgx(w, c.Sgx);
        if (c.Tdx is not null) WriteTdx(w, c.Tdx);
        if (c.Identities.Count > 0)
        {
            // identity[].enclave is sgx.EnclaveIdentity, whose MarshalText is base64 of MRENCLAVE‖MRSIGNER.
            w.WriteStartArray("identity");
            foreach (var i in c.Identities)
            {
                w.WriteStartObject();
                if (!string.IsNullOrEmpty(i.Hypervisor)) w.WriteString("hypervisor", i.Hypervisor);
                w.WriteString("enclave", Convert.ToBase64String(Convert.FromHexString(i.Enclave.ToString())));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (c.Disabled) w.WriteBoolean("disabled", true);
        w.WriteEndObject();
    }

    private static void WriteTdx(Utf8JsonWriter w, OrcTdx t)
    {
        w.WriteStartObject("tdx");
        w.WriteString("firmware", t.Firmware);
        if (t.Kernel is not null) w.WriteString("kernel", t.Kernel);
        if (t.InitRd is not null) w.WriteString("initrd", t.InitRd);
        if (t.ExtraKernelOptions.Count > 0)
        {
            w.WriteStartArray("extra_kernel_options");
            foreach (var o in t.ExtraKernelOptions) w.WriteStringValue(o);
            w.WriteEndArray();
        }
        if (t.Stage2Image is not null) w.WriteString("stage2_image", t.Stage2Image);
        if (t.Stage2Format is not null) w.WriteString("stage2_format", t.Stage2Format);
        if (t.Stage2Persist) w.WriteBoolean("stage2_persist", true);
        w.WriteStartObject("resources");
        w.WriteNumber("memory", t.Resources.Memory);
        w.WriteNumber("cpus", t.Resources.Cpus);
        if (t.Resources.Gpu is { } gpu)
        {
            w.WriteStartObject("gpu");
            if (!string.IsNullOrEmpty(gpu.Model)) w.WriteString("model", gpu.Model);
            w.WriteNumber("count", gpu.Count);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteSgx(Utf8JsonWriter w, OrcSgx sgx)
    {
        w.WriteStartObject("sgx");
        w.WriteString("executable", sgx.Executable);
        w.WriteString("signature", sgx.Signature ?? "");
        w.WriteEndObject();
    }

    /// <summary>version.Version: each part omitempty, so 0.5.0 is {"minor":5}.</summary>
    private static void WriteVersion(Utf8JsonWriter w, OasisVersion v)
    {
        w.WriteStartObject("version");
        if (v.Major != 0) w.WriteNumber("major", v.Major);
        if (v.Minor != 0) w.WriteNumber("minor", v.Minor);
        if (v.Patch != 0) w.WriteNumber("patch", v.Patch);
        w.WriteEndObject();
    }

    // Shapes of the JSON, matched case-insensitively like Go.
    private sealed class ManifestDto
    {
        public string? Name { get; set; }
        public string? Id { get; set; }
        public VersionDto? Version { get; set; }
        public string? Executable { get; set; }
        public SgxDto? Sgx { get; set; }
        public List<ComponentDto?>? Components { get; set; }
        public Dictionary<string, string?>? Digests { get; set; }
    }

    private sealed class VersionDto
    {
        public ushort Major { get; set; }
        public ushort Minor { get; set; }
        public ushort Patch { get; set; }
    }

    private sealed class SgxDto
    {
        public string? Executable { get; set; }
        public string? Signature { get; set; }
        public OrcSgx ToModel() => new(Executable ?? "", OrcComponent.NonEmpty(Signature));
    }

    private sealed class ElfDto
    {
        public string? Executable { get; set; }
    }

    private sealed class TdxDto
    {
        public string? Firmware { get; set; }
        public string? Kernel { get; set; }
        public string? InitRd { get; set; }
        [JsonPropertyName("stage2_image")] public string? Stage2Image { get; set; }
        [JsonPropertyName("extra_kernel_options")] public List<string>? ExtraKernelOptions { get; set; }
        [JsonPropertyName("stage2_format")] public string? Stage2Format { get; set; }
        [JsonPropertyName("stage2_persist")] public bool Stage2Persist { get; set; }
        public ResourcesDto? Resources { get; set; }

        public OrcTdx ToModel() => new(Firmware ?? "", OrcComponent.NonEmpty(Kernel), OrcComponent.NonEmpty(InitRd), OrcComponent.NonEmpty(Stage2Image))
        {
            ExtraKernelOptions = ExtraKernelOptions ?? new(),
            Stage2Format = OrcComponent.NonEmpty(Stage2Format),
            Stage2Persist = Stage2Persist,
            Resources = new OrcTdxResources(Resources?.Memory ?? 0, Resources?.Cpus ?? 0,
                Resources?.Gpu is { } g ? new OrcGpu(OrcComponent.NonEmpty(g.Model), g.Count) : null),
        };
    }

    private sealed class ResourcesDto
    {
        public ulong Memory { get; set; }
        public byte Cpus { get; set; }
        public GpuDto? Gpu { get; set; }
    }

    private sealed class GpuDto
    {
        public string? Model { get; set; }
        public byte Count { get; set; }
    }

    private sealed class IdentityDto
    {
        public string? Hypervisor { get; set; }
        public string? Enclave { get; set; }
    }

    private sealed class ComponentDto
    {
        public string? Kind { get; set; }
        public string? Name { get; set; }
        public VersionDto? Version { get; set; }
        public string? Executable { get; set; }
        public ElfDto? Elf { get; set; }
        public SgxDto? Sgx { get; set; }
        public TdxDto? Tdx { get; set; }
        public List<IdentityDto?>? Identity { get; set; }
        public bool Disabled { get; set; }

        public OrcComponent ToModel(int index, string source) => new()
        {
            Kind = Kind ?? "",
            Name = OrcComponent.NonEmpty(Name),
            Version = Version.ToVersion(),
            Executable = OrcComponent.NonEmpty(Executable),
            ElfExecutable = Elf is null ? null : Elf.Executable ?? "",
            Sgx = Sgx?.ToModel(),
            Tdx = Tdx?.ToModel(),
            Identities = (Identity ?? new()).Select((id, i) => ParseIdentity(id, $"component {index}: identity {i}", source)).ToList(),
            Disabled = Disabled,
        };
    }

    /// <summary>sgx.EnclaveIdentity's UnmarshalText: standard base64 of the 64 bytes MRENCLAVE‖MRSIGNER.</summary>
    private static OrcIdentity ParseIdentity(IdentityDto? dto, string what, string source)
    {
        if (dto?.Enclave is not { } text) throw BundleErrors.ManifestInvalid(source, $"{what} has no enclave");
        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text, buffer, out var n) || n != 64)
            throw BundleErrors.ManifestInvalid(source, $"{what}: the enclave '{text}' is not 64 bytes (MRENCLAVE and MRSIGNER) in base64");
        return new OrcIdentity(new Sgx.EnclaveIdentity(buffer[..32], buffer[32..64]), OrcComponent.NonEmpty(dto.Hypervisor));
    }

    private static OasisVersion ToVersion(this VersionDto? v) => v is null ? default : new OasisVersion(v.Major, v.Minor, v.Patch);
}
