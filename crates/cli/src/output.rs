//! Writing to standard output without panicking: `println!` panics when the reader has gone
//! (`candor client list | head -1`). A closed pipe ends the output quietly; other write errors
//! are reported like any error.

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout and flushes it.
pub(crate) fn stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
