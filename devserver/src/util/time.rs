//! Civil-calendar time in milliseconds since the epoch: RFC 3339 and HTTP dates, ISO-8601
//! parsing as Keygen accepts it, and ActiveSupport's calendar-wise duration arithmetic.

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

/// Appends `n` in exactly `width` decimal digits (`n` is below `10^width`).
fn push_digits(out: &mut String, n: i64, width: u32) {
    let mut div = 10i64.pow(width - 1);
    while div > 0 {
        out.push((b'0' + (n / div % 10) as u8) as char);
        div /= 10;
    }
}

/// `2022-10-16T14:52:48.000Z`
pub fn rfc3339_ms(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, mo, d) = civil_from_days(days);
    let s = rem / 1000;
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            s / 3600,
            s / 60 % 60,
            s % 60,
            rem % 1000
        );
    }
    // Written digit by digit: this runs several times for every answer.
    let mut out = String::with_capacity(24);
    for (n, width, sep) in [
        (y, 4, '-'),
        (mo as i64, 2, '-'),
        (d as i64, 2, 'T'),
        (s / 3600, 2, ':'),
        (s / 60 % 60, 2, ':'),
        (s % 60, 2, '.'),
        (rem % 1000, 3, 'Z'),
    ] {
        push_digits(&mut out, n, width);
        out.push(sep);
    }
    out
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
