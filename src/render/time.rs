//! Dates as readers see them: stored in UTC, shown in the blog's time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "26 November 2026" in the blog's time zone.
pub fn display_date(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%-d %B %Y").to_string()
}

/// RFC 3339 with the blog's offset, for `<time datetime>` and OpenGraph.
pub fn iso(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// English month names, for archive headings.
pub fn month_name(month: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_follow_the_blog_time_zone() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 30, 23, 30, 0)
            .single()
            .expect("valid");
        assert_eq!(display_date(at, chrono_tz::UTC), "30 November 2026");
        assert_eq!(
            display_date(at, chrono_tz::Europe::Stockholm),
            "1 December 2026"
        );
        assert_eq!(
            iso(at, chrono_tz::Europe::Stockholm),
            "2026-12-01T00:30:00+01:00"
        );
    }
}
