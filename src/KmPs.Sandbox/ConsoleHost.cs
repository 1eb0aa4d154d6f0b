using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace KmPs.Sandbox;

/// <summary>
/// A small console PSHost for the embedded engine: output and streams to the terminal, progress as
/// one line per change, and -Confirm prompts answered by the person at the keyboard (or, with
/// stdin not a terminal, by the default answer, which for ShouldProcess is Yes).
/// </summary>
internal sealed class ConsoleHost : PSHost
{
    private readonly ConsoleUI _ui = new();
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "KmPs.Sandbox";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => new(0, 1);
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class ConsoleUI : PSHostUserInterface
    {
        private readonly Dictionary<long, string> _lastProgress = new();
        private readonly object _gate = new();
        public override PSHostRawUserInterface RawUI { get; } = new RawUI();

        // When output is a file or pipe, strip the ANSI styles PowerShell puts in table headers
        // (its PlainText rendering does not reach hosted engines' formatter here).
        private static readonly bool Plain = Console.IsOutputRedirected;
        private static readonly System.Text.RegularExpressions.Regex Ansi = new("\u001b\\[[0-9;?]*[A-Za-z]", System.Text.RegularExpressions.RegexOptions.Compiled);
        private static string Clean(string text) => Plain ? Ansi.Replace(text, "") : text;

        private static void Colored(ConsoleColor color, string text)
        {
            text = Clean(text);
            if (Plain) { Console.Write(text); return; }
            var old = Console.ForegroundColor;
            Console.ForegroundColor = color;
            Console.Write(text);
            Console.ForegroundColor = old;
        }

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            lock (_gate)
            {
                Colored(ConsoleColor.Yellow, $"\n{caption}\n{message}\n");
                var labels = choices.Select((c, i) => $"[{c.Label.Replace("&", "")[0]}] {c.Label.Replace("&", "")}").ToList();
                Console.WriteLine(string.Join("  ", labels) + $"  (default {choices[defaultChoice].Label.Replace("&", "")}): ");
                if (Console.IsInputRedirected)
                {
                    Console.WriteLine($"(no terminal: answering {choices[defaultChoice].Label.Replace("&", "")})");
                    return defaultChoice;
                }
                while (true)
                {
                    var answer = Console.ReadLine()?.Trim();
                    if (string.IsNullOrEmpty(answer)) return defaultChoice;
                    for (var i = 0; i < choices.Count; i++)
                    {
                        var label = choices[i].Label;
                        var hot = label.IndexOf('&') is var k and >= 0 && k + 1 < label.Length ? label[k + 1].ToString() : label[..1];
                        if (string.Equals(answer, hot, StringComparison.OrdinalIgnoreCase) ||
                            string.Equals(answer, label.Replace("&", ""), StringComparison.OrdinalIgnoreCase)) return i;
                    }
                    Console.Write("? ");
                }
            }
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
        {
            var result = new Dictionary<string, PSObject>();
            foreach (var d in descriptions)
            {
                Console.Write($"{d.Name}: ");
                result[d.Name] = new PSObject(Console.ReadLine() ?? "");
            }
            return result;
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => Console.ReadLine() ?? "";
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) { lock (_gate) Console.Write(Clean(value)); }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { lock (_gate) Colored(foregroundColor, value); }
        public override void WriteLine(string value) { lock (_gate) Console.WriteLine(Clean(value)); }
        public override void WriteErrorLine(string value) { lock (_gate) Colored(ConsoleColor.Red, value + "\n"); }
        public override void WriteDebugLine(string message) { lock (_gate) Colored(ConsoleColor.DarkGray, "DEBUG: " + message + "\n"); }
        public override void WriteVerboseLine(string message) { lock (_gate) Colored(ConsoleColor.DarkCyan, "VERBOSE: " + message + "\n"); }
        public override void WriteWarningLine(string message) { lock (_gate) Colored(ConsoleColor.Yellow, "WARNING: " + message + "\n"); }

        public override void WriteProgress(long sourceId, ProgressRecord record)
        {
            var text = record.RecordType == ProgressRecordType.Completed
                ? null
                : $"{record.Activity}: {record.StatusDescription}" + (record.SecondsRemaining > 0 ? $" ({record.SecondsRemaining} s left)" : "");
            var key = sourceId * 1000 + record.ActivityId;
            lock (_gate)
            {
                if (text is null) { _lastProgress.Remove(key); return; }
                if (_lastProgress.TryGetValue(key, out var last) && last == text) return;
                _lastProgress[key] = text;
                Colored(ConsoleColor.DarkGreen, "  … " + text + "\n");
            }
        }
    }

    private sealed class RawUI : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override Size BufferSize { get; set; } = new(Width, 3000);
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => new(Width, 50);
        public override Size MaxWindowSize => new(Width, 50);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get; set; } = new(Width, 50);
        public override string WindowTitle { get; set; } = "";
        private static int Width => Console.IsOutputRedirected ? 150 : Math.Max(80, Console.WindowWidth);
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
