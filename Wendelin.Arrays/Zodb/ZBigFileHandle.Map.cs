using Wendelin.Arrays.BigFile;
using Wendelin.Storage;
using Wendelin.Storage.Fs;
using Wendelin.Storage.IO;

namespace Wendelin.Arrays.Zodb;

// Leasing ZBlk0 blocks out of a mapping of a FileStorage's data file (spec/zbigfile.md ZB-50).
internal sealed partial class ZBigFileHandle
{
    // the leases of the data file the last leased location was in: replaced when a pack swapped the file (leases
    // out of the old one stay valid: its mapping outlives the file's handle)
    private readonly Lock _leasesLock = new();
    private DataFileLeases? _dataLeases;
    private bool _leasesDisposed;

    private sealed record DataFileLeases(IStorageFile File, MappedFileLeases Leases);

    /// <summary>
    /// ZB-50: a canonical ZBlk0 revision of the snapshot (ZB-49's shape check) leased as its stored bytes in the data
    /// file, when they are in the OS page cache; false (declined) for any other block, or when not cached.
    /// </summary>
    private bool TryLeaseMapped(FileStorage fs, long block, Oid oid, BlockTableSnapshot s, out BlockLease lease)
    {
        lease = default;
        if (!MappedFileLeases.Supported)
        {
            return false;
        }
        RecordShape shape = BlockReader.ShapeOf(fs, _shapes, block, oid, s.Before, out PayloadLocation at);
        if (!shape.Canonical || shape.DataLength > BlockSize || at.File is not OsStorageFile file)
        {
            return false; // a ZBlk1 or another pickle; a payload too long fails in LoadBlock (ZB-3); a file in memory
        }
        if (shape.DataLength == 0)
        {
            RememberZBlk0(block, oid, at.Serial, s.Before); // all zeros stripped: empty data
            return true;
        }
        BlockLease? mapped;
        try
        {
            mapped = LeasesOf(file)?.TryLease(at.Position + shape.DataOffset, shape.DataLength);
        }
        catch (ObjectDisposedException)
        {
            return false; // a pack swapped the file, or the handle was disposed, meanwhile: the caller loads the block
        }
        if (mapped is null)
        {
            return false;
        }
        RememberZBlk0(block, oid, at.Serial, s.Before);
        lease = mapped.Value;
        return true;
    }

    /// <summary>The leases of <paramref name="file"/>, made now if the last ones were of another file; null once detached.</summary>
    private MappedFileLeases? LeasesOf(OsStorageFile file)
    {
        lock (_leasesLock)
        {
            if (_leasesDisposed)
            {
                return null;
            }
            if (_dataLeases is { } known && ReferenceEquals(known.File, file))
            {
                return known.Leases;
            }
            _dataLeases?.Leases.Dispose();
            _dataLeases = new DataFileLeases(file, new MappedFileLeases(file.Handle));
            return _dataLeases.Leases;
        }
    }

    private void DisposeDataLeases()
    {
        lock (_leasesLock)
        {
            _leasesDisposed = true;
            _dataLeases?.Leases.Dispose();
            _dataLeases = null;
        }
    }
}
