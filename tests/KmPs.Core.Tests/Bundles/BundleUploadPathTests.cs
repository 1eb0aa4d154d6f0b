using KmPs.Core.Bundles;

namespace KmPs.Core.Tests.Bundles;

/// <summary>
/// The part of the remote endpoint's allow-list that is a path decision: it appends to and commits only
/// copies in progress as <see cref="BundleStaging.UploadPath"/> names them, and commits each only to the
/// destination it was made for. Before, any hidden file whose path contained ".upload-" passed, so
/// <c>/x/.upload-1/../../etc/.profile</c> could be appended to.
/// </summary>
public class BundleUploadPathTests
{
    private const string Destination = "/srv/node/runtimes/keymanager-0.6.0.orc";
    private const string Id = "0123456789abcdef0123456789abcdef";
    private const string Temp = "/srv/node/runtimes/.keymanager-0.6.0.orc.upload-" + Id;

    [Fact]
    public void An_upload_is_a_hidden_file_beside_its_destination_named_after_it()
    {
        var temp = BundleStaging.UploadPath(Destination);
        Assert.Equal("/srv/node/runtimes", Path.GetDirectoryName(temp));
        Assert.Matches(@"^\.keymanager-0\.6\.0\.orc\.upload-[0-9a-f]{32}$", Path.GetFileName(temp));
        Assert.True(BundleStaging.IsUpload(temp));
        Assert.True(BundleStaging.IsUploadFor(temp, Destination));
        Assert.NotEqual(temp, BundleStaging.UploadPath(Destination));
    }

    [Fact]
    public void A_well_formed_upload_path_is_one()
    {
        Assert.True(BundleStaging.IsUpload(Temp));
        Assert.True(BundleStaging.IsUploadFor(Temp, Destination));
        Assert.True(BundleStaging.IsUpload("/.x.upload-" + Id)); // a file at the root is still a plain absolute path
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/")]
    [InlineData(".keymanager-0.6.0.orc.upload-" + Id)]                                 // relative
    [InlineData("runtimes/.keymanager-0.6.0.orc.upload-" + Id)]                        // relative
    [InlineData("/tmp/.upload-" + Id + "/../../etc/.profile")]                          // what the old check let through
    [InlineData("/srv/node/runtimes/../../../etc/.keymanager-0.6.0.orc.upload-" + Id)] // ".." anywhere
    [InlineData("/srv/node/./runtimes/.keymanager-0.6.0.orc.upload-" + Id)]            // "."
    [InlineData("/srv/node//runtimes/.keymanager-0.6.0.orc.upload-" + Id)]             // an empty part
    [InlineData(Temp + "/")]                                                            // a folder
    [InlineData("/srv/node/runtimes/keymanager-0.6.0.orc.upload-" + Id)]               // not hidden
    [InlineData("/srv/node/runtimes/.upload-" + Id)]                                   // no name
    [InlineData("/srv/node/runtimes/.keymanager-0.6.0.orc.upload-0123456789ABCDEF0123456789ABCDEF")] // not as written
    [InlineData("/srv/node/runtimes/.keymanager-0.6.0.orc.upload-0123456789abcdef")]   // too short
    [InlineData("/srv/node/runtimes/.keymanager-0.6.0.orc.upload-" + Id + "0")]        // too long
    [InlineData("/srv/node/runtimes/.keymanager-0.6.0.orc.upload-" + Id + ".sh")]      // a suffix
    [InlineData("/srv/node/runtimes/.keymanager-0.6.0.orc.uploaded-" + Id)]
    [InlineData("/srv/node/runtimes/keymanager-0.6.0.orc")]                            // the bundle itself
    [InlineData("/etc/passwd")]
    [InlineData("/home/oasis/.bashrc")]
    public void Anything_else_is_not_an_upload(string? path)
    {
        Assert.False(BundleStaging.IsUpload(path));
        Assert.False(BundleStaging.IsUploadFor(path, Destination));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("keymanager-0.6.0.orc")]                              // relative
    [InlineData("/srv/node/runtimes/keymanager-0.6.1.orc")]           // another name
    [InlineData("/srv/node/other/keymanager-0.6.0.orc")]              // another folder
    [InlineData("/srv/node/runtimes/sub/keymanager-0.6.0.orc")]       // below
    [InlineData("/srv/node/runtimes/../runtimes/keymanager-0.6.0.orc")] // the same folder spelt with ".."
    [InlineData("/etc/cron.d/keymanager-0.6.0.orc")]
    public void An_upload_is_committed_only_to_the_destination_it_was_made_for(string? destination) =>
        Assert.False(BundleStaging.IsUploadFor(Temp, destination));
}
