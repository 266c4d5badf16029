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
        $crate::cli_output::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli_output::line(format_args!($($arg)*))
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
