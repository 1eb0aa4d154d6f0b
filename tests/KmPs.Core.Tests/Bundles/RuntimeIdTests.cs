using KmPs.Core.Bundles;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.Bundles;

public class RuntimeIdTests
{
    [Theory]
    [InlineData(TestOrcs.MainnetKm, true, false)]
    [InlineData(TestOrcs.TestnetKm, true, false)]
    [InlineData(TestOrcs.Sapphire, false, false)]
    [InlineData("c000000000000000000000000000000000000000000000000000000000000001", true, true)]
    [InlineData("8000000000000000000000000000000000000000000000000000000000000001", false, true)]
    public void Flags(string id, bool keyManager, bool test)
    {
        Assert.Equal(keyManager, RuntimeId.IsKeyManager(id));
        Assert.Equal(test, RuntimeId.IsTest(id));
    }

    [Fact]
    public void Upper_case_is_accepted_and_normalised()
    {
        Assert.Equal(TestOrcs.MainnetKm, RuntimeId.Normalize(TestOrcs.MainnetKm.ToUpperInvariant()));
    }

    [Theory]
    [InlineData(null, "is empty")]
    [InlineData("", "is empty")]
    [InlineData("  ", "is empty")]
    [InlineData("4000", "has 4 characters; expected 64 hex digits")]
    [InlineData("40000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac", "has 65 characters")]
    [InlineData("400000000000000000000000000000000000000000000000xc5ea5e49b4bc9ac", "non-hex character 'x' at position 49")]
    [InlineData("4100000000000000000000000000000000000000000000008c5ea5e49b4bc9ac", "reserved flag bits")]
    public void Invalid_ids_say_what_is_wrong(string? text, string problem)
    {
        var e = Assert.Throws<KmException>(() => RuntimeId.Parse(text, "KM runtime id"));
        Assert.Equal("InvalidRuntimeId", e.ErrorId);
        Assert.Equal(KmErrorCategory.InvalidArgument, e.Category);
        Assert.StartsWith("The KM runtime id ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.False(RuntimeId.TryParse(text, out _));
    }
}
