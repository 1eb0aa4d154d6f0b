using System.Globalization;
using System.Management.Automation.Host;

namespace KmPs.Tests.Harness;

/// <summary>A PSHost with no console and no nested prompts, in the invariant culture; a subclass gives its name and UI (RecordingHost, the schedule explorer's host).</summary>
public abstract class ConsoleLessHost : PSHost
{
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override Version Version => new(1, 0);
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }
}

/// <summary>The raw console of a PSHost with no console: a fixed 160x50 buffer that reads no keys (RecordingHost, the schedule explorer's host).</summary>
public sealed class FixedRawUI : PSHostRawUserInterface
{
    public override ConsoleColor BackgroundColor { get; set; }
    public override Size BufferSize { get; set; } = new(160, 50);
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; }
    public override ConsoleColor ForegroundColor { get; set; }
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => new(160, 50);
    public override Size MaxWindowSize => new(160, 50);
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize { get; set; } = new(160, 50);
    public override string WindowTitle { get; set; } = "";
    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
}
