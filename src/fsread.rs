//! Reading the files a user points golive at (checklists, includes, check files, the
//! attestations file, reports) without trusting what they are: only regular files are
//! opened, so a FIFO or a device can neither block a run nor fill memory, and a regular
//! file is read only up to a documented size cap.

use std::io::Read;
use std::path::Path;

/// The largest checklist, check, attestations or report file golive reads: 16 MiB.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Why a user file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is a directory, not a file")]
    Directory,
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("it is larger than {} MiB (golive reads files up to that size)", MAX_INPUT_BYTES / (1024 * 1024))]
    TooLarge,
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads a whole regular file of at most `MAX_INPUT_BYTES`. The file type is checked before
/// the file is opened (a FIFO would block `open` itself), and the read stops one byte past
/// the cap, so a file that grows while it is read is refused too.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_bounded_with(path, MAX_INPUT_BYTES)
}

pub fn read_bounded_with(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path)?;
    check_type(&meta)?;
    if meta.len() > cap {
        return Err(ReadError::TooLarge);
    }
    let file = std::fs::File::open(path)?;
    // Checked again on the open file: the path may have been replaced in between.
    check_type(&file.metadata()?)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

fn check_type(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    use std::os::unix::fs::FileTypeExt;
    let ty = meta.file_type();
    if ty.is_file() {
        Ok(())
    } else if ty.is_dir() {
        Err(ReadError::Directory)
    } else if ty.is_fifo() {
        Err(ReadError::NotRegular("named pipe (FIFO)"))
    } else if ty.is_char_device() || ty.is_block_device() {
        Err(ReadError::NotRegular("device"))
    } else if ty.is_socket() {
        Err(ReadError::NotRegular("socket"))
    } else {
        Err(ReadError::NotRegular("special file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read_bounded(dir.path()), Err(ReadError::Directory)));
        assert!(matches!(read_bounded(Path::new("/dev/zero")), Err(ReadError::NotRegular("device"))));
        let fifo = dir.path().join("pipe");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(matches!(read_bounded(&fifo), Err(ReadError::NotRegular(_))));
        assert!(read_bounded(&dir.path().join("missing")).unwrap_err().is_not_found());
    }

    #[test]
    fn reads_up_to_the_cap_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded_with(&path, 5).unwrap(), b"12345");
        assert!(matches!(read_bounded_with(&path, 4), Err(ReadError::TooLarge)));
    }
}
