using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace KmPs.Tests.Harness;

/// <summary>
/// A PSHost that records what the engine writes to the console (What if: text, tables) and answers
/// prompts from a script: PromptForChoice returns the next scripted choice index
/// (0 Yes, 1 Yes to All, 2 No, 3 No to All for ShouldProcess).
/// </summary>
public sealed class RecordingHost : ConsoleLessHost
{
    private readonly RecordingUI _ui;
    public RecordingHost(params int[] answers) => _ui = new RecordingUI(new Queue<int>(answers));

    public string Text => _ui.Text.ToString();
    public List<string> Prompts => _ui.Prompts;

    public override string Name => "RecordingHost";
    public override PSHostUserInterface UI => _ui;

    private sealed class RecordingUI(Queue<int> answers) : PSHostUserInterface
    {
        public StringBuilder Text { get; } = new();
        public List<string> Prompts { get; } = new();
        public override PSHostRawUserInterface RawUI { get; } = new FixedRawUI();

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            lock (Prompts) Prompts.Add($"{caption}|{message}");
            if (answers.Count == 0) throw new InvalidOperationException($"unexpected prompt: {caption}: {message}");
            return answers.Dequeue();
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new NotSupportedException("Prompt: " + message);
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => throw new NotSupportedException();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) { lock (Text) Text.Append(value); }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);
        public override void WriteLine(string value) => Write(value + "\n");
        public override void WriteErrorLine(string value) => Write("ERROR: " + value + "\n");
        public override void WriteDebugLine(string message) => Write("DEBUG: " + message + "\n");
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) => Write("VERBOSE: " + message + "\n");
        public override void WriteWarningLine(string message) => Write("WARNING: " + message + "\n");
    }
}
