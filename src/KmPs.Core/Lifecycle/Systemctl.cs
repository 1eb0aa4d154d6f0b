using System.Diagnostics;

namespace KmPs.Core.Lifecycle;

/// <summary>
/// Runs <c>systemctl stop|start &lt;unit&gt;</c> for a node. Both output streams are read to the end
/// (an undrained pipe can block systemctl once it fills), the run can be cancelled (Ctrl+C in the
/// cmdlet) and times out; <c>--no-ask-password</c> makes a missing sudo/polkit right fail at once
/// instead of waiting for a password nobody will type.
/// </summary>
public static class Systemctl
{
    public static async Task RunAsync(string verb, string unit, TimeSpan timeout, CancellationToken ct, string executable = "systemctl")
    {
        if (verb is not ("stop" or "start"))
            throw new ArgumentException($"verb must be stop or start, not '{verb}'", nameof(verb));
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("--no-ask-password");
        psi.ArgumentList.Add(verb);
        psi.ArgumentList.Add(unit);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new KmException(LifecycleErrorIds.SystemctlUnavailable, KmErrorCategory.ResourceUnavailable, $"Cannot run {executable}: {e.Message}", unit, e);
        }
        using (p)
        {
            p.StandardInput.Close();
            var output = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var error = p.StandardError.ReadToEndAsync(CancellationToken.None);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            try { await p.WaitForExitAsync(limit.Token).ConfigureAwait(false); }
            catch (OperationCanceledException)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                ct.ThrowIfCancellationRequested();
                throw new KmException(LifecycleErrorIds.SystemctlTimeout, KmErrorCategory.OperationTimeout,
                    $"systemctl {verb} {unit} did not finish in {timeout.TotalSeconds:0} s.", unit);
            }
            var (stdout, stderr) = (await output.ConfigureAwait(false), await error.ConfigureAwait(false));
            if (p.ExitCode != 0)
            {
                var said = (stderr.Trim().Length > 0 ? stderr : stdout).Trim();
                throw new KmException(LifecycleErrorIds.SystemctlFailed, KmErrorCategory.InvalidOperation, $"systemctl {verb} {unit} failed ({p.ExitCode}): {said}", unit)
                {
                    RecommendedAction = said.Contains("authentication", StringComparison.OrdinalIgnoreCase) || said.Contains("Access denied", StringComparison.OrdinalIgnoreCase)
                        ? $"Run as a user allowed to {verb} {unit} (for example a sudo or polkit rule for systemctl {verb} {unit})."
                        : $"Check the unit: systemctl status {unit}; journalctl -u {unit}.",
                };
            }
        }
    }
}
