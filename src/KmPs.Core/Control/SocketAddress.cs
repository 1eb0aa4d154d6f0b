namespace KmPs.Core.Control;

/// <summary>
/// Where a node's control API listens: always a unix socket file. Accepts what operators type:
/// <c>unix:/node/data/internal.sock</c> (oasis-node's -a form), a plain socket path, or the node's
/// data dir (the socket is <c>&lt;datadir&gt;/internal.sock</c>).
/// </summary>
public sealed record SocketAddress
{
    public const string SocketFileName = "internal.sock";

    /// <summary>Absolute, normalised path of the socket file.</summary>
    public string Path { get; }

    private SocketAddress(string path) => Path = path;

    public override string ToString() => "unix:" + Path;

    /// <param name="input">The address as given.</param>
    /// <param name="baseDirectory">Where relative paths start (the caller's current location).</param>
    public static SocketAddress Parse(string? input, string? baseDirectory = null)
    {
        if (input is null || string.IsNullOrWhiteSpace(input))
            throw Invalid(input, "the socket address is empty");
        var text = input.Trim();
        if (text.IndexOf('\0') >= 0) throw Invalid(input, "the socket address contains a NUL character");

        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            text = text.Substring(5);
            // unix:///abs/path is the URI form of unix:/abs/path; unix://host/... is not a local socket.
            if (text.StartsWith("//", StringComparison.Ordinal))
            {
                if (!text.StartsWith("///", StringComparison.Ordinal))
                    throw Invalid(input, "unix: addresses name a local path (unix:/node/data/internal.sock), not a host");
                text = text.Substring(2);
            }
            if (text.Length == 0) throw Invalid(input, "the unix: address has no path");
        }
        else if (LooksLikeNetworkAddress(text))
        {
            throw Invalid(input, "the control API of oasis-node listens only on a unix socket (unix:/node/data/internal.sock); " +
                                 "network addresses are not supported, use a PowerShell remoting session for other machines");
        }

        string full;
        try
        {
            full = System.IO.Path.IsPathRooted(text)
                ? System.IO.Path.GetFullPath(text)
                : System.IO.Path.GetFullPath(text, baseDirectory ?? Environment.CurrentDirectory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Invalid(input, e.Message);
        }

        if (Directory.Exists(full)) full = System.IO.Path.Combine(full, SocketFileName);
        // sockaddr_un.sun_path is 108 bytes on Linux (104 on macOS) including the terminator.
        if (System.Text.Encoding.UTF8.GetByteCount(full) > 107)
            throw Invalid(input, $"the socket path is longer than the 107 bytes a unix socket address can hold: {full}");
        return new SocketAddress(full);
    }

    private static bool LooksLikeNetworkAddress(string text) =>
        text.Contains("://", StringComparison.Ordinal) ||
        System.Text.RegularExpressions.Regex.IsMatch(text, @"^[A-Za-z0-9.\-\[\]:]+:\d+$") && !text.Contains('/');

    /// <summary>
    /// Parses an address that must name an absolute path as given: one for another machine, where no
    /// current directory exists to resolve a relative one against (a wrong path would answer "no
    /// socket", which reads as "node stopped").
    /// </summary>
    public static SocketAddress ParseAbsolute(string? input)
    {
        var text = input?.Trim() ?? "";
        var path = text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) ? text.Substring(5) : text;
        if (path.StartsWith("//", StringComparison.Ordinal)) path = path.Substring(2);
        if (path.Length > 0 && !LooksLikeNetworkAddress(path) && !path.StartsWith("/", StringComparison.Ordinal))
            throw Invalid(input, "on a node's own machine the socket or data dir must be an absolute path (there is no current directory there to resolve it against)");
        return Parse(input);
    }

    /// <summary>
    /// Whether two addresses as given for another machine name the same node's socket, without that
    /// machine's files to look at: unix: prefixes and trailing slashes aside, and a data dir naming
    /// the socket inside it.
    /// </summary>
    public static bool SameRemoteSocket(string? a, string? b)
    {
        static string Bare(string? s)
        {
            var t = (s ?? "").Trim();
            if (t.StartsWith("unix:", StringComparison.OrdinalIgnoreCase)) t = t.Substring(5);
            if (t.StartsWith("//", StringComparison.Ordinal)) t = t.Substring(2);
            return t.TrimEnd('/');
        }
        var (x, y) = (Bare(a), Bare(b));
        if (x.Length == 0 || y.Length == 0) return false;
        return x == y || x + "/" + SocketFileName == y || y + "/" + SocketFileName == x;
    }

    private static KmException Invalid(string? input, string why) =>
        new(KmPs.Core.Inventory.InventoryErrorIds.InvalidSocketAddress, KmErrorCategory.InvalidArgument,
            $"'{input}' is not a usable control socket address: {why}.", input)
        {
            RecommendedAction = "Give the node's socket as unix:/path/to/datadir/internal.sock, the socket path, or the data dir.",
        };
}
