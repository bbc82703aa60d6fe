//! Timestamps as the database hands them back. SQLite keeps a timestamp as text, and diesel
//! reads it by trying chrono patterns in turn, parsing the pattern itself on every call: 3,000
//! instructions a value, 4% of the home page. Diesel's own layout is read here digit by digit;
//! whatever else a row holds still goes through diesel. PostgreSQL's are binary already.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;
use diesel::Connection;

use super::DbConnection;

/// A `Timestamp` column read into a `NaiveDateTime`: `#[diesel(deserialize_as = StoredTime)]`.
#[derive(diesel::deserialize::FromSqlRow)]
pub struct StoredTime(NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(time: StoredTime) -> Self {
        time.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(
        mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        if let Some(time) = parse_diesel_layout(value.read_text()) {
            return Ok(StoredTime(time));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(
        value: <Pg as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

type MultiBackend = <DbConnection as Connection>::Backend;

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(
        value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `YYYY-MM-DD HH:MM:SS`, with up to nine digits of fraction after a dot: what diesel writes
/// (`%F %T%.f`) and what SQLite's `CURRENT_TIMESTAMP` gives. `None` for anything else, an
/// impossible date included, so the caller can hand the text to diesel's own parser.
fn parse_diesel_layout(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b' ' {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let number = |at: usize, len: usize| -> Option<u32> {
        bytes[at..at + len].iter().try_fold(0u32, |sum, &byte| {
            byte.is_ascii_digit()
                .then(|| sum * 10 + u32::from(byte - b'0'))
        })
    };
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(20, digits.len())? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 2)?, number(8, 2)?)?;
    let time = NaiveTime::from_hms_nano_opt(number(11, 2)?, number(14, 2)?, number(17, 2)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_reads(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%F %T%.f").ok()
    }

    #[test]
    fn both_layouts_sqlite_holds_are_read() {
        let expected = NaiveDate::from_ymd_opt(2026, 12, 6)
            .and_then(|date| date.and_hms_micro_opt(21, 22, 51, 123_456));
        assert_eq!(parse_diesel_layout("2026-12-06 21:22:51.123456"), expected);
        assert_eq!(
            parse_diesel_layout("2026-12-06 21:22:51"),
            chrono_reads("2026-12-06 21:22:51")
        );
    }

    #[test]
    fn other_layouts_and_impossible_dates_are_left_to_diesel() {
        for text in [
            "2026-12-06T21:22:51",
            "2026-12-06 21:22:51+01:00",
            "2026-02-30 10:00:00",
            "2026-12-06 24:00:00",
            "2026-12-06 21:22:51.",
            "2026-12-06 21:22:51.1234567890",
            "2459000.5",
            "",
        ] {
            assert_eq!(parse_diesel_layout(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn every_time_diesel_writes_reads_back_the_same(seconds in 0i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let time = chrono::DateTime::from_timestamp(seconds, nanos).map(|time| time.naive_utc());
            let time = time.ok_or_else(|| TestCaseError::reject("out of range"))?;
            let text = time.format("%F %T%.f").to_string();
            prop_assert_eq!(parse_diesel_layout(&text), Some(time));
        }

        #[test]
        fn whatever_it_reads_chrono_reads_the_same(text in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?") {
            if let Some(time) = parse_diesel_layout(&text) {
                prop_assert_eq!(Some(time), chrono_reads(&text));
            }
        }
    }
}
