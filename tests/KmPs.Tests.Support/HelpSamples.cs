namespace KmPs.Tests.Support;

/// <summary>A help page in the markdown the help generator reads: the parser's tests (Core) and the generator's (module) share it.</summary>
public static class HelpSamples
{
    /// <summary>A complete page for Get-Sample (see SampleCmdlets).</summary>
    public const string Page = """
        # Get-Sample

        ## SYNOPSIS
        Gets a sample
        over two lines.

        ## DESCRIPTION
        First paragraph,
        wrapped in the source.


        Second paragraph.

        ## EXAMPLES

        ### Example 1: one item
        ```powershell
        Get-Sample -Path a
        ```

        Gets a.

        ### Example 2: two items
        ```powershell
        $x = Get-Sample -Path a, b
        ```
        ```
        # a comment, not a heading
        $x | Format-List
        ```
        Gets a and b.

        Then lists them.

        ## PARAMETERS

        ### -Path
        Where to look.

        Relative paths start at the current location.

        ### -Mode
        How to look.

        ```yaml
        Type: String
        Default value: Fast
        Accept pipeline input: False
        ```

        ### -Force
        Overwrite.
        Default value: False

        ## INPUTS

        ### System.String
        Paths.

        ## OUTPUTS

        ### System.IO.FileInfo
        Files.

        ### System.String
        With -Mode Names.

        ## NOTES
        A note.

        ## RELATED LINKS
        - Get-Other
        - https://example.org/sample
        - [Online docs](https://example.org/docs)
        """;
}
