using System.Diagnostics;
using System.Management.Automation.Runspaces;
using KmPs.Simulator;
using KmPs.Simulator.Cluster;

namespace KmPs.Sandbox;

/// <summary>
/// Creates and starts a local simulated key manager cluster, then runs a PowerShell script against
/// it in an embedded PowerShell 7.6 engine with the built module imported: by default the
/// rehearsal of a full safe upgrade. Ends with the auditor's verdict on the key material.
/// </summary>
public static class Program
{
    private const string Usage = """
        KmPs.Sandbox: rehearse a key manager upgrade on a local simulated cluster.

          dotnet run --project src/KmPs.Sandbox -- [options]

          --nodes N           cluster size (default 4)
          --generation G      oasis-node status shape: 22.2, 23.0 or 24 (default 24); 25.1, 25.6 or 26.1: 24+ shapes of that version
          --epoch-ms MS       epoch length in milliseconds (default 1000)
          --upgrade-in N      epochs until the new version's deployment is active (default 8)
          --policy-not-updated  the key manager policy does not yet let the new enclave replicate (the pre-flight refuses)
          --script FILE       run this script instead of the default rehearsal
          --manual            run the step-by-step manual procedure instead of the default rehearsal
          --confirm           ask before every destructive step (-Confirm prompts on this terminal)
          --dir DIR           create the cluster in DIR (default: a new folder under /tmp)
          --keep              leave the cluster running at the end (stop it with: KmPs.Simulator cluster stop --dir DIR)

        The script gets $Cluster, $InventoryPath, $NewOrc, $NewVersion, $OldVersion and $Confirm.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h")) { Console.WriteLine(Usage); return 0; }
        Options o;
        try { o = Options.Parse(args); }
        catch (ArgumentException e) { Console.Error.WriteLine("error: " + e.Message + "\n\n" + Usage); return 2; }

        var module = Path.Combine(AppContext.BaseDirectory, "module", "OasisKeyManager", "OasisKeyManager.psd1");
        if (!File.Exists(module)) { Console.Error.WriteLine($"error: the built module is missing at {module}; build the solution first."); return 1; }

        var dir = o.Optional("dir") ?? Path.Combine("/tmp", "kmsandbox-" + Guid.NewGuid().ToString("N")[..8]);
        var (generation, software) = SimulatorCli.ParseGenerationAndVersion(o.Optional("generation") ?? "24");
        var options = new ClusterOptions
        {
            Nodes = o.Int("nodes", 4),
            Generation = generation,
            SoftwareVersion = software,
            PolicyAllowsUpgrade = o.Optional("policy-not-updated") is null,
            EpochIntervalMs = o.Int("epoch-ms", 1000),
            // Listed far ahead at creation and moved to now + --upgrade-in once the nodes are up: a start
            // slower than --upgrade-in epochs (a busy machine) would otherwise find it already active.
            UpgradeInEpochs = 1_000_000,
        };
        var upgradeIn = o.Int("upgrade-in", 8);
        var layout = new ClusterLayout(dir);
        var total = Stopwatch.StartNew();
        Console.WriteLine($"Creating a {options.Nodes}-node simulated key manager cluster ({(software is null ? Describe(options.Generation) : "oasis-core " + software)}) in {layout.Root}");
        ClusterBuilder.Create(dir, options);
        var exit = 1;
        try
        {
            Console.WriteLine($"Starting the nodes (epoch = {options.EpochIntervalMs} ms)...");
            await ClusterControl.StartAllAsync(layout, TimeSpan.FromSeconds(90), CancellationToken.None);
            // The runtime owner registers the new version's deployment now, N epochs ahead, so the
            // rehearsal waits for a real upgrade epoch however long the start took.
            var epoch = ClusterControl.Deploy(layout, options.NewVersion, upgradeIn);
            Console.WriteLine($"Cluster ready after {total.Elapsed.TotalSeconds:0.0} s; version {options.NewVersion} deployed from epoch {epoch}.\n");

            var script = o.Optional("script") is { } file ? File.ReadAllText(file) : Embedded(o.Optional("manual") is null ? "Rehearsal.ps1" : "ManualUpgrade.ps1");
            var ok = RunScript(module, script, new Dictionary<string, object?>
            {
                ["Cluster"] = layout.Root,
                ["InventoryPath"] = layout.InventoryFile,
                ["NewOrc"] = ClusterBuilder.OrcPath(layout, options.NewVersion),
                ["NewVersion"] = options.NewVersion,
                ["OldVersion"] = options.OldVersion,
                ["Confirm"] = o.Optional("confirm") is not null,
            });

            var audit = ClusterAuditor.Audit(layout.Root);
            Console.WriteLine($"\nAuditor (from the files alone): {audit}");
            foreach (var n in audit.Nodes)
                Console.WriteLine($"  {n.Name,-5} holds key material: {(n.HoldsKeyMaterial ? "yes" : "no ")}  backups that could restore it: {n.RecoverableCopies.Count}{(n.Note is null ? "" : "  (" + n.Note + ")")}");
            Console.WriteLine($"\nRehearsal {(ok && audit.KeyMaterialExists ? "finished" : "FAILED")} in {total.Elapsed.TotalSeconds:0.0} s.");
            exit = ok && audit.KeyMaterialExists ? 0 : 1;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine("error: " + e.Message);
        }
        finally
        {
            if (o.Optional("keep") is null)
            {
                ClusterControl.StopAll(layout);
                if (o.Optional("dir") is null) try { Directory.Delete(layout.Root, true); } catch (IOException) { }
            }
            else Console.WriteLine($"Cluster left running in {layout.Root}; stop it with: dotnet {typeof(SimulatorCli).Assembly.Location} cluster stop --dir {layout.Root}");
        }
        return exit;
    }

    private static string Describe(KmPs.Core.Status.SchemaGeneration g) => g switch
    {
        KmPs.Core.Status.SchemaGeneration.V22_2 => "oasis-core 22.2 shapes",
        KmPs.Core.Status.SchemaGeneration.V23_0 => "oasis-core 23.0 shapes",
        _ => "oasis-core 24+ shapes",
    };

    private static string Embedded(string name)
    {
        using var s = typeof(Program).Assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing script {name}");
        return new StreamReader(s).ReadToEnd();
    }

    /// <summary>
    /// Runs the script in pwsh's own console host (Microsoft.PowerShell.ConsoleHost, in this process):
    /// progress bars drawn in place, -Confirm prompts, tables and colours exactly as pwsh shows them,
    /// and Ctrl+C handled as pwsh handles it. With output redirected (a CI log) it renders plain text
    /// and leaves the progress bars out. Returns false when the script ended with an error.
    /// </summary>
    private static bool RunScript(string module, string script, IDictionary<string, object?> variables)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { module });
        foreach (var (k, v) in variables) iss.Variables.Add(new SessionStateVariableEntry(k, v, ""));
        var file = Path.Combine(Path.GetTempPath(), $"kmsandbox-{Guid.NewGuid():N}.ps1");
        var plain = Console.IsOutputRedirected
            ? "$PSStyle.OutputRendering = 'PlainText'; $ProgressPreference = 'SilentlyContinue'\n"
            : "";
        // -File ends with exit code 1 on a terminating error; a script that had errors says so itself.
        File.WriteAllText(file, plain + "$ErrorActionPreference = 'Stop'\n" + script);
        try
        {
            return Microsoft.PowerShell.ConsoleShell.Start(iss, "", "", new[] { "-NoProfile", "-NoLogo", "-File", file }) == 0;
        }
        finally { File.Delete(file); }
    }
}
