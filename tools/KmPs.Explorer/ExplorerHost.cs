using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text.RegularExpressions;

namespace KmPs.Explorer;

/// <summary>What the host tells the explorer, and asks it.</summary>
public interface IHostListener
{
    /// <summary>Invoke-KmSafeUpgrade drew its step bar (Write-Progress -Id 10) for step <paramref name="index"/>: the step begins.</summary>
    void StepStarting(int index, string description);

    /// <summary>A ShouldProcess/ShouldContinue prompt: the label of the choice to take ("Yes", "Yes to All", "No", "No to All").</summary>
    string Answer(string caption, string message);

    void Output(string line);
}

/// <summary>
/// The explorer's PSHost: its UI answers the prompts as the schedule says (PromptForChoice, by the
/// choice's label) and reports each step's start from the orchestrator's step bar; what the engine
/// writes is kept as the listener's last lines.
/// </summary>
public sealed class ExplorerHost(IHostListener listener) : Tests.Harness.ConsoleLessHost
{
    private readonly ExplorerUI _ui = new(listener);

    public override string Name => "KmPs.Explorer";
    public override PSHostUserInterface UI => _ui;

    private sealed class ExplorerUI(IHostListener listener) : PSHostUserInterface
    {
        private static readonly Regex Step = new(@"^step (\d+)/\d+: (.*)$", RegexOptions.Singleline);

        public override PSHostRawUserInterface RawUI { get; } = new Tests.Harness.FixedRawUI();

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            var want = listener.Answer(caption, message);
            for (var i = 0; i < choices.Count; i++)
                if (string.Equals(choices[i].Label.Replace("&", ""), want, StringComparison.OrdinalIgnoreCase)) return i;
            throw new InvalidOperationException($"no choice '{want}' at the prompt {caption}: {message}");
        }

        public override void WriteProgress(long sourceId, ProgressRecord record)
        {
            if (record.ActivityId != 10 || record.RecordType == ProgressRecordType.Completed) return;
            var m = Step.Match(record.StatusDescription ?? "");
            if (m.Success) listener.StepStarting(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value);
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("Prompt: " + message);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => throw new NotSupportedException();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) => listener.Output(value);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => listener.Output(value);
        public override void WriteLine(string value) => listener.Output(value);
        public override void WriteErrorLine(string value) => listener.Output("ERROR: " + value);
        public override void WriteDebugLine(string message) { }
        public override void WriteVerboseLine(string message) => listener.Output("VERBOSE: " + message);
        public override void WriteWarningLine(string message) => listener.Output("WARNING: " + message);
    }
}
