using System.Collections;
using System.Numerics;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Fs;

/// <summary>
/// The transaction extension (spec/filestorage.md FS-2.5): <see cref="TransactionMetadata.ExtensionBytes"/> verbatim
/// when given, else the <see cref="TransactionMetadata.Extension"/> dict pickled as ZODB does (nothing for an
/// empty dict, else one protocol-3 pickle).
/// </summary>
internal static class ExtensionCodec
{
    public static byte[] Encode(TransactionMetadata metadata)
    {
        if (!metadata.ExtensionBytes.IsEmpty)
        {
            return metadata.ExtensionBytes.ToArray();
        }
        if (metadata.Extension is null || metadata.Extension.Count == 0)
        {
            return [];
        }
        var dict = new PickleDict();
        foreach (KeyValuePair<string, object?> kv in metadata.Extension)
        {
            dict.Set(kv.Key, ToPickle(kv.Value, 0));
        }
        return ZodbPickle.WriteExtension(dict);
    }

    /// <summary>A .NET value as a pickle value: null, strings, booleans, integers, floats, bytes, dicts and lists.</summary>
    private static PickleValue ToPickle(object? value, int depth)
    {
        if (depth > 100)
        {
            throw new ArgumentException("the transaction extension nests too deep (a cycle?)");
        }
        return value switch
        {
            null => PickleValue.None,
            PickleValue p => p,
            string s => s,
            bool b => b,
            byte or sbyte or short or ushort or int or long => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
            uint u => (long)u,
            ulong u => new BigInteger(u),
            BigInteger big => big,
            float f => (double)f,
            double d => d,
            byte[] bytes => new PickleBytes(bytes.ToArray()),
            ReadOnlyMemory<byte> mem => new PickleBytes(mem.ToArray()),
            IDictionary dict => ToDict(dict, depth),
            IEnumerable list => ToList(list, depth),
            _ => throw new ArgumentException($"a transaction extension value of type {value.GetType()} cannot be pickled"),
        };
    }

    private static PickleDict ToDict(IDictionary dict, int depth)
    {
        var d = new PickleDict();
        foreach (DictionaryEntry e in dict)
        {
            d.Set(ToPickle(e.Key, depth + 1), ToPickle(e.Value, depth + 1));
        }
        return d;
    }

    private static PickleList ToList(IEnumerable items, int depth)
    {
        var l = new PickleList();
        foreach (object? item in items)
        {
            l.Add(ToPickle(item, depth + 1));
        }
        return l;
    }
}
