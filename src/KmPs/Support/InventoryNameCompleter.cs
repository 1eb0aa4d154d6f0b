using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using KmPs.Core.Inventory;
using KmPs.Remoting;
using KmPs.Cmdlets;
using KmPs.Core;

namespace KmPs.Support;

/// <summary>Tab completion of Import-KmNode -Name: the node names in the inventory file given as -Path.</summary>
public sealed class InventoryNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters["Path"] is not string path || path.Length == 0) return [];
        try
        {
            // Completion runs inside the session being typed in: a nested command there resolves a relative path from its location.
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            ps.AddScript("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])").AddArgument(path);
            var full = ps.Invoke<string>().FirstOrDefault() ?? System.IO.Path.GetFullPath(path);
            var pattern = WildcardPattern.Get(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            return ImportKmNodeCommand.ReadEntries(full).Select(e => e.Name).Where(n => n.Length > 0 && pattern.IsMatch(n)).Distinct()
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, $"node {n} of {System.IO.Path.GetFileName(full)}")).ToList();
        }
        catch (Exception e) when (e is KmException or IOException or UnauthorizedAccessException or PSInvalidOperationException or ItemNotFoundException or NotSupportedException)
        {
            return [];  // no file yet, or not an inventory: nothing to offer
        }
    }
}
