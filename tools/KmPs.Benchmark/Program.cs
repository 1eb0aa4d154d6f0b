using System.Diagnostics;
using KmPs.Benchmark;

// Latency of Get-KmStatus in a hosted PowerShell 7.6 engine against simulated key manager nodes.
//
//   dotnet run -c Release --project tools/KmPs.Benchmark            full counts
//   dotnet run -c Release --project tools/KmPs.Benchmark -- --quick fewer calls and repetitions
//
// The module is imported from artifacts/bin/KmPs/<config>/, <config> being the folder this
// program runs from (release or debug). "first-call SOCKET" is the child mode of figure 2.

var mainStart = Stopwatch.GetTimestamp();
if (args is ["first-call", var socket]) return FirstCall.Child(socket, mainStart);
if (args is ["first-call-split", var splitSocket]) return FirstCall.Child(splitSocket, mainStart, split: true);
if (args.Any(a => a is not "--quick"))
{
    Console.Error.WriteLine("usage: KmPs.Benchmark [--quick]");
    return 2;
}

var counts = args.Contains("--quick") ? Counts.Quick : Counts.Full;
Report.Header(counts);
using var engine = new Engine();
await using (var node = await KmPs.Tests.Harness.SnapshotNode.StartAsync(Nodes.Ready()))
{
    SingleNode.Run(engine, node.Address, "in-process node", counts);
    await using (var sim = await SimulatorProcess.StartAsync(Nodes.Ready()))
        SingleNode.Run(engine, sim.Address, "simulator process", counts, sim.StartMs);
    FirstCall.Run(node.Address, counts);
}
await FiftyNodes.RunAsync(engine, counts);
return 0;
