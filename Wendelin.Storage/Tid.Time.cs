using System.Globalization;

namespace Wendelin.Storage;

// The timestamp part of Tid: ZODB's TimeStamp (spec/filestorage.md §3, FS-T1..FS-T5).
//
// High 32 bits: minutes since 1900-01-01 00:00 in a calendar where every month has 31 days.
// Low 32 bits:  seconds within that minute in units of 60/2^32 s, truncated.
public readonly partial record struct Tid
{
    private const int MinutesPerDay = 24 * 60;          // 1440
    private const int MinutesPerMonth = 31 * MinutesPerDay; // 44640: every month has 31 days
    private const int MinutesPerYear = 12 * MinutesPerMonth; // 535680
    private const long TicksPerMinute = TimeSpan.TicksPerMinute; // 600,000,000 (100 ns ticks)

    /// <summary>The minutes field (high 32 bits): minutes since 1900 in the 31-day-month calendar.</summary>
    public uint Minutes => (uint)(Value >> 32);

    /// <summary>The seconds field (low 32 bits) in units of 60/2^32 s.</summary>
    public uint SecondsFraction => (uint)Value;

    public int Year => (int)(Minutes / MinutesPerYear) + 1900;

    /// <summary>1..12.</summary>
    public int Month => (int)(Minutes / MinutesPerMonth % 12) + 1;

    /// <summary>1..31 (31-day months: 30 February is a valid, ordered tid).</summary>
    public int Day => (int)(Minutes / MinutesPerDay % 31) + 1;

    public int Hour => (int)(Minutes / 60 % 24);

    public int Minute => (int)(Minutes % 60);

    /// <summary>Seconds within the minute, 0 ≤ s &lt; 60, as ZODB computes it: low 32 bits × 60 / 2^32.</summary>
    public double Second => SecondsFraction * 60.0 / 4294967296.0;

    /// <summary>
    /// The tid of a UTC instant (FS-T1): fields from the broken-down UTC time, the seconds within the minute
    /// (with their fraction) scaled by 2^32/60 and truncated. <see cref="DateTime"/> resolution is 100 ns, finer
    /// than a tid unit (≈ 14 ns) is not needed.
    /// </summary>
    public static Tid FromDateTime(DateTime utc)
    {
        if (utc.Kind == DateTimeKind.Local)
        {
            utc = utc.ToUniversalTime();
        }
        if (utc.Year < 1900)
        {
            throw new ArgumentOutOfRangeException(nameof(utc), utc, "tids start at 1900-01-01 UTC");
        }
        ulong minutes = Pack(utc.Year, utc.Month, utc.Day, utc.Hour * 60 + utc.Minute);
        if (minutes > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(utc), utc, "tids end in the year 9917");
        }
        long ticksInMinute = utc.Ticks % TicksPerMinute;
        // floor(seconds × 2^32 / 60) in exact integer arithmetic: ticks < 6e8 < 2^30, × 2^32 < 2^62.
        ulong fraction = ((ulong)ticksInMinute << 32) / (ulong)TicksPerMinute;
        return new Tid((minutes << 32) | fraction);
    }

    /// <summary>
    /// The tid of a time given as float seconds since the Unix epoch, computed as ZODB converts a pack time
    /// (filestorage-format §2.5): the minute from the broken-down UTC time of the whole seconds, the low half from
    /// the double <c>t mod 60</c> divided by the double 60/2^32 and truncated — so the float rounding matches
    /// Python's (going through 100 ns ticks can differ by one unit: scenario.json's pack time does).
    /// </summary>
    public static Tid FromUnixTime(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds))
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "not a finite time");
        }
        double whole = Math.Floor(seconds);
        if (whole < -2208988800.0 || whole > 253402300799.0)
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "tids cover 1900-01-01 to 9999-12-31 UTC");
        }
        DateTime utc = DateTime.UnixEpoch.AddSeconds(whole);
        ulong minutes = Pack(utc.Year, utc.Month, utc.Day, utc.Hour * 60 + utc.Minute);
        double inMinute = seconds % 60.0; // fmod, exact; Python's % then moves a negative result into [0, 60)
        if (inMinute < 0)
        {
            inMinute += 60.0;
        }
        ulong fraction = (ulong)(inMinute / (60.0 / 65536.0 / 65536.0));
        return new Tid((minutes << 32) | Math.Min(fraction, uint.MaxValue));
    }

    /// <summary>A tid for the current UTC time (not yet made later than anything: see <see cref="LaterThan"/>).</summary>
    public static Tid Now() => FromDateTime(DateTime.UtcNow);

    /// <summary>
    /// ZODB's <c>laterThan</c> (FS-T3): this tid when it is greater than <paramref name="previous"/>, else one unit
    /// after <paramref name="previous"/>. The unit is added to the low 32 bits; when they are all ones the seconds
    /// wrap to 0 and the minute advances in the real calendar (minute 1439 to the next day, the last day of a
    /// month to the first of the next, December to January), as ZODB's C TimeStamp does.
    /// </summary>
    public Tid LaterThan(Tid previous)
    {
        if (this > previous)
        {
            return this;
        }
        if ((uint)previous.Value != uint.MaxValue)
        {
            return new Tid(previous.Value + 1);
        }
        int year = previous.Year, month = previous.Month, day = previous.Day;
        int minuteOfDay = previous.Hour * 60 + previous.Minute;
        if (minuteOfDay >= MinutesPerDay - 1)
        {
            minuteOfDay = 0;
            if (day == RealMonthLength(year, month))
            {
                day = 1;
                if (month == 12)
                {
                    month = 1;
                    year++;
                }
                else
                {
                    month++;
                }
            }
            else
            {
                day++;
            }
        }
        else
        {
            minuteOfDay++;
        }
        ulong minutes = Pack(year, month, day, minuteOfDay);
        if (minutes > uint.MaxValue)
        {
            throw new OverflowException("no tid after " + previous + ": the minute field is exhausted (year 9917)");
        }
        return new Tid(minutes << 32);
    }

    /// <summary>
    /// ZODB's <c>timeTime()</c> (FS-T4): float seconds since the Unix epoch of the real (Gregorian) UTC date of the
    /// year/month/day/hour/minute fields, plus <see cref="Second"/>. Impossible dates (31 April) roll over
    /// into the next month, as ZODB's calendar arithmetic does.
    /// </summary>
    public double TimeTime
    {
        get
        {
            long days = DaysFromCivil(Year, Month, 1) + (Day - 1);
            long minutes = days * MinutesPerDay + Hour * 60 + Minute;
            return minutes * 60.0 + Second;
        }
    }

    /// <summary>
    /// The UTC instant of this tid as a <see cref="DateTime"/> (rounded to the nearest 100 ns tick, so that a tid made
    /// by <see cref="FromDateTime"/> gives back its instant exactly), or null for a tid whose
    /// fields name a day that does not exist (30 February) or lies beyond <see cref="DateTime.MaxValue"/>.
    /// </summary>
    public DateTime? ToDateTime()
    {
        int year = Year, month = Month, day = Day;
        if (year > 9999 || day > DateTime.DaysInMonth(year, month))
        {
            return null;
        }
        long ticks = (long)(((ulong)SecondsFraction * (ulong)TicksPerMinute + (1UL << 31)) >> 32);
        return new DateTime(year, month, day, Hour, Minute, 0, DateTimeKind.Utc).AddTicks(ticks);
    }

    /// <summary>ZODB tools' text form (FS-T5): <c>YYYY-MM-DD HH:MM:SS.ffffff</c>, seconds with six decimals (%09.6f).</summary>
    public string ToTimeString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Year:D4}-{Month:D2}-{Day:D2} {Hour:D2}:{Minute:D2}:{FormatSeconds(Second)}");

    private static string FormatSeconds(double s)
    {
        string text = s.ToString("F6", CultureInfo.InvariantCulture);
        return text.Length < 9 ? text.PadLeft(9, '0') : text;
    }

    private static ulong Pack(int year, int month, int day, int minuteOfDay) =>
        ((((ulong)(year - 1900) * 12 + (ulong)(month - 1)) * 31 + (ulong)(day - 1)) * MinutesPerDay) + (ulong)minuteOfDay;

    private static int RealMonthLength(int year, int month)
    {
        bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        return month switch
        {
            2 => leap ? 29 : 28,
            4 or 6 or 9 or 11 => 30,
            _ => 31,
        };
    }

    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    private static long DaysFromCivil(int y, int m, int d)
    {
        long year = m <= 2 ? y - 1 : y;
        long era = (year >= 0 ? year : year - 399) / 400;
        long yoe = year - era * 400;
        long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }
}
