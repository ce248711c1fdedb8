using Wendelin.Storage.Format;

namespace Wendelin.Storage.Fs;

// NAME.index: load after the sanity check, save through a temporary file (spec/filestorage.md §4.4, FS-I1..FS-I4).
public sealed partial class FileStorage
{
    private readonly record struct SavedIndex(FsIndex Index, long Position, Tid LastTid);

    // Pending the pickle codec (branch pickle): until it is merged no index is read or written.
    private SavedIndex? TryLoadIndex(long length)
    {
        _ = length;
        return null;
    }

    private void TrySaveIndex()
    {
    }

    private static byte[] EncodeExtension(TransactionMetadata metadata)
    {
        if (!metadata.ExtensionBytes.IsEmpty)
        {
            return metadata.ExtensionBytes.ToArray();
        }
        if (metadata.Extension is null || metadata.Extension.Count == 0)
        {
            return [];
        }
        throw new NotSupportedException("extension dicts need the pickle codec");
    }
}
