using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Core.Bundles;

/// <summary>
/// The manifest as oasis-core 25.x hashes it (go/runtime/bundle manifest.go Manifest.Hash, component.go):
/// <c>cbor.Marshal</c> of the Go structs, i.e. fxamacker/cbor with the field names of their json tags,
/// omitempty fields left out when empty (a version with every part 0 too), ids and hashes as byte
/// strings (their MarshalBinary), a nil map as null, and canonical length-first key order. A
/// manifest with a top-level version hashes its RONL component without a version, as Hash() does.
/// Only the fields oasis-core knows are hashed: Go drops unknown JSON fields when it reads a manifest.
/// </summary>
internal static class OrcManifestCbor
{
    public static byte[] Encode(OrcManifest m)
    {
        var legacyVersion = m.Version != default;
        var b = new CborMapBuilder();
        Text(b, "name", m.Name);
        b.Add("id", CborNode.Bytes(Convert.FromHexString(m.Id)));
        Version(b, m.Version);
        Text(b, "executable", m.Executable);
        if (m.Sgx is not null) b.Add("sgx", Sgx(m.Sgx));
        if (m.Components.Count > 0)
        {
            var ronlSeen = false;
            b.Add("components", new CborArray(m.Components.Select(c =>
            {
                // Hash() clears the version of the first RONL component (id {ronl, ""}) of a manifest with a top-level version.
                var isRonl = c.Kind == OrcComponent.RonlKind && string.IsNullOrEmpty(c.Name);
                var clear = legacyVersion && isRonl && !ronlSeen;
                if (isRonl) ronlSeen = true;
                return (CborNode)Component(c, clear);
            }).ToArray()));
        }
        var digests = new CborMapBuilder();
        foreach (var (file, digest) in m.Digests) digests.Add(file, CborNode.Bytes(Convert.FromHexString(digest)));
        b.Add("digests", m.DigestsAbsent && m.Digests.Count == 0 ? CborNode.Null : digests.Build());
        return CborCodec.Encode(b.Build());
    }

    private static CborMap Component(OrcComponent c, bool clearVersion)
    {
        var b = new CborMapBuilder().Add("kind", CborNode.Text(c.Kind));
        Text(b, "name", c.Name);
        Version(b, clearVersion ? default : c.Version);
        Text(b, "executable", c.Executable);
        if (c.ElfExecutable is not null) b.Add("elf", new CborMapBuilder().Add("executable", CborNode.Text(c.ElfExecutable)).Build());
        if (c.Sgx is not null) b.Add("sgx", Sgx(c.Sgx));
        if (c.Tdx is not null) b.Add("tdx", Tdx(c.Tdx));
        if (c.Identities.Count > 0)
            b.Add("identity", new CborArray(c.Identities.Select(i =>
            {
                var e = new CborMapBuilder();
                Text(e, "hypervisor", i.Hypervisor);
                return (CborNode)e.Add("enclave", i.Enclave.ToCbor()).Build();
            }).ToArray()));
        if (c.Disabled) b.Add("disabled", CborNode.True);
        return b.Build();
    }

    private static CborMap Sgx(OrcSgx sgx) => new CborMapBuilder()
        .Add("executable", CborNode.Text(sgx.Executable))
        .Add("signature", CborNode.Text(sgx.Signature ?? ""))
        .Build();

    private static CborMap Tdx(OrcTdx t)
    {
        var b = new CborMapBuilder().Add("firmware", CborNode.Text(t.Firmware));
        Text(b, "kernel", t.Kernel);
        Text(b, "initrd", t.InitRd);
        if (t.ExtraKernelOptions.Count > 0)
            b.Add("extra_kernel_options", new CborArray(t.ExtraKernelOptions.Select(o => (CborNode)CborNode.Text(o)).ToArray()));
        Text(b, "stage2_image", t.Stage2Image);
        Text(b, "stage2_format", t.Stage2Format);
        if (t.Stage2Persist) b.Add("stage2_persist", CborNode.True);
        var r = new CborMapBuilder().Add("memory", CborNode.UInt(t.Resources.Memory)).Add("cpus", CborNode.UInt(t.Resources.Cpus));
        if (t.Resources.Gpu is { } gpu)
        {
            var g = new CborMapBuilder();
            Text(g, "model", gpu.Model);
            r.Add("gpu", g.Add("count", CborNode.UInt(gpu.Count)).Build());
        }
        return b.Add("resources", r.Build()).Build();
    }

    /// <summary>version.Version with omitempty: left out when every part is 0.</summary>
    private static void Version(CborMapBuilder b, OasisVersion v)
    {
        if (v != default) b.Add("version", v.ToCbor());
    }

    private static void Text(CborMapBuilder b, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value)) b.Add(key, CborNode.Text(value));
    }
}
