namespace KmPs.Tests.Support;

/// <summary>
/// Real data from oasis nodes: files in Vectors/ (copied from ../shared/vectors so a clean clone has them;
/// they reach the output folder of every test project that references this one), and values read from them.
/// </summary>
public static class TestVectors
{
    /// <summary>A registered <c>extra_info</c> (base64 CBOR of a signed init response), from extra-info-22.2.json.</summary>
    public const string ExtraInfo =
        "omlzaWduYXR1cmVYQG7nDuKTOUKAlJAfukdY6Xljox376lCLI0cIP0zPw2B8abJxa31j+NoQAWA0KZuHD41XPyICmjXDTpjDXukEEgVtaW5pdF9yZXNwb25zZaNoY2hlY2tzdW1YIEWZF5YaFQChstrZ9u1UdgyqZCagmNfghvyQna9WkmvyaWlzX3NlY3VyZfVvcG9saWN5X2NoZWNrc3VtWCCsrqRzYjx05t+KoCYz7wFSdKJ720g2LQBAsRKXmClMvw==";
    /// <summary>Its init response's checksum.</summary>
    public const string Checksum = "459917961a1500a1b2dad9f6ed54760caa6426a098d7e086fc909daf56926bf2";
    /// <summary>Its init response's policy checksum.</summary>
    public const string PolicyChecksum = "acaea473623c74e6df8aa02633ef015274a27bdb48362d0040b1129798294cbf";

    /// <summary>The path of a file in Vectors/, beside this test assembly.</summary>
    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "Vectors", name);
}
