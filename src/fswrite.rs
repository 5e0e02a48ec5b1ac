//! Writing the files golive owns (reports, signed reports, the attestations file) so that no
//! reader ever sees half a file and no concurrent writer loses another's update: a new file
//! is written beside the target and renamed over it, and a read-modify-write holds an
//! exclusive lock on the target's directory ([`lock_dir_of`]) from the read to the rename.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a writer waits for another to finish with the same directory.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot lock {}: {source}", dir.display())]
    Lock { dir: PathBuf, source: std::io::Error },
    #[error("another golive has been writing in {} for {}s; try again", dir.display(), LOCK_WAIT.as_secs())]
    Busy { dir: PathBuf },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The file a path names, following symbolic links, so a link is kept and its target
/// replaced. A path that does not exist yet is itself.
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An exclusive lock on a directory, held until dropped. Every golive writer that reads a
/// file, changes it and writes it back (`sign`, `attest`) takes it first, so two of them
/// never work from the same old content. (`flock` on the directory: no lock file is left.)
pub struct DirLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

/// Locks the directory that holds `path` (the real one, through symbolic links), waiting up
/// to [`LOCK_WAIT`] for another writer to finish.
pub fn lock_dir_of(path: &Path) -> Result<DirLock, WriteError> {
    use nix::fcntl::{Flock, FlockArg};
    let dir = dir_of(&resolved(path));
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    let mut file = std::fs::File::open(&dir).map_err(|source| WriteError::Lock { dir: dir.clone(), source })?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(DirLock { _lock: lock }),
            Err((back, nix::errno::Errno::EWOULDBLOCK | nix::errno::Errno::EINTR)) => {
                if started.elapsed() > LOCK_WAIT {
                    return Err(WriteError::Busy { dir });
                }
                file = back;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err((_, errno)) => return Err(WriteError::Lock { dir, source: errno.into() }),
        }
    }
}

/// Temporary files being written, removed by [`discard_temp_files`] when golive must exit
/// at once (a second signal).
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes every temporary file golive is writing now.
pub fn discard_temp_files() {
    for path in pending().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Replaces the file at `path` (through symbolic links) with `bytes` in one step: a reader
/// sees the old content or the new, never a mix. The new file keeps the old one's
/// permissions; a new file gets the usual ones (0666 less the umask). A path that is not a
/// regular file (`/dev/stdout`, `/dev/null`, a FIFO) is written to as it is, never replaced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomically_with(path, |out| out.write_all(bytes)).map(|_| ())
}

/// [`write_atomically`], the content written by `write` as it is produced (through a
/// buffer), so a large report is never held whole in memory. Returns the number of bytes
/// written. When `write` fails, the file at `path` is left as it was.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64, WriteError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let target = resolved(path);
    if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
        let file = std::fs::OpenOptions::new().write(true).truncate(true).open(&target)?;
        let mut out = Counting::new(file);
        write(&mut out)?;
        out.flush()?;
        return Ok(out.written);
    }
    let dir = dir_of(&target);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.golive-tmp-{}-{n}", std::process::id()));
    let mode = std::fs::metadata(&target).ok().map(|m| m.permissions().mode() & 0o7777);
    pending().push(tmp.clone());
    let written = (|| {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode.unwrap_or(0o666)).open(&tmp)?;
        if let Some(mode) = mode {
            // `mode` at creation is reduced by the umask; the old file's mode is kept exactly.
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        let mut out = Counting::new(file);
        write(&mut out)?;
        out.flush()?;
        let bytes = out.written;
        let file = out.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        Ok::<u64, std::io::Error>(bytes)
    })();
    pending().retain(|p| p != &tmp);
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    // Make the rename itself durable; a directory that cannot be synced is not an error.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(bytes)
}

/// A buffered file writer that counts the bytes it is given.
struct Counting {
    inner: std::io::BufWriter<std::fs::File>,
    written: u64,
}

impl Counting {
    fn new(file: std::fs::File) -> Self {
        Counting { inner: std::io::BufWriter::with_capacity(64 * 1024, file), written: 0 }
    }
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_link_keeps_pointing_at_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn a_streamed_file_replaces_the_old_one_only_when_every_byte_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let failed = write_atomically_with(&path, |out| {
            out.write_all(b"half a rep")?;
            Err(std::io::Error::other("the serialiser gave up"))
        });
        assert_eq!(failed.unwrap_err().to_string(), "the serialiser gave up");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "the old file is kept");
        let big = "x".repeat(200_000);
        let bytes = write_atomically_with(&path, |out| {
            for chunk in big.as_bytes().chunks(7) {
                out.write_all(chunk)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(bytes, 200_000);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), big);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
    }

    #[test]
    fn what_is_not_a_regular_file_is_written_to_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomically(&fifo, b"report").unwrap();
        assert_eq!(reader.join().unwrap(), b"report");
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&std::fs::metadata(&fifo).unwrap().file_type()));
    }

    #[test]
    fn a_second_lock_on_a_directory_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        let first = lock_dir_of(&file).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let path = file.clone();
        let waiter = std::thread::spawn(move || {
            let _second = lock_dir_of(&path).unwrap();
            tx.send(()).unwrap();
        });
        // While the first lock is held the second cannot be taken (a try, not a timing).
        assert!(rx.try_recv().is_err());
        assert!(
            nix::fcntl::Flock::lock(
                std::fs::File::open(dir.path()).unwrap(),
                nix::fcntl::FlockArg::LockExclusiveNonblock
            )
            .is_err(),
            "the directory is locked"
        );
        drop(first);
        rx.recv().unwrap();
        waiter.join().unwrap();
    }
}
