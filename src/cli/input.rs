//! What a command reads besides its arguments: a body from a file or
//! standard input.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, bail};

/// The Markdown body: from FILE, from standard input for "-" or when input is piped.
pub fn read_body(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let from_stdin = || -> anyhow::Result<String> {
        let mut body = String::new();
        std::io::stdin()
            .read_to_string(&mut body)
            .context("reading the body from standard input (it must be UTF-8)")?;
        Ok(body)
    };
    match file {
        Some(path) if path.as_os_str() == "-" => from_stdin(),
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8 text", path.display()))
        }
        None if std::io::stdin().is_terminal() => {
            bail!("give the Markdown body with --file FILE, or pipe it in on standard input")
        }
        None => from_stdin(),
    }
}

/// A text given inline (`--text`), or else read as [`read_body`] reads.
pub fn text_of(text: Option<String>, file: Option<&PathBuf>) -> anyhow::Result<String> {
    match text {
        Some(text) => Ok(text),
        None => read_body(file),
    }
}
