//! `[checklist] checks = ["DIR"]` reads DIR/AREA/NAME.toml and nothing more: symlink loops,
//! the whole file system, FIFOs and devices named like check files, over-large files and
//! over-full directories all end, with the checks found or a clear error. Real directories,
//! symlinks and FIFOs made here; the library API and the `golive` binary.

use crate::support as common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{Workdir, stderr, stdout};
use golive::checklist::catalogue::{Catalogue, CatalogueDirError, CheckSource, MAX_DIR_ENTRIES};
use golive::fsread::ReadError;

const CHECK: &str = "[check]\nprobe = \"tcp\"\ntitle = \"reachable\"\naddress = \"127.0.0.1:1\"\n";

fn team_ids(catalogue: &Catalogue) -> Vec<String> {
    catalogue.ids().filter(|id| id.starts_with("team.") || id.starts_with("loop")).map(str::to_string).collect()
}

#[test]
fn a_directory_with_two_symlinks_to_itself_is_read_once() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    w.write("catalogue/team/own.toml", CHECK);
    symlink(&dir, dir.join("loop-a")).unwrap();
    symlink(".", dir.join("loop-b")).unwrap();
    // And an area that links back to the root from below.
    symlink("..", dir.join("team/up")).unwrap();
    let mut catalogue = Catalogue::builtin();
    assert_eq!(catalogue.add_dir(&dir).unwrap(), 1);
    assert_eq!(team_ids(&catalogue), ["team.own"]);
}

#[test]
fn an_area_linked_twice_is_read_under_its_first_name() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    w.write("catalogue/team/own.toml", CHECK);
    symlink(dir.join("team"), dir.join("zz-team")).unwrap();
    let mut catalogue = Catalogue::builtin();
    assert_eq!(catalogue.add_dir(&dir).unwrap(), 1);
    assert!(catalogue.get("zz-team.own").is_none());
}

#[test]
fn only_area_and_name_depth_is_read() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    w.write("catalogue/team/own.toml", CHECK);
    w.write("catalogue/team/deeper/nested.toml", CHECK);
    w.write("catalogue/loose.toml", CHECK);
    let mut catalogue = Catalogue::builtin();
    assert_eq!(catalogue.add_dir(&dir).unwrap(), 1);
    assert_eq!(team_ids(&catalogue), ["team.own"]);
}

#[test]
fn the_root_directory_ends() {
    let mut catalogue = Catalogue::builtin();
    match catalogue.add_dir(Path::new("/")) {
        Ok(added) => assert!(added < MAX_DIR_ENTRIES),
        Err(e) => assert!(matches!(e, CatalogueDirError::TooManyEntries), "{e}"),
    }
}

#[test]
fn validate_with_the_root_as_checks_ends() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[checklist]\nchecks = [\"/\"]\n\n[[item]]\nid = \"m\"\nprobe = \"manual\"\nowner = \"ops\"\n",
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(2), "{code:?}: {}{}", stdout(&out), stderr(&out));
    if code == Some(2) {
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(text.contains("cannot read check directory /"), "{text}");
    }
}

#[test]
fn a_fifo_named_like_a_check_file_is_skipped_unopened() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    w.write("catalogue/team/own.toml", CHECK);
    nix::unistd::mkfifo(&dir.join("team/pipe.toml"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    symlink("/dev/zero", dir.join("team/zero.toml")).unwrap();
    let mut catalogue = Catalogue::builtin();
    assert_eq!(catalogue.add_dir(&dir).unwrap(), 1);
    assert_eq!(team_ids(&catalogue), ["team.own"]);

    // Through the binary: an item using it is told there is no such check; nothing blocks.
    w.write(
        "golive.toml",
        "[checklist]\nchecks = [\"catalogue\"]\n\n[[item]]\nid = \"p\"\nuse = \"team.pipe\"\n\n[[item]]\nid = \"o\"\nuse = \"team.own\"\n",
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}{}", stdout(&out), stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("no check `team.pipe`"), "{text}");
    assert!(text.contains("invalid: 1 error"), "only the FIFO's item is wrong: {text}");
}

#[test]
fn a_check_file_is_read_up_to_the_size_cap() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    let big = w.write("catalogue/team/big.toml", "");
    std::fs::File::options().write(true).open(&big).unwrap().set_len(17 * 1024 * 1024).unwrap();
    let mut catalogue = Catalogue::builtin();
    assert_eq!(catalogue.add_dir(&dir).unwrap(), 1);
    let source = catalogue.get("team.big").unwrap();
    assert_eq!(source, &CheckSource::File(big));
    assert!(matches!(source.read(), Err(ReadError::TooLarge)));
}

#[test]
fn an_over_full_directory_is_refused() {
    let w = Workdir::new();
    let dir = w.path("catalogue");
    std::fs::create_dir_all(dir.join("team")).unwrap();
    for n in 0..MAX_DIR_ENTRIES {
        std::fs::File::create(dir.join(format!("team/c{n}.toml"))).unwrap();
    }
    let mut catalogue = Catalogue::builtin();
    let e = catalogue.add_dir(&dir).unwrap_err();
    assert!(matches!(e, CatalogueDirError::TooManyEntries), "{e}");
    assert!(e.to_string().contains("more than 10000 entries"), "{e}");

    // One fewer (the area folder counts too) is read.
    std::fs::remove_file(dir.join("team/c0.toml")).unwrap();
    assert_eq!(Catalogue::builtin().add_dir(&dir).unwrap(), MAX_DIR_ENTRIES - 1);
}

#[test]
fn a_missing_or_plain_file_directory_is_an_error() {
    let w = Workdir::new();
    let file = w.write("not-a-dir", "");
    let mut catalogue = Catalogue::builtin();
    assert!(matches!(catalogue.add_dir(&file), Err(CatalogueDirError::NotADirectory)));
    let e = catalogue.add_dir(&w.path("missing")).unwrap_err();
    assert!(matches!(&e, CatalogueDirError::Io(io) if io.kind() == std::io::ErrorKind::NotFound), "{e}");
}
