using KmPs.Tests.Harness;



namespace KmPs.Scenario.Tests.Remoting;

/// <summary>
/// The tests that share one sshd (<see cref="SshFixture"/>): xunit finds a collection's definition only
/// in the test assembly itself, so it lives here, beside every test of the collection.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SshCollection : ICollectionFixture<SshFixture>
{
    public const string Name = "ssh";
}
