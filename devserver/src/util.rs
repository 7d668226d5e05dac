//! Small self-contained helpers: ids, encodings, and civil-calendar time.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use sha2::{Digest, Sha256};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the OS random source is unavailable");
    buf
}

pub fn uuid_v4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// Ruby's `urlsafe_encode64`, which keeps the `=` padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Decodes `%XX` escapes (invalid ones are kept literally); `+` becomes a space in query strings.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
                continue;
            }
            (None, b'+') if plus_is_space => out.push(b' '),
            (None, c) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---- time -------------------------------------------------------------------

pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `2022-10-16T14:52:48.000Z`
pub fn rfc3339_ms(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, mo, d) = civil_from_days(days);
    let s = rem / 1000;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        rem % 1000
    )
}

/// `Sun, 16 Oct 2022 14:52:48 GMT`
pub fn http_date(ms: i64) -> String {
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, mo, d) = civil_from_days(days);
    let s = rem / 1000;
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        WD[days.rem_euclid(7) as usize],
        MON[mo as usize - 1],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses ISO-8601 date-times as Keygen accepts them for `expiry`: a date, or a date-time with
/// optional fraction and a `Z` or `±hh:mm` offset (no offset means UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * DAY_MS;
    if b.len() == 10 {
        return Some(ms);
    }
    if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b.len() < 19
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    ms += (h * 3600 + mi * 60 + se) * 1000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        ms += frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
    }
    match &s[i..] {
        "" | "Z" | "z" => Some(ms),
        off if off.len() == 6
            && (off.starts_with('+') || off.starts_with('-'))
            && off.as_bytes()[3] == b':' =>
        {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let sign = if off.starts_with('+') { 1 } else { -1 };
            Some(ms - sign * (oh * 3600 + om * 60) * 1000)
        }
        _ => None,
    }
}

/// `time + ActiveSupport::Duration.build(seconds)`: the seconds are split into years, months,
/// weeks, days, hours, minutes and seconds using average lengths, and the calendar parts are
/// added calendar-wise (month ends clamp), so the result is not `time + seconds` in general.
pub fn add_calendar_duration(ms: i64, seconds: i64) -> i64 {
    const YEAR: i64 = 31_556_952;
    const MONTH: i64 = 2_629_746;
    let sign = seconds.signum();
    let mut rem = seconds.abs();
    let years = rem / YEAR;
    rem %= YEAR;
    let months = rem / MONTH;
    rem %= MONTH;
    let (days, ms_of_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (mut y, mut mo, d) = civil_from_days(days);
    let total_months = y * 12 + (mo as i64 - 1) + sign * (years * 12 + months);
    y = total_months.div_euclid(12);
    mo = (total_months.rem_euclid(12) + 1) as u32;
    let d = d.min(days_in_month(y, mo));
    // Weeks, days, hours, minutes and seconds are all fixed lengths once the months are applied.
    let ms = days_from_civil(y, mo, d) as i128 * DAY_MS as i128
        + ms_of_day as i128
        + (sign * rem) as i128 * 1000;
    ms.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_duration_matches_keygen_examples() {
        let t = parse_time("2023-10-31T15:32:33.468Z").unwrap();
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 31_536_000)),
            "2024-10-30T20:12:27.468Z"
        );
        let t = parse_time("2022-10-16T14:52:48.000Z").unwrap();
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 2_629_746)),
            "2022-11-16T14:52:48.000Z"
        );
        assert_eq!(
            rfc3339_ms(add_calendar_duration(t, 31_556_952)),
            "2023-10-16T14:52:48.000Z"
        );
        assert_eq!(add_calendar_duration(t, 2_592_000) - t, 2_592_000_000);
    }

    #[test]
    fn formats() {
        let t = parse_time("2022-10-16T14:52:48Z").unwrap();
        assert_eq!(http_date(t), "Sun, 16 Oct 2022 14:52:48 GMT");
        assert_eq!(parse_time("2022-10-16T16:52:48.5+02:00"), Some(t + 500));
        assert!(is_uuid(&uuid_v4()));
        assert_eq!(percent_decode("a%2Fb+c%zz", true), "a/b c%zz");
    }
}
