using KmPs.Core.Bundles;

namespace KmPs.Tests.Support;

/// <summary>The real config examples of the spec (oasis docs), with their {{ }} placeholders filled in.</summary>
public static class TestConfigs
{
    public const string ExternalAddress = "203.0.113.7";
    public const string Seed = "E27F6B7A350B4CC2B48A6CBE94B0A02B0DCB0BF3@35.199.49.168:26656";
    public const string IasProxy = "HT+o8IUmJgk0YRt9+8eXZEZIcMlmJLgpDSlL2jw8s+E=@ias.example.net:8650";
    public const string EntityId = "Xq2d/D4xLhT6C10nmAMYpT5ufF7OW7CvSeuGg7Y07JY=";

    /// <summary>docs keymanager-node/README.md at 40513ef (22.2 era, flag-style).</summary>
    public static string V22Docs(string orcPath, string runtimeId = TestOrcs.MainnetKm) => $$"""
        datadir: /node/data
        log:
          level:
            default: info
            tendermint: info
            tendermint/context: error
          format: JSON
        genesis:
          file: /node/etc/genesis.json
        consensus:
          tendermint:
            core:
              listen_address: tcp://0.0.0.0:26656
              external_address: tcp://{{ExternalAddress}}:26656
            p2p:
              seed:
                - "{{Seed}}"
        runtime:
          mode: keymanager
          paths:
            - "{{orcPath}}"
          sgx:
            loader: /node/bin/oasis-core-runtime-loader
        worker:
          registration:
            entity: /node/etc/entity.json
          keymanager:
            runtime:
              id: "{{runtimeId}}"
          p2p:
            port: 20104
            addresses:
              - "{{ExternalAddress}}:20104"
        ias:
          proxy:
            address:
              - "{{IasProxy}}"

        """;

    /// <summary>docs keymanager-node/README.md at HEAD (converted in ac9f88a, written for 25.2+).</summary>
    public static string V23Docs(string orcPath, string runtimeId = TestOrcs.MainnetKm) => $$"""
        mode: keymanager
        common:
          data_dir: /node/data
          log:
            format: JSON
            level:
              cometbft: info
              cometbft/context: error
              default: info
        genesis:
          file: /node/etc/genesis.json
        registration:
          entity_id: {{EntityId}}
        p2p:
          port: 9200
          registration:
            addresses:
              - "{{ExternalAddress}}:9200"
          seeds:
            - {{Seed}}
        consensus:
          listen_address: tcp://0.0.0.0:26656
          external_address: tcp://{{ExternalAddress}}:26656
        runtime:
          paths:
            - "{{orcPath}}"
          sgx:
            loader: /node/bin/oasis-core-runtime-loader
        keymanager:
          runtime_id: "{{runtimeId}}"

        """;

    /// <summary>Writes km-v1.orc, km-v2.orc (Mainnet KM), km-testnet.orc and sapphire.orc into the folder.</summary>
    public static void WriteBundles(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "runtimes"));
        TestOrcs.WriteKm(Path.Combine(folder, "runtimes", "km-v1.orc"), "0.4.1");
        TestOrcs.WriteKm(Path.Combine(folder, "runtimes", "km-v2.orc"), "0.5.0", OrcLayout.Components);
        TestOrcs.WriteKm(Path.Combine(folder, "runtimes", "km-testnet.orc"), "0.5.0", runtimeId: TestOrcs.TestnetKm);
        OrcWriter.Write(Path.Combine(folder, "runtimes", "sapphire.orc"),
            new OrcSpec { RuntimeId = TestOrcs.Sapphire, Name = "sapphire", Version = new(0, 10, 0), Elf = TestOrcs.Bytes("sapphire") });
    }
}
