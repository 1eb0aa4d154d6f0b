using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Status;

namespace KmPs.Tests.Support;

/// <summary>Runtime ids and bundle makers shared by the bundle and config tests.</summary>
public static class TestOrcs
{
    public const string MainnetKm = "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac";
    public const string TestnetKm = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public const string Sapphire = "000000000000000000000000000000000000000000000000f80306c9858e7279";

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A KM bundle of real shape whose enclave depends on the version (and build), so v1 and v2 differ in identity.</summary>
    public static OrcBundle WriteKm(string path, string version, OrcLayout layout = OrcLayout.Legacy, string runtimeId = MainnetKm, string build = "") =>
        OrcWriter.Write(path, OrcSpec.Simulated(runtimeId, OasisVersion.Parse(version), layout, build));

    /// <summary>A legacy manifest naming runtime.elf, with the digests given (file to hex).</summary>
    public static byte[] LegacyManifest(IDictionary<string, string> digests, string id = MainnetKm)
    {
        var d = string.Join(",", digests.Select(kv => $"\"{kv.Key}\":\"{kv.Value}\""));
        return Bytes($"{{\"name\":\"keymanager\",\"id\":\"{id}\",\"version\":{{\"minor\":3,\"patch\":4}},\"executable\":\"runtime.elf\",\"digests\":{{{d}}}}}");
    }

    /// <summary>Writes a ZIP with a legacy manifest first and the files given, digests of the files as they are.</summary>
    public static void WriteRaw(string path, params (string Name, byte[] Data)[] files)
    {
        var digests = files.DistinctBy(f => f.Name).ToDictionary(f => f.Name, f => Sha512_256.HashHex(f.Data));
        WriteRaw(path, LegacyManifest(digests), files);
    }

    public static void WriteRaw(string path, byte[] manifest, params (string Name, byte[] Data)[] files) =>
        OrcWriter.WriteZip(path, new[] { (OrcManifest.EntryName, manifest) }.Concat(files));

    public static (string, byte[]) Elf => ("runtime.elf", Bytes("\u007fELF"));
}
