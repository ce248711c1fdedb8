using System.Numerics;
using System.Text;
using Wendelin.Storage.Pickle;

namespace Wendelin.Storage.Verify;

/// <summary>
/// Python 3's ordering of the pickle values BTrees use as keys (objects/OB-41): numbers by value across int, float
/// and bool; str by code point; bytes (and Python-2 str) by unsigned byte; tuples element by element. Null for values
/// Python cannot order against each other (which a BTree cannot hold).
/// </summary>
internal static class PythonOrder
{
    public static int? Compare(PickleValue a, PickleValue b)
    {
        switch (a, b)
        {
            case (PickleInt x, PickleInt y):
                return x.BigValue.CompareTo(y.BigValue);
            case (PickleInt or PickleFloat or PickleBool, PickleInt or PickleFloat or PickleBool):
                return CompareNumbers(a, b);
            case (PickleStr x, PickleStr y):
                return CompareCodePoints(x.Value, y.Value);
            case (PickleBytes x, PickleBytes y):
                return x.Value.Span.SequenceCompareTo(y.Value.Span);
            case (PickleByteString x, PickleByteString y):
                return x.Value.Span.SequenceCompareTo(y.Value.Span);
            case (PickleTuple x, PickleTuple y):
                for (int i = 0; i < x.Count && i < y.Count; i++)
                {
                    if (PickleEquals(x[i], y[i]))
                    {
                        continue;
                    }
                    return Compare(x[i], y[i]);
                }
                return x.Count.CompareTo(y.Count);
            default:
                return null;
        }
    }

    private static bool PickleEquals(PickleValue a, PickleValue b) => Compare(a, b) == 0;

    private static int? CompareNumbers(PickleValue a, PickleValue b)
    {
        double x = AsDouble(a);
        double y = AsDouble(b);
        if (double.IsNaN(x) || double.IsNaN(y))
        {
            return null;
        }
        return x.CompareTo(y);
    }

    private static double AsDouble(PickleValue v) => v switch
    {
        PickleInt i => (double)i.BigValue,
        PickleFloat f => f.Value,
        PickleBool b => b.Value ? 1 : 0,
        _ => double.NaN,
    };

    private static int CompareCodePoints(string a, string b)
    {
        StringRuneEnumerator ea = a.EnumerateRunes();
        StringRuneEnumerator eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext();
            bool hb = eb.MoveNext();
            if (!ha || !hb)
            {
                return ha.CompareTo(hb);
            }
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }

    /// <summary>True when <paramref name="v"/> is an int within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static bool IsIntIn(PickleValue v, BigInteger min, BigInteger max) =>
        v is PickleInt i && i.BigValue >= min && i.BigValue <= max;
}
