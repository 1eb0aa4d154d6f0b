using KmPs.Tests.Harness;





namespace KmPs.Module.Tests.Module;

/// <summary>The tests host the whole engine (Microsoft.PowerShell.SDK), as pwsh users have it, not a Core-only one.</summary>
public class HostedEngineTests
{
    [Fact]
    public void The_hosted_engine_has_the_utility_and_management_commands()
    {
        using var ps = new PsEngine();
        var r = ps.Run("""
            [pscustomobject]@{ A = 1; B = 2 } | Select-Object -Property B | ConvertTo-Json -Compress
            (Get-Command Start-Sleep, Get-ChildItem, Write-Information | Measure-Object).Count
            """).AssertClean();
        Assert.Equal("{\"B\":2}", r.Output[0].BaseObject);
        Assert.Equal(3, r.Output[1].BaseObject);
    }
}
