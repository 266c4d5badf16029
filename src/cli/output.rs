//! The CLI's standard output. A reader that goes away early (`fedblog post
//! list | head`) is not an error: the rest of the output is dropped and the
//! command finishes its work (and its clean-up) as usual, as Unix tools do.
//! Any other failure to write is reported once, on stderr.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints one line of a command's output (the CLI's `println!`).
macro_rules! out {
    () => {
        $crate::cli::output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))
    };
}
pub(crate) use out;

pub fn line(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"));
    if let Err(e) = written {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("error: writing the output failed: {e}");
        }
    }
}

/// Text from other servers as a terminal may show it: no control characters
/// (escape sequences could rewrite the screen) and no bidirectional overrides.
pub fn terminal_safe(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            (!c.is_control() || c == '\n')
                && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}
