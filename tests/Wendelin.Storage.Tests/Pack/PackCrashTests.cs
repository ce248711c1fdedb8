using FsCheck;
using FsCheck.Fluent;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;
using Wendelin.Storage.Pack;
using Wendelin.Storage.Tests.FileStorage;
using Xunit.Abstractions;

namespace Wendelin.Storage.Tests.Pack;

/// <summary>
/// A crash at any point of a pack leaves either the old or the new data file whole (spec/pack.md PK-S1..PK-S4): for
/// random histories, the pack runs on the crashing file system; then for every event it made (every write, set
/// length and fsync of every file, every create, delete, rename, link and directory fsync) and every way the
/// unsynced writes and name changes may have reached the disk, the image is reopened. <c>NAME</c> must hold
/// exactly the old bytes or exactly the packed bytes, open, and show that file's transactions and objects;
/// <c>NAME.old</c>, when there, holds the old bytes.
/// </summary>
public sealed class PackCrashTests(ITestOutputHelper output)
{
    private const string Name = "/db/data.fs";

    [Fact]
    public void A_crash_at_any_event_of_a_pack_reopens_to_the_old_or_the_new_file()
    {
        Gen<(PackPropertyTests.Op[] Ops, int Pick, bool KeepOld)> gen =
            Gen.Choose(5, 25).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 99).SelectMany(a => Gen.Choose(0, 3).SelectMany(kind =>
                Gen.Choose(0, 99).Select(b => new PackPropertyTests.Op(kind, a, b, 0)))), n))
            .SelectMany(ops => Gen.Choose(0, 100).SelectMany(pick => Gen.Elements(true, false).Select(keep => (ops, pick, keep))));
        int images = 0;
        PropertyRun.Check(output, "pack crash", gen, c =>
        {
            byte[] original;
            byte[]? index;
            List<Tid> tids;
            {
                var build = new MemoryFileSystem();
                using var fs = Fs.FileStorage.Open(Name, new FileStorageOptions { Create = true }, build);
                tids = PackPropertyTests.Build(fs, c.Ops);
                fs.Dispose();
                original = build.ReadAllBytes(Name)!;
                index = build.ReadAllBytes(Name + ".index"); // the old file's index: stale once the pack swaps
            }
            Tid packTid = tids[Math.Min(tids.Count - 1, c.Pick * tids.Count / 100)];
            var crash = new CrashFileSystem();
            crash.Seed(Name, original);
            if (c.Pick % 2 == 0 && index is not null)
            {
                crash.Seed(Name + ".index", index); // it must not outlive the swap (PK-S1, PK-S3)
            }
            int start;
            byte[] packed;
            using (var fs = Fs.FileStorage.Open(Name, new FileStorageOptions(), crash))
            {
                start = crash.EventCount;
                PackResult r = fs.Pack(packTid, new PackOptions { KeepOld = c.KeepOld });
                if (!r.Packed)
                {
                    return;
                }
                packed = crash.Current(Name)!;
            }
            Snapshot old = Snapshot.Of(original);
            Snapshot @new = Snapshot.Of(packed);
            for (int k = start; k <= crash.EventCount; k++)
            {
                int pending = crash.PendingNameChanges(k);
                foreach (CrashFileSystem.Writes writes in Enum.GetValues<CrashFileSystem.Writes>())
                {
                    for (int p = 0; p <= pending; p++)
                    {
                        Dictionary<string, byte[]> image = crash.Image(k, writes, p);
                        images++;
                        string where = $"crash before event {k} ({writes}, {p} of {pending} name changes)";
                        Assert.True(image.TryGetValue(Name, out byte[]? bytes), $"{where}: no {Name}");
                        bool isOld = bytes!.AsSpan().SequenceEqual(original);
                        bool isNew = bytes.AsSpan().SequenceEqual(packed);
                        Assert.True(isOld || isNew, $"{where}: {Name} is neither the old nor the packed file ({bytes.Length} bytes)");
                        if (isNew && index is not null && image.TryGetValue(Name + ".index", out byte[]? stale))
                        {
                            Assert.False(stale.AsSpan().SequenceEqual(index), $"{where}: the old file's index outlived the swap");
                        }
                        if (image.TryGetValue(Name + ".old", out byte[]? kept))
                        {
                            Assert.Equal(original, kept);
                        }
                        Assert.Equal(isOld ? old : @new, Snapshot.Open(image));
                    }
                }
            }
        }, maxTest: 12);
        output.WriteLine($"{images} crash images reopened");
    }

    /// <summary>What a reopened data file shows: its transactions and the current data of every object.</summary>
    private sealed record Snapshot(string Tids, string Objects)
    {
        public static Snapshot Of(byte[] bytes)
        {
            var fsys = new MemoryFileSystem();
            fsys.WriteAllBytes(Name, bytes);
            return Read(fsys);
        }

        public static Snapshot Open(Dictionary<string, byte[]> image)
        {
            var fsys = new MemoryFileSystem();
            foreach ((string name, byte[] bytes) in image)
            {
                fsys.WriteAllBytes(name, bytes);
            }
            return Read(fsys); // writable: recovery, index check and a leftover NAME.pack all take part
        }

        private static Snapshot Read(MemoryFileSystem fsys)
        {
            using var fs = Fs.FileStorage.Open(Name, new FileStorageOptions(), fsys);
            string tids = string.Join(",", fs.Iterator().Select(t => t.Tid.ToString()));
            var objects = new List<string>();
            foreach ((Oid oid, long _) in fs.CurrentRecords())
            {
                try
                {
                    objects.Add(oid + "=" + Convert.ToHexString(fs.Load(oid).Data.Span));
                }
                catch (PosKeyException)
                {
                    objects.Add(oid + "=none");
                }
            }
            return new Snapshot(tids, string.Join(";", objects));
        }
    }
}
