//! Blocks: who may not talk to the blog (an actor, or a server with its
//! subdomains), and importing a server blocklist as Mastodon exports it
//! (`Moderation → Federation → Export`), with a preview of what the import
//! would do before it does it.

use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::models::block::{self, Kind};

/// The longest blocklist taken, in lines.
pub const MAX_IMPORT_LINES: usize = 20_000;

/// What importing one line would do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Planned {
    Block {
        domain: String,
        reason: Option<String>,
    },
    AlreadyBlocked {
        domain: String,
    },
    /// Left out, with why.
    Skip {
        line: usize,
        text: String,
        why: String,
    },
}

/// Reads a Mastodon domain blocklist: its CSV export
/// (`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`,
/// also without the `#`), or one domain per line. `suspend` becomes a block;
/// `silence` (limited, which fedblog does not have) only when
/// `include_limited`; `noop` never.
pub fn parse_blocklist(text: &str, include_limited: bool) -> Result<Vec<Planned>, String> {
    let mut planned = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if n >= MAX_IMPORT_LINES {
            return Err(format!("the list is longer than {MAX_IMPORT_LINES} lines"));
        }
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let fields = csv_fields(line);
        let first = fields.first().map(String::as_str).unwrap_or_default();
        if n == 0 && matches!(first.trim_start_matches('#'), "domain") {
            continue;
        }
        let skip = |why: &str| Planned::Skip {
            line: n + 1,
            text: line.chars().take(120).collect(),
            why: why.to_string(),
        };
        if first.starts_with('#') {
            continue;
        }
        let severity = fields.get(1).map(|s| s.trim()).unwrap_or("suspend");
        match severity {
            "suspend" | "" => {}
            "silence" if include_limited => {}
            "silence" => {
                planned.push(skip("limited (silence) in the list, not blocked"));
                continue;
            }
            "noop" => {
                planned.push(skip("no action (noop) in the list"));
                continue;
            }
            other => {
                planned.push(skip(&format!("unknown severity {other:?}")));
                continue;
            }
        }
        let domain = match block::parse_domain(first) {
            Ok(domain) if !domain.contains('*') => domain,
            _ => {
                planned.push(skip("not a domain"));
                continue;
            }
        };
        if !seen.insert(domain.clone()) {
            continue;
        }
        let reason = fields
            .get(4)
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        planned.push(Planned::Block { domain, reason });
    }
    Ok(planned)
}

/// One CSV line's fields, with `"quoted, fields"` and `""` inside them.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Marks what is blocked already, so the preview says so.
pub async fn plan(
    conn: &mut AsyncPgConnection,
    mut planned: Vec<Planned>,
) -> Result<Vec<Planned>, DieselError> {
    let existing: std::collections::HashSet<String> = block::list(conn)
        .await?
        .into_iter()
        .filter(|b| b.kind == Kind::Domain)
        .map(|b| b.value)
        .collect();
    for item in &mut planned {
        if let Planned::Block { domain, .. } = item
            && existing.contains(domain.as_str())
        {
            *item = Planned::AlreadyBlocked {
                domain: std::mem::take(domain),
            };
        }
    }
    Ok(planned)
}

/// Blocks every planned server at once (or none, on an error), then drops
/// the blocked followers and what was queued for them; how many were new.
pub async fn import(
    conn: &mut AsyncPgConnection,
    planned: &[Planned],
) -> Result<usize, DieselError> {
    conn.transaction::<_, DieselError, _>(async |conn| {
        let mut added = 0;
        for item in planned {
            if let Planned::Block { domain, reason } = item
                && block::add(conn, Kind::Domain, domain, reason.as_deref()).await?
            {
                added += 1;
            }
        }
        block::apply(conn).await?;
        Ok(added)
    })
    .await
}

/// Blocks one actor or server (and applies it) in one transaction; false
/// when it was blocked already.
pub async fn add(
    conn: &mut AsyncPgConnection,
    kind: Kind,
    value: &str,
    reason: Option<&str>,
) -> Result<bool, DieselError> {
    conn.transaction::<_, DieselError, _>(async |conn| {
        let added = block::add(conn, kind, value, reason).await?;
        block::apply(conn).await?;
        Ok(added)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodons_export_is_read_with_its_severities_and_quoted_comments() {
        let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                   spam.example,suspend,true,true,\"Spam, and lots of it\",false\n\
                   Loud.Example,silence,false,false,,false\n\
                   fine.example,noop,false,false,,false\n\
                   spam.example,suspend,true,true,,false\n\
                   not a domain,suspend,,,,\n\
                   odd.example,weird,,,,\n";
        let planned = parse_blocklist(csv, false).expect("read");
        assert_eq!(
            planned[0],
            Planned::Block {
                domain: "spam.example".into(),
                reason: Some("Spam, and lots of it".into())
            }
        );
        assert!(
            matches!(&planned[1], Planned::Skip { line: 3, why, .. } if why.contains("silence"))
        );
        assert!(matches!(&planned[2], Planned::Skip { why, .. } if why.contains("noop")));
        assert!(matches!(&planned[3], Planned::Skip { line: 6, why, .. } if why == "not a domain"));
        assert!(
            matches!(&planned[4], Planned::Skip { why, .. } if why.contains("unknown severity"))
        );
        assert_eq!(planned.len(), 5, "the second spam.example is the first");

        let with_limited = parse_blocklist(csv, true).expect("read");
        assert_eq!(
            with_limited[1],
            Planned::Block {
                domain: "loud.example".into(),
                reason: None
            }
        );
        let plain = parse_blocklist("a.example\nb.example\n", false).expect("read");
        assert_eq!(plain.len(), 2);
    }
}
