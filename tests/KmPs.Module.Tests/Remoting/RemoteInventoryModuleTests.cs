using KmPs.Tests.Support;
using KmPs.Tests.Harness;





namespace KmPs.Module.Tests.Remoting;

/// <summary>Import-KmNode reading the SSH settings of nodes on other machines from a .psd1 inventory.</summary>
public class RemoteInventoryModuleTests
{
    [Fact]
    public void Ssh_port_key_and_options_are_read_from_psd1()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("km.psd1"), "@{ Nodes = @( @{ Name = 'km1'; HostName = 'km1.example.org'; Port = 'x22'; DataDir = '/node/data' } ) }");
        using var ps = new PsEngine();
        var r = ps.Run($"Import-KmNode '{dir.File("km.psd1")}'");
        Assert.Equal("InvalidPort,KmPs.Cmdlets.ImportKmNodeCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        File.WriteAllText(dir.File("km.psd1"), "@{ Nodes = @( @{ Name = 'km1'; HostName = 'km1.example.org'; SshOptions = 'StrictHostKeyChecking=no'; DataDir = '/node/data' } ) }");
        r = ps.Run($"Import-KmNode '{dir.File("km.psd1")}'");
        var e = Assert.Single(r.Errors);
        Assert.Equal("InventoryInvalid,KmPs.Cmdlets.ImportKmNodeCommand", e.FullyQualifiedErrorId);
        Assert.Contains("SshOptions must be a hashtable", e.Exception.Message);
    }
}
