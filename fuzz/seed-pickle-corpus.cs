// Writes the seed corpus of the "pickle" fuzz target: every data record pickle of the FileStorage fixtures, every
// transaction extension and the .index files, one file each (fuzz/README.md).
// Usage: dotnet run fuzz/seed-pickle-corpus.cs -- tests/fixtures fuzz/corpus/pickle
using System.Buffers.Binary;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: dotnet run fuzz/seed-pickle-corpus.cs -- FIXTURES_DIR CORPUS_DIR");
    return 2;
}
Directory.CreateDirectory(args[1]);
int n = 0;
foreach (string path in Directory.EnumerateFiles(args[0], "*", SearchOption.AllDirectories))
{
    byte[] data = File.ReadAllBytes(path);
    if (path.EndsWith(".index", StringComparison.Ordinal))
    {
        Write(data);
        continue;
    }
    if (!path.EndsWith(".fs", StringComparison.Ordinal) || data.Length < 4)
    {
        continue;
    }
    // FileStorage layout (spec/filestorage.md): 4-byte magic, then transactions of 23-byte headers, user,
    // description, extension, 42-byte data record headers with their pickles, and an 8-byte length trailer.
    long pos = 4;
    while (pos + 23 <= data.Length)
    {
        long tlen = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan((int)pos + 8));
        if (tlen < 23 || tlen > data.Length - pos - 8)
        {
            break;
        }
        int ulen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan((int)pos + 17));
        int dlen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan((int)pos + 19));
        int elen = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan((int)pos + 21));
        if (elen > 0)
        {
            Write(data.AsSpan((int)pos + 23 + ulen + dlen, elen).ToArray());
        }
        long p = pos + 23 + ulen + dlen + elen, end = pos + tlen;
        while (p + 42 <= end)
        {
            long plen = (long)BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan((int)p + 34));
            if (plen > end - p - 42)
            {
                break;
            }
            if (plen > 0 && plen <= 1 << 16)
            {
                Write(data.AsSpan((int)p + 42, (int)plen).ToArray());
            }
            p += 42 + (plen > 0 ? plen : 8);
        }
        pos = end + 8;
    }
}
Console.WriteLine($"{n} corpus files in {args[1]}");
return 0;

void Write(byte[] bytes)
{
    string name = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(bytes));
    File.WriteAllBytes(Path.Combine(args[1], name), bytes);
    n++;
}
