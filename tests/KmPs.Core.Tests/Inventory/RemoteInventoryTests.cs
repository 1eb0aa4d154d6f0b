using KmPs.Core.Inventory;
using KmPs.Core;

namespace KmPs.Core.Tests.Inventory;

/// <summary>Inventory entries of nodes on other machines: their paths are checked, never resolved here.</summary>
public class RemoteInventoryTests
{
    private static KmNode Remote(string name, string dataDir, string host = "km1.example.org") =>
        new() { Name = name, DataDir = dataDir, HostName = host, ConfigPath = "/node/etc/config.yml" };

    [Fact]
    public void Remote_paths_stay_as_given_and_must_be_absolute()
    {
        var n = Remote("km1", "/node/data/").Validate("/home/admin");
        Assert.True(n.IsRemote);
        Assert.Equal("/node/data", n.DataDir);
        Assert.Equal("unix:/node/data/internal.sock", n.Socket);
        Assert.Equal("/node/etc/config.yml", n.ConfigPath);

        var relative = Remote("km1", "/node/data");
        relative.ConfigPath = "etc/config.yml";
        Assert.Equal("InvalidPath", Assert.Throws<KmException>(() => relative.Validate("/home/admin")).ErrorId);
        var socket = Remote("km1", "/node/data");
        socket.Socket = "unix:data/internal.sock";
        Assert.Equal("InvalidSocketAddress", Assert.Throws<KmException>(() => socket.Validate("/home/admin")).ErrorId);
    }

    [Fact]
    public void The_same_data_dir_on_two_machines_is_fine_on_one_machine_it_is_not()
    {
        InventoryFile.Check(new[] { Remote("km1", "/node/data", "a"), Remote("km2", "/node/data", "b"), new KmNode { Name = "km3", DataDir = "/node/data" } }, "/tmp/inv.json");
        var dup = Assert.Throws<KmException>(() => InventoryFile.Check(new[] { Remote("km1", "/node/data", "a"), Remote("km2", "/node/data", "A") }, "/tmp/inv.json"));
        Assert.Equal("InventoryDuplicate", dup.ErrorId);
        Assert.Contains("on a", dup.Message);
    }

    [Fact]
    public void Sessions_are_never_written_to_inventory_files_and_AsLocal_drops_the_machine()
    {
        var n = Remote("km1", "/node/data");
        n.Session = new object();
        var json = InventoryFile.ToJson(new[] { n });
        Assert.DoesNotContain("session", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("isRemote", json, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"hostName\": \"km1.example.org\"", json);
        var local = n.AsLocal();
        Assert.False(local.IsRemote);
        Assert.Equal(n.ConfigPath, local.ConfigPath);
    }

    [Fact]
    public void Ssh_port_key_and_options_are_read_from_json_and_the_key_is_relative_to_the_inventory_file()
    {
        var json = """
            { "nodes": [ { "name": "km1", "hostName": "km1.example.org", "userName": "oasis", "port": 2222, "keyFilePath": "keys/admin",
                           "sshOptions": { "StrictHostKeyChecking": "yes" }, "dataDir": "/node/data" } ] }
            """;
        var n = Assert.Single(InventoryFile.ParseJson(json, "/etc/km/inventory.json"));
        Assert.Equal(2222, n.Port);
        Assert.Equal("/etc/km/keys/admin", n.KeyFilePath);
        Assert.Equal("yes", n.SshOptions!["StrictHostKeyChecking"]);
        Assert.Contains("\"port\": 2222", InventoryFile.ToJson(new[] { n }));
        var local = n.AsLocal(); // what the node's machine is sent: no login details
        Assert.Null(local.Port);
        Assert.Null(local.KeyFilePath);
        Assert.Null(local.SshOptions);

        var bad = Remote("km1", "/node/data");
        bad.Port = 70000;
        Assert.Equal("InvalidPort", Assert.Throws<KmException>(() => bad.Validate("/home/admin")).ErrorId);
    }
}
