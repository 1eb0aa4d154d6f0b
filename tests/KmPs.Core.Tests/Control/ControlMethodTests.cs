using KmPs.Core.Control;

namespace KmPs.Core.Tests.Control;

/// <summary>The control client's gRPC method objects (the calls themselves: KmPs.Simulator.Tests).</summary>
public class ControlMethodTests
{
    [Fact]
    public void One_method_object_per_path_so_the_channel_cache_does_not_grow_per_call()
    {
        var m = ControlClient.MethodFor(ControlMethods.NodeController, ControlMethods.GetStatus);
        Assert.Same(m, ControlClient.MethodFor(ControlMethods.NodeController, ControlMethods.GetStatus));
        Assert.Equal("/oasis-core.NodeController/GetStatus", m.FullName);
        Assert.NotSame(m, ControlClient.MethodFor(ControlMethods.NodeController, ControlMethods.IsReady));
    }
}
