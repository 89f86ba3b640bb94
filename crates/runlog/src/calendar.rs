//! Dates from times: the proleptic Gregorian calendar in UTC, for the
//! command line's tables and the server's ISO timestamps (no time-zone
//! database needed).

/// The UTC date (year, month 1-12, day 1-31) `days` after 1970-01-01
/// (negative: before it).
///
/// ```
/// assert_eq!(runlog::calendar::civil_date(0), (1970, 1, 1));
/// assert_eq!(runlog::calendar::civil_date(11_016), (2000, 2, 29));
/// assert_eq!(runlog::calendar::civil_date(-1), (1969, 12, 31));
/// ```
pub fn civil_date(days: i64) -> (i64, u32, u32) {
    // Counted in 400-year eras of 146,097 days from 0000-03-01, so that
    // the leap day ends each year (Howard Hinnant's method).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
