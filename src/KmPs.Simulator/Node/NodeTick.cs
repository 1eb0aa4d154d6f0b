namespace KmPs.Simulator.Node;

/// <summary>What the node's loop does after a tick.</summary>
public enum TickOutcome
{
    /// <summary>Keep running.</summary>
    Continue,
    /// <summary>Deregistered after a shutdown request: exit cleanly.</summary>
    Exit,
    /// <summary>The injected crash while replicating: exit at once with <see cref="SecretAcquisition.CrashExitCode"/>, leaving the socket behind.</summary>
    Crash,
}

/// <summary>
/// One turn of the node's loop, run a few times an epoch: read the fault set; deregister and exit once
/// a requested shutdown's epoch has come; obtain the secret while the node has none; register when due.
/// Each step reads the current state snapshot, does its I/O, and commits one transition; a shutdown
/// asked for meanwhile by a gRPC thread is kept (the transitions touch only what the tick owns).
/// </summary>
public sealed class NodeTick(SimNodeContext ctx, SimNodePorts ports, StateCell<SimNodeState> cell)
{
    private readonly SecretAcquisition _secrets = new(ctx, ports);

    public TickOutcome Run()
    {
        var faults = ports.Faults();
        var s = cell.Update(x => x.Faults == faults ? x : x with { Faults = faults }).New;
        var epoch = ports.Clock.Now;
        if (s.Shutdown is { } shutdown && epoch >= shutdown.AtEpoch)
        {
            var reg = ports.Chain.Registration(ctx.Name);
            if (reg is not null) { reg.Deregistered = true; ports.Chain.Register(reg); }
            ports.Log.Info("worker/registration", "deregistered, shutting down");
            return TickOutcome.Exit;
        }
        if (s.Secret is null)
        {
            var step = _secrets.Next(s, epoch);
            if (step.Crashed) return TickOutcome.Crash;
            s = cell.Update(step.ApplyTo).New;
            // Replication may take a while (a slow peer, a loaded machine): register for the epoch it is
            // now, as oasis-node does, not the one the tick began in (that descriptor would be born stale).
            epoch = ports.Clock.Now;
        }
        if (RegistrationWorker.Due(s, epoch)) Register(s, epoch);
        return TickOutcome.Continue;
    }

    private void Register(SimNodeState s, ulong epoch)
    {
        var attempt = RegistrationWorker.Attempt(ctx, s, ports.Chain.Deployments(), epoch, ports.UnixNow);
        if (attempt.Descriptor is not null) ports.Chain.Register(attempt.Descriptor);
        cell.Update(x => x with { Registration = attempt.Next });
        // go/worker/registration/worker.go logs "failed to register node" with the error; here once per distinct error.
        if (attempt.Error is not null && attempt.Error != s.Registration.LastAttemptError)
            ports.Log.Error("worker/registration", "failed to register node", ("err", attempt.Error));
        if (attempt.BecameReady) ports.Log.Info("worker/keymanager", "registered with init response, key manager ready");
    }
}
