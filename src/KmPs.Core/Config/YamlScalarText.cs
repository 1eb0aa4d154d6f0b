using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace KmPs.Core.Config;

/// <summary>
/// Writes one scalar value as YAML source text in a given quoting style. YamlDotNet's emitter writes
/// whole documents, not a token to splice into existing text, so this small part is by hand; every
/// splice is then checked by parsing the result with YamlDotNet (see <see cref="ConfigEditor"/>).
/// </summary>
internal static partial class YamlScalarText
{
    /// <summary>The token candidates for <paramref name="value"/>, the original style first when it can hold it.</summary>
    public static IEnumerable<string> Candidates(string value, ScalarStyle original, bool inFlow)
    {
        if (original is ScalarStyle.Plain or ScalarStyle.Any && CanBePlain(value, inFlow)) yield return value;
        if (original is ScalarStyle.Plain or ScalarStyle.Any or ScalarStyle.SingleQuoted && AllPrintable(value))
            yield return "'" + value.Replace("'", "''") + "'";
        yield return DoubleQuoted(value);
    }

    /// <summary>
    /// Conservative: no indicator first, nothing that would end the scalar or start a comment, and not
    /// a word YAML would read as null, a boolean or a number (1.1 and 1.2 spellings).
    /// </summary>
    public static bool CanBePlain(string value, bool inFlow) =>
        value.Length > 0
        && AllPrintable(value)
        && !char.IsWhiteSpace(value[0]) && !char.IsWhiteSpace(value[^1])
        && "-?:,[]{}#&*!|>'\"%@`".IndexOf(value[0]) < 0
        && !value.Contains(": ") && !value.Contains(" #") && !value.EndsWith(':')
        && !value.StartsWith("...")
        && !(inFlow && value.IndexOfAny(new[] { ',', '[', ']', '{', '}' }) >= 0)
        && !ImplicitlyTyped().IsMatch(value);

    public static string DoubleQuoted(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\0' => "\\0",
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when !IsPrintable(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    private static bool AllPrintable(string value) => value.All(IsPrintable);

    // YAML line breaks (NEL, LS, PS) and controls need escapes; the rest may stand as is.
    private static bool IsPrintable(char c) =>
        c >= ' ' && c != '\u007f' && c != '\u0085' && c != '\u2028' && c != '\u2029' && c != '\ufeff';

    [GeneratedRegex(@"^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?\.?[0-9][0-9_.:eExXoObBa-fA-F+-]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$")]
    private static partial Regex ImplicitlyTyped();
}
