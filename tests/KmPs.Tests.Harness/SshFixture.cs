using System.Management.Automation.Runspaces;

namespace KmPs.Tests.Harness;

/// <summary>
/// The SSH machines shared by every test of the "ssh" collection: sshd starts once per run and is
/// stopped, and its users removed, when the collection ends, whatever the tests did. The tests of
/// the collection run one after another (one sshd, and each upgrade scenario keeps 2 cores busy).
/// </summary>
public sealed class SshFixture : IDisposable
{
    public const int MachineCount = 3; // km2 and km4 of the scenarios, and a third user (the intruder, the session that is killed)
    public SshMachines Ssh { get; } = SshMachines.Start(MachineCount);

    private PsEngine? _engine;
    private PSSession[]? _sessions;

    /// <summary>
    /// Sessions to the first two machines, opened once and usable from any engine; a test that breaks
    /// or changes a session opens its own.
    /// </summary>
    public PSSession[] Sessions
    {
        get
        {
            lock (this)
            {
                if (_sessions is not null) return _sessions;
                _engine = new PsEngine();
                var r = _engine.Run($"{Ssh.NewSession(Ssh.Machines[0])}; {Ssh.NewSession(Ssh.Machines[1])}");
                if (r.Output.Count != 2) throw new InvalidOperationException($"sessions did not open: {r.Terminating} {string.Join("; ", r.Errors)}\nsshd: {Ssh.SshdLog}");
                return _sessions = r.Output.Select(o => (PSSession)o.BaseObject).ToArray();
            }
        }
    }

    public void Dispose()
    {
        _engine?.Run("Get-PSSession | Remove-PSSession");
        _engine?.Dispose();
        Ssh.Dispose();
    }
}
