namespace Wendelin.Storage.Format;

/// <summary>
/// The outcome of a failed check, as a value: recovery probes many candidate positions and must not pay for an
/// exception per probe. <see cref="ToException"/> turns it into the one <see cref="CorruptRecordException"/>.
/// </summary>
internal readonly record struct FormatError(RecordKind Kind, long Position, string Check, string Detail)
{
    public CorruptRecordException ToException(string path) => new(path, Position, Kind, Check, Detail);
}
