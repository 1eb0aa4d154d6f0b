using KmPs.Core.Sgx;
using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using KmPs.Simulator.Releases;
using KmPs.Core.Status;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>
/// A release server on 127.0.0.1 (the simulator's stand-in for GitHub's release downloads) over a
/// temp folder, a folder to download into, and bundles made like the simulator's
/// (ClusterBuilder.WriteOrc: deterministic enclave bytes per runtime, version and build).
/// </summary>
public sealed class ReleaseFixture : IAsyncDisposable
{
    public TempDir Dir { get; }
    public ReleaseServer Server { get; }
    /// <summary>Where the tests save bundles to.</summary>
    public string Out { get; }

    private ReleaseFixture(TempDir dir, ReleaseServer server)
    {
        Dir = dir;
        Server = server;
        Out = dir.File("out");
        Directory.CreateDirectory(Out);
    }

    public static async Task<ReleaseFixture> StartAsync()
    {
        var dir = new TempDir("kmr");
        var server = await ReleaseServer.StartAsync(dir.File("releases"));
        return new ReleaseFixture(dir, server);
    }

    /// <summary>Writes a key manager bundle as the release asset of <paramref name="tag"/>.</summary>
    /// <param name="build">Another build of the same version: other enclave bytes (another identity).</param>
    /// <param name="sgxBytes">Size of the enclave file: large enough that a download has a middle to cut.</param>
    public OrcBundle Publish(string tag, string runtimeId = KmRelease.MainnetRuntimeId, string? version = null, int build = 0, int sgxBytes = 256 * 1024) =>
        WriteBundle(Server.AssetPath(tag), runtimeId, version ?? tag.TrimStart('v').Replace("-testnet", ""), build, sgxBytes);

    /// <param name="build">0: the build a simulated cluster deploys; another number: another build of that version (another MRENCLAVE).</param>
    /// <param name="sgxBytes">About how large the .sgxs is (its code is 4096/5184 of it: each page carries its measurement records).</param>
    public static OrcBundle WriteBundle(string path, string runtimeId, string version, int build = 0, int sgxBytes = 256 * 1024) =>
        OrcWriter.Write(path, OrcSpec.Simulated(runtimeId, OasisVersion.Parse(version), OrcLayout.Components,
            build: build == 0 ? "" : build.ToString(System.Globalization.CultureInfo.InvariantCulture),
            codeBytes: Math.Max(Sgxs.PageSize, (int)((long)sgxBytes * Sgxs.PageSize / (Sgxs.RecordSize + Sgxs.PageSize / Sgxs.ExtendSize * (Sgxs.RecordSize + Sgxs.ExtendSize))))));

    /// <summary>The asset of <paramref name="tag"/> with its enclave file replaced but the manifest (and its digests) kept: a tampered file.</summary>
    public void PublishTampered(string tag, string runtimeId = KmRelease.MainnetRuntimeId)
    {
        var good = Publish(tag, runtimeId);
        var manifest = good.ReadFile(OrcManifest.EntryName);
        var files = good.Files.Select(f => (f.Name, Data: good.ReadFile(f.Name))).ToList();
        var sgx = files.FindIndex(f => f.Name.EndsWith(".sgx", StringComparison.Ordinal));
        var evil = (byte[])files[sgx].Data.Clone();
        evil[evil.Length / 2] ^= 0x5a;
        files[sgx] = (files[sgx].Name, evil);
        OrcWriter.WriteZip(Server.AssetPath(tag), new[] { (OrcManifest.EntryName, manifest) }.Concat(files));
    }

    public string Saved(string name) => Path.Combine(Out, name);

    /// <summary>Every file under the download folder (name and SHA-256), to prove nothing changed.</summary>
    public string OutHash() => TreeHash.Of(Out);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}
