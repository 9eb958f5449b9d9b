//! iCalendar (RFC 5545) feeds: events written with escaped text, folded lines and UTC times.

use chrono::{DateTime, Utc};

/// One event of a feed.
#[derive(Clone, Debug)]
pub struct Event {
    /// Stable across requests, so calendars update the event instead of adding another.
    pub uid: String,
    /// When the event was first published; stable too.
    pub stamp: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub cancelled: bool,
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Text as a property value: backslash, semicolon, comma and line breaks escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets without splitting a character, ended by CRLF.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// A whole calendar named `name`.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Alveole//Pickups//FR");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", text(&e.uid)));
        line(&mut out, &format!("DTSTAMP:{}", time(e.stamp)));
        line(&mut out, &format!("DTSTART:{}", time(e.start)));
        line(&mut out, &format!("DTEND:{}", time(e.end)));
        line(&mut out, &format!("SUMMARY:{}", text(&e.summary)));
        if let Some(l) = &e.location {
            line(&mut out, &format!("LOCATION:{}", text(l)));
        }
        if let Some(d) = &e.description {
            line(&mut out, &format!("DESCRIPTION:{}", text(d)));
        }
        if let Some(u) = &e.url {
            line(&mut out, &format!("URL:{u}"));
        }
        line(
            &mut out,
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
        );
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_is_escaped_and_long_lines_are_folded_at_75_octets() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 3, 16, 30, 0)
            .single()
            .expect("a time");
        let long = "Halle aux légumes, entrée côté rue; ".repeat(5);
        let cal = calendar(
            "Ruche, Tours",
            &[Event {
                uid: "pickup-7@alveole.test".into(),
                stamp: at,
                start: at,
                end: at + chrono::Duration::hours(2),
                summary: "Distribution\nsemaine 49".into(),
                location: Some(long.clone()),
                description: None,
                url: Some("https://alveole.test/hives/1".into()),
                cancelled: false,
            }],
        );
        assert!(cal.starts_with("BEGIN:VCALENDAR\r\n") && cal.ends_with("END:VCALENDAR\r\n"));
        assert!(cal.contains("X-WR-CALNAME:Ruche\\, Tours\r\n"));
        assert!(cal.contains("SUMMARY:Distribution\\nsemaine 49\r\n"));
        assert!(cal.contains("DTSTART:20261203T163000Z\r\n"));
        for l in cal.split("\r\n") {
            assert!(l.len() <= 75, "{l}");
        }
        // Unfolded, the location reads back whole.
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("LOCATION:{}", text(&long))));
    }
}
