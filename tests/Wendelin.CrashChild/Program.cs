using System.Globalization;
using Wendelin.Storage;
using Wendelin.Storage.Fs;

namespace Wendelin.CrashChild;

/// <summary>
/// The child of the real-process crash test (<see cref="CrashDriver"/>): <c>Wendelin.CrashChild FILE SEED</c> opens
/// FILE for writing, prints <c>READY</c>, then commits small random transactions forever, printing
/// <c>ACK tid oid:hash;…</c> after each <c>TpcFinish</c> returned, until it is killed.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: Wendelin.CrashChild FILE SEED");
            return 2;
        }
        var rng = new Random(int.Parse(args[1], CultureInfo.InvariantCulture));
        using var fs = FileStorage.Open(args[0]);
        var serials = new Dictionary<Oid, Tid>();
        foreach ((Oid oid, _) in fs.CurrentRecords())
        {
            serials[oid] = fs.GetTid(oid);
        }
        Console.Out.WriteLine("READY");
        Console.Out.Flush();
        while (true)
        {
            StorageTransaction t = fs.TpcBegin(new TransactionMetadata("crash-child", "commit"));
            int n = rng.Next(0, 4);
            var stored = new List<(Oid Oid, string Hash)>();
            var used = new HashSet<Oid>();
            for (int i = 0; i < n; i++)
            {
                var oid = new Oid((ulong)rng.Next(0, 40));
                if (!used.Add(oid))
                {
                    continue;
                }
                int size = rng.Next(20) == 0 ? rng.Next(20_000, 120_000) : rng.Next(1, 3000);
                byte[] data = new byte[size];
                rng.NextBytes(data);
                fs.Store(t, oid, serials.GetValueOrDefault(oid, Tid.Zero), data);
                stored.Add((oid, CrashDriver.Hash(data)));
            }
            fs.TpcVote(t);
            Tid tid = fs.TpcFinish(t);
            foreach ((Oid oid, _) in stored)
            {
                serials[oid] = tid;
            }
            Console.Out.WriteLine($"ACK {tid} {string.Join(";", stored.Select(s => $"{s.Oid}:{s.Hash}"))}");
            Console.Out.Flush();
        }
    }
}
