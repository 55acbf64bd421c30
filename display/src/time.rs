//! Times as people read them: in the reader's time zone, with the zone named
//! (`2026-12-08 09:00 KST`). Stored times stay UTC; this is the one place they are turned into
//! a reader's wall clock and back (pages, the alert's snooze form, exports' human columns).
//!
//! Written without chrono's `format` machinery (this crate is also in the browser's wasm).

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};
use chrono_tz::{OffsetName, Tz};

/// The zone of readers who chose none, unless `config/display.yml` says otherwise.
pub const DEFAULT_ZONE: &str = "Asia/Seoul";

/// An IANA time zone (`Asia/Seoul`, `America/New_York`, `UTC`), daylight saving included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

impl Default for Zone {
    /// [`DEFAULT_ZONE`].
    fn default() -> Self {
        Zone(chrono_tz::Asia::Seoul)
    }
}

impl Zone {
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The zone of an IANA name (exact spelling, as `Asia/Seoul`); `None` for anything else.
    pub fn parse(name: &str) -> Option<Zone> {
        name.trim().parse::<Tz>().ok().map(Zone)
    }

    /// Its IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Every zone people may choose, by IANA name (for the settings form).
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
    }

    /// The zone's short name at `at`: `KST`, `EST` or `EDT`; where the database has none, the
    /// offset (`+04`), and `UTC` for UTC.
    pub fn abbreviation(self, at: &DateTime<Utc>) -> String {
        let offset = self.0.offset_from_utc_datetime(&at.naive_utc());
        match offset.abbreviation() {
            Some(a) => a.to_string(),
            None => {
                let secs = offset.fix().local_minus_utc();
                let (sign, secs) = if secs < 0 { ('-', -secs) } else { ('+', secs) };
                if secs % 3600 == 0 {
                    format!("{sign}{:02}", secs / 3600)
                } else {
                    format!("{sign}{:02}{:02}", secs / 3600, secs % 3600 / 60)
                }
            }
        }
    }

    /// The reader's wall clock at `at`.
    pub fn local(self, at: &DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.0).naive_local()
    }

    /// `YYYY-MM-DD HH:MM ZZZ`: the wall clock and the zone's short name.
    pub fn minute(self, at: &DateTime<Utc>) -> String {
        let l = self.local(at);
        format!(
            "{} {:02}:{:02} {}",
            ymd(l.date()),
            l.hour(),
            l.minute(),
            self.abbreviation(at)
        )
    }

    /// `YYYY-MM-DD`: the reader's date at `at`.
    pub fn day(self, at: &DateTime<Utc>) -> String {
        ymd(self.local(at).date())
    }

    /// `YYYY-MM-DDTHH:MM`, the value of an `<input type="datetime-local">` in this zone.
    pub fn input_value(self, at: &DateTime<Utc>) -> String {
        let l = self.local(at);
        format!("{}T{:02}:{:02}", ymd(l.date()), l.hour(), l.minute())
    }

    /// The instant the wall clock of this zone shows `local`. A time that falls twice (the hour
    /// repeated when daylight saving ends) is its first; a time that never shows (the hour
    /// skipped when it starts) is read with the offset before the change (02:30 EST, which is
    /// 03:30 EDT), as a clock not yet moved on would.
    pub fn instant(self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                // Gaps are at most a few hours: find the change, then take the offset before it.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += Duration::minutes(1);
                    if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                        self.0.from_local_datetime(&probe)
                    {
                        let before = t.with_timezone(&Utc) - Duration::hours(24);
                        let offset = self
                            .0
                            .offset_from_utc_datetime(&before.naive_utc())
                            .fix()
                            .local_minus_utc();
                        return (local - Duration::seconds(i64::from(offset))).and_utc();
                    }
                }
                local.and_utc()
            }
        }
    }

    /// A time as people type it, in this zone: `2026-12-01` (midnight), `2026-12-01T09:30` or
    /// `2026-12-01 09:30` (seconds allowed); or RFC 3339 with its own offset.
    pub fn parse_local(self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(t.with_timezone(&Utc));
        }
        for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Some(self.instant(t));
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| self.instant(d.and_time(NaiveTime::MIN)))
    }

    /// `hour`:00 of the reader's date `days` days after the date it is at `now`.
    pub fn at_hour_after(self, now: &DateTime<Utc>, days: u32, hour: u32) -> DateTime<Utc> {
        let date = self.local(now).date() + Duration::days(i64::from(days));
        let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
        self.instant(date.and_time(time))
    }

    /// Days from the reader's date at `now` to the next Monday (1–7: a Monday's is a week on).
    pub fn days_to_next_monday(self, now: &DateTime<Utc>) -> u32 {
        7 - self.local(now).weekday().num_days_from_monday()
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// As its IANA name.
impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Zone::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not an IANA time zone")))
    }
}

