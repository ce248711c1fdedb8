using System.Runtime.InteropServices;
using Wendelin.Arrays.BigFile;

namespace Wendelin.Arrays.Tests.BigFile;

/// <summary>A read-only block file of any size whose bytes are computed (every 8-byte word of block b is Word(b, i)), so a test can scan gigabytes without holding them.</summary>
internal sealed class PatternBlockFile(int blockSize) : IBlockFile
{
    private int _loads;

    public int BlockSize => blockSize;

    public int Loads => _loads;

    public static long Word(long block, int index) => block * 1_000_003 + index;

    public void LoadBlock(long block, Span<byte> buffer)
    {
        Interlocked.Increment(ref _loads);
        Span<long> words = MemoryMarshal.Cast<byte, long>(buffer);
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = Word(block, i);
        }
    }

    public void StoreBlock(long block, ReadOnlySpan<byte> buffer) =>
        throw new InvalidOperationException("the pattern file is read-only");
}
