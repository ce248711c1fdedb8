using Wendelin.TestSupport;

namespace Wendelin.Storage.Tests.FileStorage;

/// <summary>Tid timestamps (spec/filestorage.md §2, FS-T1..FS-T5).</summary>
public sealed class TidTimeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output = output;

    [Fact]
    public void Reference_example_encodes_and_decodes() // FS-T1, FS-T2
    {
        var t = Tid.FromDateTime(new DateTime(2024, 1, 2, 3, 4, 5, 500, DateTimeKind.Utc));
        Assert.Equal(0x03F5945817777777UL, t.Value);
        Assert.Equal(66425944u, t.Minutes);
        Assert.Equal((2024, 1, 2, 3, 4), (t.Year, t.Month, t.Day, t.Hour, t.Minute));
        Assert.Equal(5.5, t.Second, 6);
        Assert.Equal("2024-01-02 03:04:05.500000", t.ToTimeString());
        Assert.Equal(1704164645.5, t.TimeTime, 6);
        Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5, 500, DateTimeKind.Utc), t.ToDateTime());
    }

    [Fact]
    public void Fixture_tid_decodes_to_its_commit_time()
    {
        Tid t = Tid.Parse("040d3e52fe5f78dd");
        Assert.Equal("2026-11-25 02:26:59.618657", t.ToTimeString());
        Assert.Equal(1795573619.6186574, t.TimeTime, 5);
    }

    [Fact]
    public void Seconds_are_truncated_not_rounded() // FS-T1
    {
        // 59.9999999 s: 599,999,999 ticks → floor(599999999 × 2^32 / 6e8) = 2^32 − 8 (not 2^32, which would overflow)
        var t = Tid.FromDateTime(new DateTime(2000, 1, 1, 0, 0, 59, DateTimeKind.Utc).AddTicks(9_999_999));
        Assert.Equal(0xFFFFFFF8u, t.SecondsFraction);
        Assert.Equal(0, t.Minute);
        Assert.True(t.Second < 60);
        Assert.Equal("2000-01-01 00:00:60.000000", t.ToTimeString()); // %09.6f rounds, as in ZODB's tools
    }

    [Fact]
    public void Later_than_takes_now_when_it_is_later() // FS-T3
    {
        var earlier = new Tid(0x03F5945800000000UL);
        var now = new Tid(0x03F5945900000000UL);
        Assert.Equal(now, now.LaterThan(earlier));
    }

    [Fact]
    public void Later_than_adds_one_unit_when_the_clock_is_not_later()
    {
        var last = new Tid(0x03F5945817777777UL);
        Assert.Equal(new Tid(0x03F5945817777778UL), new Tid(0x03F5945800000000UL).LaterThan(last));
        Assert.Equal(new Tid(0x03F5945817777778UL), last.LaterThan(last));
        Assert.Equal(new Tid(0x03F59458_00000100UL), new Tid(0).LaterThan(new Tid(0x03F59458_000000FFUL)));
    }

    [Theory]
    [InlineData(2024, 1, 2, 3, 4, 2024, 1, 2, 3, 5)]        // next minute
    [InlineData(2024, 1, 2, 23, 59, 2024, 1, 3, 0, 0)]      // minute 1439 → next day
    [InlineData(2024, 1, 31, 23, 59, 2024, 2, 1, 0, 0)]     // last day of January
    [InlineData(2023, 2, 28, 23, 59, 2023, 3, 1, 0, 0)]     // non-leap February
    [InlineData(2024, 2, 28, 23, 59, 2024, 2, 29, 0, 0)]    // leap year
    [InlineData(2024, 2, 29, 23, 59, 2024, 3, 1, 0, 0)]
    [InlineData(2100, 2, 28, 23, 59, 2100, 3, 1, 0, 0)]     // 2100 is not a leap year
    [InlineData(2000, 2, 28, 23, 59, 2000, 2, 29, 0, 0)]    // 2000 is
    [InlineData(2024, 4, 30, 23, 59, 2024, 5, 1, 0, 0)]     // 30-day month
    [InlineData(2024, 12, 31, 23, 59, 2025, 1, 1, 0, 0)]    // December → January
    public void Later_than_carries_a_full_seconds_field_into_the_real_calendar(
        int y, int mo, int d, int h, int mi, int ey, int emo, int ed, int eh, int emi)
    {
        Tid full = WithAllOnesSeconds(Tid.FromDateTime(new DateTime(y, mo, d, h, mi, 0, DateTimeKind.Utc)));
        Tid next = Tid.Zero.LaterThan(full);
        Assert.Equal(0u, next.SecondsFraction);
        Assert.Equal((ey, emo, ed, eh, emi), (next.Year, next.Month, next.Day, next.Hour, next.Minute));
        Assert.True(next > full);
    }

    [Fact]
    public void Later_than_on_an_impossible_date_moves_within_the_31_day_calendar()
    {
        // 30 February 2023 23:59 (a valid tid that names no real day): not the month's real last day, so day + 1
        var feb30 = new Tid((((((2023UL - 1900) * 12 + 1) * 31 + 29) * 1440 + 1439) << 32) | 0xFFFFFFFFUL);
        Tid next = Tid.Zero.LaterThan(feb30);
        Assert.Equal((2023, 2, 31, 0, 0), (next.Year, next.Month, next.Day, next.Hour, next.Minute));
        Assert.Null(next.ToDateTime());
    }

    [Fact]
    public void Time_time_rolls_impossible_days_over_like_calendar_arithmetic() // FS-T4
    {
        // 31 April 2024 00:00 = 1 May 2024 00:00 in epoch seconds
        var apr31 = new Tid(((((2024UL - 1900) * 12 + 3) * 31 + 30) * 1440) << 32);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), apr31.TimeTime);
    }

    [Fact]
    public void Tids_order_like_their_times()
    {
        var rng = new Random(Seeds.Announce(_output, nameof(Tids_order_like_their_times)));
        for (int i = 0; i < 10_000; i++)
        {
            DateTime a = DateTime.UnixEpoch.AddTicks(rng.NextInt64(0, 100L * 365 * TimeSpan.TicksPerDay));
            DateTime b = a.AddTicks(rng.NextInt64(1, TimeSpan.TicksPerDay));
            Tid ta = Tid.FromDateTime(a), tb = Tid.FromDateTime(b);
            Assert.True(ta < tb, $"{a:o} → {ta}, {b:o} → {tb}");
            Assert.Equal(a, ta.ToDateTime());
        }
        Assert.Equal(Tid.FromUnixTime(1704164645.5), new Tid(0x03F5945817777777UL));
    }

    private static Tid WithAllOnesSeconds(Tid t) => new(t.Value | 0xFFFFFFFFUL);
}
