//! A text buffer that spills into a writer: the Markdown and HTML reports are written with
//! `push_str` and `write!` as if into a `String`, and whatever has gathered goes to the
//! output each time it reaches [`SPILL_AT`] bytes, so a report of any size holds at most
//! that much (plus one piece) in memory.

use std::io::Write;

/// What `write` writes, gathered in memory: the `render` of a format that is written as it
/// is produced.
pub(super) fn in_memory(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing into memory cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// How much text gathers before it is written out.
const SPILL_AT: usize = 64 * 1024;

pub(super) struct Spill<'w> {
    buf: String,
    out: &'w mut dyn Write,
    /// The first write error; once set, nothing more is written.
    failed: Option<std::io::Error>,
}

impl<'w> Spill<'w> {
    pub(super) fn new(out: &'w mut dyn Write) -> Self {
        Spill { buf: String::with_capacity(SPILL_AT + 4096), out, failed: None }
    }

    pub(super) fn push_str(&mut self, text: &str) {
        self.buf.push_str(text);
        if self.buf.len() >= SPILL_AT {
            self.spill();
        }
    }

    pub(super) fn push(&mut self, c: char) {
        self.buf.push(c);
        if self.buf.len() >= SPILL_AT {
            self.spill();
        }
    }

    fn spill(&mut self) {
        if self.failed.is_none()
            && let Err(e) = self.out.write_all(self.buf.as_bytes())
        {
            self.failed = Some(e);
        }
        self.buf.clear();
    }

    /// Writes what is left; the first error of any write.
    pub(super) fn finish(mut self) -> std::io::Result<()> {
        self.spill();
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl std::fmt::Write for Spill<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes a few bytes, then fails.
    struct Full(usize);

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_comes_out_whole_and_in_order_and_a_write_error_is_returned() {
        let mut out = Vec::new();
        let mut spill = Spill::new(&mut out);
        let mut expected = String::new();
        for n in 0..20_000 {
            let piece = format!("<tr>{n}</tr>\n");
            spill.push_str(&piece);
            spill.push('.');
            expected.push_str(&piece);
            expected.push('.');
        }
        assert!(spill.buf.len() < SPILL_AT, "the buffer spilled on the way");
        spill.finish().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);

        let mut full = Full(10);
        let mut spill = Spill::new(&mut full);
        for _ in 0..10_000 {
            spill.push_str("0123456789");
        }
        assert_eq!(spill.finish().unwrap_err().kind(), std::io::ErrorKind::StorageFull);
    }
}
