using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Wendelin.Arrays;
using Wendelin.Arrays.Zodb;

namespace Wendelin.Tools;

/// <summary>
/// <c>wendelin array list|info|export|import</c>: the ZBigArrays of a database (spec/zbigfile.md §6), one file per
/// subcommand; this file holds the group and what list and info share. Arrays are named by their path from the root
/// (<see cref="ArrayPaths"/>); <c>--at TID</c> reads a past state.
/// </summary>
internal static class ArrayCommand
{
    public static Command Create()
    {
        var command = new Command("array", "List, inspect, export and import the ZBigArrays of a database (NumPy .npy files).");
        command.Add(ArrayListCommand.Create());
        command.Add(ArrayInfoCommand.Create());
        command.Add(ArrayExportCommand.Create());
        command.Add(ArrayImportCommand.Create());
        return command;
    }

    /// <summary><c>--block-format zblk0|zblk1|auto</c>: the block format written by import and the demo (ZB rules in spec/zbigfile.md).</summary>
    internal static Option<string?> BlockFormatOption()
    {
        var format = new Option<string?>("--block-format")
        {
            Description = "Block format to write: zblk0 (a block per object), zblk1 (4 KiB chunks) or auto [default: $WENDELIN_CORE_ZBLK_FMT, else zblk0]",
        };
        format.AcceptOnlyFromAmong("zblk0", "zblk1", "auto");
        return format;
    }

    /// <summary>
    /// The value of <see cref="BlockFormatOption"/>; null: the array's default. Without the option the default
    /// (<c>WENDELIN_CORE_ZBLK_FMT</c>) is checked here, before anything is opened, so that a bad value is a
    /// configuration error (<see cref="ZBlkFormatException"/>, exit 2) and not a failure halfway.
    /// </summary>
    internal static ZBlkFormat? BlockFormat(string? text)
    {
        switch (text)
        {
            case "zblk0":
                return ZBlkFormat.ZBlk0;
            case "zblk1":
                return ZBlkFormat.ZBlk1;
            case "auto":
                return ZBlkFormat.Auto;
            default:
                _ = ZBlkFormats.Default;
                return null;
        }
    }

    /// <summary>What <c>list --json</c> and <c>info --json</c> print about one array.</summary>
    internal static JsonObject Describe(string path, ZBigArray a, bool hash, CancellationToken cancel)
    {
        BlockCounts c = Count(a);
        var shape = new JsonArray();
        foreach (long d in a.Shape)
        {
            shape.Add(d);
        }
        var formats = new JsonObject();
        foreach ((string cls, int n) in c.ByClass)
        {
            formats[cls] = n;
        }
        var o = new JsonObject
        {
            ["path"] = path,
            ["oid"] = a.PersistentOid?.ToString(),
            ["shape"] = shape,
            ["dtype"] = a.DType.Str,
            ["order"] = a.Order.ToString(),
            ["itemsize"] = a.ItemSize,
            ["nbytes"] = a.NBytes,
            ["blksize"] = a.File.BlockSize,
            ["blocks_spanned"] = c.Spanned,
            ["blocks_present"] = c.Present,
            ["formats"] = formats,
        };
        if (hash)
        {
            var runs = new JsonObject();
            foreach ((long first, long last, string cls) in c.Runs)
            {
                runs[first == last ? first.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{first}-{last}")] = cls;
            }
            o["block_formats"] = runs;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            ArrayBytes.Read(a.AsBigArray(), ArrayOrder.C, piece =>
            {
                cancel.ThrowIfCancellationRequested();
                sha.AppendData(piece);
            });
            o["sha256_c_order"] = Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        return o;
    }

    /// <summary>
    /// Blocks of an array: spanned, present, a count per class, and the runs of consecutive present blocks of one
    /// class in block order (holes are the gaps between runs; spec/tools.md TL-9).
    /// </summary>
    internal sealed record BlockCounts(long Spanned, int Present, SortedDictionary<string, int> ByClass, List<(long First, long Last, string Class)> Runs)
    {
        public string Summary
        {
            get
            {
                var parts = new List<string>();
                foreach ((string cls, int n) in ByClass)
                {
                    parts.Add($"{cls}:{n}");
                }
                long holes = Spanned - Present;
                if (holes > 0)
                {
                    parts.Add($"holes:{holes}");
                }
                return parts.Count == 0 ? "-" : string.Join(' ', parts);
            }
        }
    }

    internal static BlockCounts Count(ZBigArray a)
    {
        var byClass = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var runs = new List<(long First, long Last, string Class)>();
        int present = 0;
        long bs = a.File.BlockSize;
        long spanned = (a.NBytes + bs - 1) / bs;
        foreach ((long block, string cls) in a.File.Blocks())
        {
            if (block >= spanned)
            {
                continue; // blocks past the array's end (after a shrink) hold no items
            }
            present++;
            byClass[cls] = byClass.GetValueOrDefault(cls) + 1;
            if (runs.Count > 0 && runs[^1].Last == block - 1 && runs[^1].Class == cls)
            {
                runs[^1] = (runs[^1].First, block, cls);
            }
            else
            {
                runs.Add((block, block, cls));
            }
        }
        return new BlockCounts(spanned, present, byClass, runs);
    }
}
