//! Time in the library is Unix milliseconds (`i64`, UTC). This module parses
//! and prints the two forms Keygen uses (RFC 3339 with milliseconds in bodies,
//! IMF-fixdate in the `Date` header) and owns the clock, which tests replace.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

static TEST_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// The system clock in Unix milliseconds (plus the offset set by
/// [`set_clock_offset_for_tests`], which only Rust callers can reach).
pub fn now_ms() -> Millis {
    let sys = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    sys + TEST_OFFSET_MS.load(Ordering::Relaxed)
}

/// Moves this process's view of the wall clock. For Rust tests and benchmarks
/// that need to act out clock tampering or expiry; deliberately not exported
/// through the C ABI.
#[doc(hidden)]
pub fn set_clock_offset_for_tests(offset_ms: i64) {
    TEST_OFFSET_MS.store(offset_ms, Ordering::Relaxed);
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`]: (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split_ms(ms: Millis) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000) as u32;
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400) as u32;
    let (y, mo, d) = civil_from_days(days);
    (y, mo, d, sod / 3600, sod / 60 % 60, sod % 60, milli)
}

/// `2022-10-16T14:52:48.000Z`, the form Keygen writes.
pub fn format_rfc3339(ms: Millis) -> String {
    let (y, mo, d, h, mi, s, milli) = split_ms(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Parses RFC 3339 timestamps: `Z` or `±hh:mm` offsets, any number of
/// fractional digits (kept to milliseconds).
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y as i64, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut milli = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                milli = milli * 10 + (b[i] - b'0') as u32;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            milli *= 10;
        }
    }
    let offset_s: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)? as i64;
            let om = num(i + 4..i + 6)? as i64;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86400 + (h * 3600 + mi * 60 + sec.min(59)) as i64 - offset_s;
    Some(secs * 1000 + milli as i64)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Sun, 16 Oct 2022 14:52:48 GMT` (IMF-fixdate, as in the `Date` header).
pub fn format_http_date(ms: Millis) -> String {
    let (y, mo, d, h, mi, s, _) = split_ms(ms);
    let wd = WEEKDAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    format!(
        "{wd}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        MONTHS[mo as usize - 1]
    )
}

/// Parses IMF-fixdate (the only form HTTP/1.1 servers may send):
/// `Sun, 06 Nov 1994 08:49:37 GMT`, with the field widths RFC 9110 gives
/// (a 2-digit day, hour, minute and second, a 4-digit year), so that no
/// header can make the arithmetic overflow. The weekday is not trusted; the
/// date itself decides.
pub fn parse_http_date(s: &str) -> Option<Millis> {
    let digits = |p: &str, min: usize, max: usize| -> Option<u32> {
        if (min..=max).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let rest = s.trim().split_once(", ")?.1;
    let mut parts = rest.split(' ');
    // RFC 9110 says 2 digits; a 1-digit day (RFC 850 habits) is harmless.
    let d = digits(parts.next()?, 1, 2)?;
    let mon = parts.next()?;
    let mo = MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let y = i64::from(digits(parts.next()?, 4, 4)?);
    let hms: Vec<u32> = parts
        .next()?
        .split(':')
        .map(|p| digits(p, 2, 2))
        .collect::<Option<_>>()?;
    if parts.next()? != "GMT" || parts.next().is_some() || hms.len() != 3 {
        return None;
    }
    if d == 0 || d > days_in_month(y, mo) || hms[0] > 23 || hms[1] > 59 || hms[2] > 60 {
        return None;
    }
    let secs =
        days_from_civil(y, mo, d) * 86400 + (hms[0] * 3600 + hms[1] * 60 + hms[2].min(59)) as i64;
    Some(secs * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = parse_rfc3339("2022-10-16T14:52:48.000Z").unwrap();
        assert_eq!(t, 1665931968000);
        assert_eq!(format_rfc3339(t), "2022-10-16T14:52:48.000Z");
        assert_eq!(
            parse_rfc3339("2023-10-31T15:32:33.468Z").unwrap() % 1000,
            468
        );
        assert_eq!(parse_rfc3339("2022-10-16T16:52:48+02:00").unwrap(), t);
        assert_eq!(parse_rfc3339("2022-10-16T14:52:48.5Z").unwrap(), t + 500);
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn rfc3339_rejects_garbage() {
        for bad in [
            "",
            "2022-13-01T00:00:00Z",
            "2022-02-30T00:00:00Z",
            "2022-10-16T14:52:48",
            "2022-10-16T14:52:48.Z",
            "２０22-10-16T14:52:48Z",
            "2022-10-16T14:52:48Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_date_round_trip() {
        let t = parse_http_date("Sun, 16 Oct 2022 14:52:48 GMT").unwrap();
        assert_eq!(t, 1665931968000);
        assert_eq!(format_http_date(t), "Sun, 16 Oct 2022 14:52:48 GMT");
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(parse_http_date("Sun, 16 Oct 2022 14:52:48 UTC"), None);
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