fn ymd(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An RFC 3339 text as the instant (tests only).
    pub(crate) fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn seoul_is_the_default_and_names_are_exact() {
        assert_eq!(Zone::default().name(), DEFAULT_ZONE);
        assert_eq!(Zone::parse(DEFAULT_ZONE), Some(Zone::default()));
        assert_eq!(
            Zone::parse(" America/New_York ").unwrap().name(),
            "America/New_York"
        );
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(Zone::parse(""), None);
        assert!(Zone::names().any(|n| n == "Europe/Berlin"));
    }

    #[test]
    fn times_show_on_the_readers_clock_with_the_zone_named() {
        let at = utc("2026-12-08T00:00:00Z");
        assert_eq!(Zone::default().minute(&at), "2026-12-08 09:00 KST");
        assert_eq!(Zone::UTC.minute(&at), "2026-12-08 00:00 UTC");
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(ny.minute(&at), "2026-12-07 19:00 EST");
        assert_eq!(ny.day(&at), "2026-12-07");
        assert_eq!(ny.input_value(&at), "2026-12-07T19:00");
        // A zone whose database has no letters: the offset.
        assert_eq!(
            Zone::parse("Asia/Kathmandu").unwrap().minute(&at),
            "2026-12-08 05:45 +0545"
        );
    }

    #[test]
    fn new_york_across_both_daylight_saving_changes_of_2026() {
        let ny = Zone::parse("America/New_York").unwrap();
        // Spring forward: 8 March 2026, 02:00 EST → 03:00 EDT.
        assert_eq!(
            ny.minute(&utc("2026-03-08T06:59:00Z")),
            "2026-03-08 01:59 EST"
        );
        assert_eq!(
            ny.minute(&utc("2026-03-08T07:00:00Z")),
            "2026-03-08 03:00 EDT"
        );
        // 02:30 never shows that day: read as 02:30 EST, the clock's 03:30 EDT.
        assert_eq!(
            ny.parse_local("2026-03-08T02:30"),
            Some(utc("2026-03-08T07:30:00Z"))
        );
        assert_eq!(
            ny.parse_local("2026-03-08T09:00"),
            Some(utc("2026-03-08T13:00:00Z"))
        );
        assert_eq!(
            ny.parse_local("2026-03-07T09:00"),
            Some(utc("2026-03-07T14:00:00Z"))
        );
        // Fall back: 1 November 2026, 02:00 EDT → 01:00 EST; 01:30 shows twice: the first.
        assert_eq!(
            ny.minute(&utc("2026-11-01T05:30:00Z")),
            "2026-11-01 01:30 EDT"
        );
        assert_eq!(
            ny.minute(&utc("2026-11-01T06:30:00Z")),
            "2026-11-01 01:30 EST"
        );
        assert_eq!(
            ny.parse_local("2026-11-01 01:30"),
            Some(utc("2026-11-01T05:30:00Z"))
        );
        assert_eq!(
            ny.parse_local("2026-11-02T09:00"),
            Some(utc("2026-11-02T14:00:00Z"))
        );
        // With an offset, the offset wins.
        assert_eq!(
            ny.parse_local("2026-12-01T09:30:00+09:00"),
            Some(utc("2026-12-01T00:30:00Z"))
        );
        assert_eq!(ny.parse_local("tomorrow"), None);
    }

    #[test]
    fn nine_oclock_tomorrow_and_next_monday_follow_the_readers_calendar() {
        let ny = Zone::parse("America/New_York").unwrap();
        // Saturday 7 March 2026, 20:00 EST: tomorrow 9:00 is Sunday, already EDT.
        let now = utc("2026-03-08T01:00:00Z");
        assert_eq!(ny.at_hour_after(&now, 1, 9), utc("2026-03-08T13:00:00Z"));
        assert_eq!(ny.days_to_next_monday(&now), 2);
        assert_eq!(ny.at_hour_after(&now, 2, 9), utc("2026-03-09T13:00:00Z"));
        // Sunday 1 November 2026, 08:00 EST (after the fall back): next Monday is tomorrow.
        let now = utc("2026-11-01T13:00:00Z");
        assert_eq!(ny.days_to_next_monday(&now), 1);
        assert_eq!(ny.at_hour_after(&now, 1, 9), utc("2026-11-02T14:00:00Z"));
        // A Monday's next Monday is a week on.
        let seoul = Zone::default();
        let monday = utc("2026-12-07T01:00:00Z"); // Monday 10:00 KST
        assert_eq!(seoul.days_to_next_monday(&monday), 7);
        assert_eq!(
            seoul.at_hour_after(&monday, 7, 9),
            utc("2026-12-14T00:00:00Z")
        );
        // Late on Sunday in UTC is already Monday in Seoul.
        let sunday_utc = utc("2026-12-06T20:00:00Z");
        assert_eq!(seoul.days_to_next_monday(&sunday_utc), 7);
        assert_eq!(Zone::UTC.days_to_next_monday(&sunday_utc), 1);
    }
}
