using System.Buffers.Binary;
using Wendelin.Storage.IO;
using Wendelin.Storage.Verify;
using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.Verify;

/// <summary>
/// Verification of a file a writer is appending to (spec/verify.md V123): with NAME.lock held by another handle, the
/// bytes past the last finished transaction are a commit in progress, reported as a note and not checked; without the
/// lock they are a torn tail as before; damage before the tail is reported either way.
/// </summary>
public sealed class VerifyLiveWriterTests
{
    private static readonly long BasicLength = Fixtures.Bytes("basic.fs").Length;

    /// <summary>A voted transaction being written: header with status 'c' and a length past the end, then zeros.</summary>
    private static byte[] InProgressHeader()
    {
        byte[] tail = new byte[100];
        BinaryPrimitives.WriteUInt64BigEndian(tail, 0x7000_0000_0000_0000UL); // a tid after every one of basic.fs
        BinaryPrimitives.WriteUInt64BigEndian(tail.AsSpan(8), 4000);
        tail[16] = (byte)'c';
        return tail;
    }

    private static string WithTail(TempDirectory dir, byte[] tail, Action<byte[]>? damage = null)
    {
        byte[] basic = Fixtures.Bytes("basic.fs");
        damage?.Invoke(basic);
        string path = dir.File("live.fs");
        File.WriteAllBytes(path, [.. basic, .. tail]);
        return path;
    }

    public static TheoryData<string> Tails => new() { "status-c", "zeros" };

    private static byte[] Tail(string kind) => kind == "zeros" ? new byte[64] : InProgressHeader();

    [Theory]
    [MemberData(nameof(Tails))]
    public void A_commit_in_progress_under_a_held_lock_is_a_note_not_a_finding(string kind)
    {
        using var dir = new TempDirectory("verify-live");
        string path = WithTail(dir, Tail(kind));
        using (OsFileSystem.Instance.Lock(path + ".lock"))
        {
            var verifier = new Verifier(path);
            List<Finding> findings = [.. verifier.Run()];
            Finding note = Assert.Single(findings);
            Assert.Equal("V123", note.Code);
            Assert.Equal(Severity.Info, note.Severity);
            Assert.Equal(BasicLength, note.Position);
            Assert.Contains("commit in progress", note.Message, StringComparison.Ordinal);
            Assert.True(verifier.Stats.Clean);
            var clean = new Verifier(Fixtures.Path("basic.fs"));
            Assert.Empty(clean.Run());
            Assert.Equal(clean.Stats.Transactions, verifier.Stats.Transactions);
        }
        // the lock released: the same bytes are a torn tail, as an open would treat them
        List<Finding> after = [.. new Verifier(path).Run()];
        Assert.Contains(after, f => f.Code == "V120" && f.Position == BasicLength && f.Severity == Severity.Warning);
        Assert.DoesNotContain(after, f => f.Code == "V123");
        Assert.Contains(after, f => f.Code == (kind == "zeros" ? "V106" : "V104"));
    }

    [Fact]
    public void Damage_before_the_tail_is_reported_while_a_writer_holds_the_lock()
    {
        using var dir = new TempDirectory("verify-live");
        // T4 at 2912 gets an invalid status: damage in the middle, T5 follows
        string path = WithTail(dir, InProgressHeader(), b => b[2912 + 16] = 0x01);
        using (OsFileSystem.Instance.Lock(path + ".lock"))
        {
            var verifier = new Verifier(path);
            List<Finding> findings = [.. verifier.Run()];
            Assert.Contains(findings, f => f.Code == "V106" && f.Position == 2912);
            Assert.Contains(findings, f => f.Code == "V119" && f.Position == 2912);
            Assert.Contains(findings, f => f.Code == "V123" && f.Position == BasicLength);
            Assert.DoesNotContain(findings, f => f.Code == "V120");
            Assert.False(verifier.Stats.Clean);
        }
    }

    [Fact]
    public void The_lock_probe_sees_another_handle_and_leaves_no_file()
    {
        using var dir = new TempDirectory("verify-live");
        string lockPath = dir.File("x.fs.lock");
        Assert.False(OsFileSystem.Instance.IsLockHeld(lockPath));
        Assert.False(File.Exists(lockPath)); // probing creates nothing
        using (OsFileSystem.Instance.Lock(lockPath))
        {
            Assert.True(OsFileSystem.Instance.IsLockHeld(lockPath));
        }
        Assert.False(OsFileSystem.Instance.IsLockHeld(lockPath));
    }
}
