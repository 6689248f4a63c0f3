//! Power cuts: the hub runs on `lazyfs` (tests/powercut/lazyfs.py), a FUSE filesystem that
//! keeps in memory every write not yet made durable and loses it when the "power" is cut (the
//! idea of Jepsen's LazyFS). While phones ask and vote and a moderator approves, the power is cut
//! again and again: the filesystem freezes (no operation completes from then on), the hub is
//! killed, everything not synced is dropped, then the filesystem is mounted again from what was
//! durable and the hub restarted on it. After every cut: `PRAGMA integrity_check` is ok, and every
//! ask, vote and approval whose `ok` reached its client before the cut is there.
//!
//! The cuts take turns at these moments (`PLANS`): a random one; a fsync of the WAL frozen before
//! it makes anything durable (a commit caught halfway); a fsync of the WAL frozen after it made
//! the commit durable but before it returns (committed, never acknowledged); and, with a random
//! half of the unsynced blocks reaching the disk anyway (the kernel's background writeback), a
//! random moment, a commit caught halfway, and a checkpoint caught halfway (the WAL copied into
//! the database file, not yet synced there).
//!
//! The filesystem has its own tests here (`lazyfs_*`), which fail when it keeps too much or too
//! little, lets an operation complete after a freeze, or cuts elsewhere than armed.
//!
//! Quick profile: 50 cuts. Soak (`TANYA_SOAK=1`): 200 cuts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::ledger::{Acked, Ledger, Losses, Pace};
use crate::faults::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// the filesystem
// ---------------------------------------------------------------------------------------------

const LAZYFS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/powercut/lazyfs.py");
const PROBE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/powercut/sqlite_probe.py"
);
/// Debian's interpreter, where `python3-pyfuse3` is installed (not a `python3` earlier in PATH).
const PYTHON: &str = "/usr/bin/python3";
const NEEDS: &str = "the power-cut tests need FUSE (/dev/fuse), fusermount3 and Debian's pyfuse3: \
                     `apt-get install fuse3 python3-pyfuse3` (tests/run.sh installs them)";

/// Fails with a message naming what to install when FUSE or pyfuse3 is missing.
fn require_fuse() {
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is missing: {NEEDS}"
    );
    match Command::new(PYTHON)
        .args(["-c", "import pyfuse3, trio"])
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "{PYTHON} cannot import pyfuse3: {}: {NEEDS}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("{PYTHON}: {e}: {NEEDS}"),
    }
    match Command::new("fusermount3").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        other => panic!("fusermount3 does not run ({other:?}): {NEEDS}"),
    }
}

/// A mounted lazyfs: BACKING (what is durable) seen at MOUNT, with what is not yet durable in
/// the filesystem process's memory. Dropping it without a cut drops that too and unmounts.
struct LazyFs {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    mount: PathBuf,
    live: bool,
}

/// What a cut dropped.
#[derive(Debug, Default)]
struct Cut {
    /// `OP@FILE` of each operation that was waiting when the power went.
    blocked: Vec<String>,
    /// (file, unsynced 4 KiB blocks dropped, unsynced blocks written back before the cut).
    unsynced: Vec<(String, u64, u64)>,
    /// Directories whose listing had changes not yet synced.
    pending_names: u64,
}

impl Cut {
    fn parse(line: &str) -> Self {
        let mut cut = Cut::default();
        for field in line.split_whitespace().skip(1) {
            let (k, v) = field.split_once('=').unwrap_or((field, ""));
            let items = v.split(',').filter(|s| !s.is_empty() && *s != "-");
            match k {
                "blocked" => cut.blocked = items.map(String::from).collect(),
                "unsynced" => {
                    cut.unsynced = items
                        .map(|s| {
                            let mut p = s.rsplitn(3, ':');
                            let kept = p.next().unwrap().parse().unwrap();
                            let dropped = p.next().unwrap().parse().unwrap();
                            (p.next().unwrap().to_string(), dropped, kept)
                        })
                        .collect()
                }
                "pending_names" => cut.pending_names = v.parse().unwrap(),
                _ => {}
            }
        }
        cut
    }

    /// Unsynced blocks dropped from files whose name ends in `suffix`.
    fn dropped(&self, suffix: &str) -> u64 {
        self.unsynced
            .iter()
            .filter(|(f, _, _)| f.ends_with(suffix))
            .map(|(_, d, _)| d)
            .sum()
    }

    /// Unsynced blocks of every file written back before the cut.
    fn kept(&self) -> u64 {
        self.unsynced.iter().map(|(_, _, k)| k).sum()
    }

    /// Whether an operation on a file whose name ends in `suffix` was waiting at the cut.
    fn blocked_on(&self, suffix: &str) -> bool {
        self.blocked.iter().any(|b| b.ends_with(suffix))
    }
}

impl LazyFs {
    /// Mounts BACKING at MOUNT (an empty folder) and waits until the filesystem answers.
    fn mount(backing: &Path, mount: &Path) -> Self {
        let mut child = Command::new(PYTHON)
            .arg(LAZYFS)
            .arg(backing)
            .arg(mount)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {LAZYFS}: {e}: {NEEDS}"));
        let stdin = child.stdin.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let keep = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        let fs = Self {
            child,
            stdin,
            lines,
            stderr,
            mount: mount.to_path_buf(),
            live: true,
        };
        let first = fs.line(Duration::from_secs(20));
        assert_eq!(first.as_deref(), Some("ready"), "{}; {NEEDS}", fs.trouble());
        fs
    }

    /// What the filesystem said on stderr, for a failure message.
    fn trouble(&self) -> String {
        format!(
            "lazyfs at {}, its stderr: {:?}",
            self.mount.display(),
            self.stderr.lock().unwrap()
        )
    }

    /// The next line the filesystem prints, within `wait`.
    fn line(&self, wait: Duration) -> Option<String> {
        match self.lines.recv_timeout(wait) {
            Ok(l) => Some(l),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("lazyfs exited: {}", self.trouble()),
        }
    }

    /// The next line, which must come within 10 s and start with `prefix`.
    fn expect(&self, prefix: &str) -> String {
        let l = self
            .line(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no answer from {}", self.trouble()));
        assert!(l.starts_with(prefix), "expected {prefix:?}, got {l:?}");
        l
    }

    fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("lazyfs command {cmd}: {e}: {}", self.trouble()));
    }

    /// Operation counts and unsynced blocks, as the filesystem reports them.
    fn stats(&mut self) -> String {
        self.send("stats");
        self.expect("stats ")
    }

    /// Freezes now: no operation completes from here on. Returns the line of an armed freeze
    /// that had landed meanwhile, if any.
    fn freeze(&mut self) -> Option<String> {
        self.send("freeze");
        let mut armed = None;
        loop {
            let l = self.expect("frozen by=");
            if l.starts_with("frozen by=command") {
                return armed;
            }
            armed = Some(l);
        }
    }

    /// Freezes at the next fsync of a file whose name ends in `suffix`: just before it makes
    /// anything durable, or (`after`) just after, so that it never returns.
    fn arm(&mut self, after: bool, suffix: &str) {
        let when = if after { "after" } else { "before" };
        self.send(&format!("arm {when} {suffix}"));
        self.expect("armed");
    }

    /// Waits up to `wait` for the armed freeze; its line, or None.
    fn armed_freeze(&mut self, wait: Duration) -> Option<String> {
        let l = self.line(wait)?;
        assert!(l.starts_with("frozen by=fsync-"), "{l}");
        Some(l)
    }

    /// The power goes: a random share `keep` of the unsynced blocks had reached the disk, the rest
    /// is lost with the filesystem's process; the dead mount is detached. BACKING then holds the
    /// disk as found after the cut.
    fn cut(mut self, keep: f64, seed: u64) -> Cut {
        self.send(&format!("cut {keep} {seed}"));
        let line = self.expect("cut ");
        let end = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < end, "lazyfs did not exit after the cut");
            std::thread::sleep(Duration::from_millis(5));
        }
        self.live = false;
        Cut::parse(&line)
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        if self.live {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The mount is dead once its process is gone: detach it (lazily, as files may still be
        // open in a dying process).
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(&self.mount)
            .stderr(Stdio::null())
            .status();
    }
}

/// A folder with `backing/` (the disk) and `mnt/` (where lazyfs shows it).
fn disk() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let (backing, mnt) = (root.path().join("backing"), root.path().join("mnt"));
    std::fs::create_dir(&backing).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    (root, backing, mnt)
}

// ---------------------------------------------------------------------------------------------
// the filesystem's own tests
// ---------------------------------------------------------------------------------------------

fn write_synced(p: &Path, data: &[u8]) {
    let mut f = std::fs::File::create(p).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
}

fn sync_dir(p: &Path) {
    std::fs::File::open(p).unwrap().sync_all().unwrap();
}

fn write_at(p: &Path, data: &[u8], at: u64) -> std::fs::File {
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.write_all_at(data, at).unwrap();
    f
}

fn read(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

/// Three 4 KiB blocks, each byte telling its block and place.
fn pattern() -> Vec<u8> {
    (0..3 * 4096)
        .map(|i| (i / 4096 * 50 + i % 47) as u8)
        .collect()
}

#[test]
fn lazyfs_keeps_what_was_synced_and_loses_the_rest() {
    require_fuse();
    let (_root, backing, mnt) = disk();
    let fs = LazyFs::mount(&backing, &mnt);
    let p = |n: &str| mnt.join(n);

    // Durable files with durable names.
    write_synced(&p("appended"), b"durable");
    write_synced(&p("shrunk"), b"0123456789");
    write_synced(&p("grown"), b"ab");
    write_synced(&p("trimmed"), b"abcdef");
    write_synced(&p("renamed"), b"renamed");
    write_synced(&p("unlinked"), b"unlinked");
    write_synced(&p("blocks"), &pattern());
    write_synced(&p("blocks-synced"), &pattern());
    write_synced(&p("regrown"), &pattern());
    // A durable name whose data was never synced.
    std::fs::write(p("dataless"), b"unsynced data, synced name").unwrap();
    sync_dir(&mnt);

    // From here on the directory is not synced again.
    write_at(&p("appended"), b"+lost", 7);
    std::fs::File::options()
        .write(true)
        .open(p("shrunk"))
        .unwrap()
        .set_len(4)
        .unwrap();
    write_at(&p("grown"), b"lost", 10);
    {
        // Shrunk and synced, then written again without a sync.
        let f = std::fs::File::options()
            .write(true)
            .open(p("trimmed"))
            .unwrap();
        f.set_len(2).unwrap();
        f.sync_all().unwrap();
        f.write_all_at(b"Q", 8).unwrap();
    }
    std::fs::rename(p("renamed"), p("renamed-to")).unwrap();
    std::fs::remove_file(p("unlinked")).unwrap();
    write_at(&p("blocks"), b"LOST", 4096 + 100);
    // fdatasync: the file's changes become durable, the bytes around them untouched.
    write_at(&p("blocks-synced"), b"KEPT", 4096 + 100)
        .sync_data()
        .unwrap();
    {
        // Shrunk, grown again and written: the bytes cut off read as zeros, also once synced.
        let f = std::fs::File::options()
            .write(true)
            .open(p("regrown"))
            .unwrap();
        f.set_len(100).unwrap();
        f.set_len(3 * 4096).unwrap();
        f.write_all_at(b"Z", 2 * 4096 + 10).unwrap();
        f.sync_data().unwrap();
    }
    let mut expect_regrown = vec![0; 3 * 4096];
    expect_regrown[..100].copy_from_slice(&pattern()[..100]);
    expect_regrown[2 * 4096 + 10] = b'Z';
    // A synced file whose name was never synced.
    write_synced(&p("nameless"), b"synced data, unsynced name");

    // Before the cut the mount shows every change, as any filesystem would.
    let mut expect_blocks = pattern();
    expect_blocks[4096 + 100..4096 + 104].copy_from_slice(b"KEPT");
    assert_eq!(read(&p("appended")).unwrap(), b"durable+lost");
    assert_eq!(read(&p("shrunk")).unwrap(), b"0123");
    assert_eq!(read(&p("grown")).unwrap(), b"ab\0\0\0\0\0\0\0\0lost");
    assert_eq!(read(&p("trimmed")).unwrap(), b"ab\0\0\0\0\0\0Q");
    assert_eq!(read(&p("blocks-synced")).unwrap(), expect_blocks);
    assert_eq!(read(&p("regrown")).unwrap(), expect_regrown);
    assert_eq!(
        names(&mnt),
        [
            "appended",
            "blocks",
            "blocks-synced",
            "dataless",
            "grown",
            "nameless",
            "regrown",
            "renamed-to",
            "shrunk",
            "trimmed"
        ]
    );

    let cut = fs.cut(0.0, 1);
    assert!(cut.dropped("") > 0 && cut.pending_names > 0, "{cut:?}");
    let fs = LazyFs::mount(&backing, &mnt);

    // After it: the durable image only, through a fresh mount and in BACKING alike.
    for dir in [&mnt, &backing] {
        let p = |n: &str| dir.join(n);
        assert_eq!(read(&p("appended")).unwrap(), b"durable", "{dir:?}");
        assert_eq!(read(&p("shrunk")).unwrap(), b"0123456789", "{dir:?}");
        assert_eq!(read(&p("grown")).unwrap(), b"ab", "{dir:?}");
        assert_eq!(read(&p("trimmed")).unwrap(), b"ab", "{dir:?}");
        assert_eq!(read(&p("blocks")).unwrap(), pattern(), "{dir:?}");
        assert_eq!(read(&p("blocks-synced")).unwrap(), expect_blocks, "{dir:?}");
        assert_eq!(read(&p("regrown")).unwrap(), expect_regrown, "{dir:?}");
        assert_eq!(read(&p("renamed")).unwrap(), b"renamed", "{dir:?}");
        assert_eq!(read(&p("unlinked")).unwrap(), b"unlinked", "{dir:?}");
        assert_eq!(read(&p("renamed-to")), None, "{dir:?}");
        assert_eq!(read(&p("nameless")), None, "{dir:?}");
        assert_eq!(read(&p("dataless")).unwrap(), b"", "{dir:?}");
    }
    let mut listing = names(&backing);
    listing.retain(|n| n != ".lazyfs");
    assert_eq!(listing, names(&mnt));
    assert_eq!(
        names(&mnt),
        [
            "appended",
            "blocks",
            "blocks-synced",
            "dataless",
            "grown",
            "regrown",
            "renamed",
            "shrunk",
            "trimmed",
            "unlinked"
        ]
    );

    // A cut that keeps every unsynced block (the kernel had written them all back): data
    // written without a sync survives, a name never synced still does not.
    write_at(&mnt.join("appended"), b"+written back", 7);
    std::fs::write(mnt.join("new-name"), b"x").unwrap();
    let cut = fs.cut(1.0, 2);
    assert!(cut.kept() > 0, "{cut:?}");
    let fs = LazyFs::mount(&backing, &mnt);
    assert_eq!(
        read(&mnt.join("appended")).unwrap(),
        b"durable+written back"
    );
    assert!(read(&mnt.join("new-name")).is_none());
    drop(fs);
}

/// How the counter test freezes the filesystem.
#[derive(Clone, Copy, Debug)]
enum Freeze {
    Command,
    BeforeFsync,
    AfterFsync,
}

#[test]
fn lazyfs_completes_nothing_after_a_freeze_and_cuts_where_armed() {
    require_fuse();
    let (_root, backing, mnt) = disk();
    let counter = mnt.join("counter");
    {
        let _fs = LazyFs::mount(&backing, &mnt);
        write_synced(&counter, format!("{:020}", 0).as_bytes());
        sync_dir(&mnt);
    }
    for how in [Freeze::Command, Freeze::BeforeFsync, Freeze::AfterFsync] {
        let mut fs = LazyFs::mount(&backing, &mnt);
        let start: u64 = String::from_utf8(read(&counter).unwrap())
            .unwrap()
            .parse()
            .unwrap();
        // A writer that stores i, fdatasyncs, then publishes i: `synced` is the last value whose
        // fdatasync returned.
        let synced = Arc::new(AtomicU64::new(start));
        let writer = {
            let (synced, counter) = (synced.clone(), counter.clone());
            std::thread::spawn(move || {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&counter)
                    .unwrap();
                for i in start + 1.. {
                    let stored = f.write_all_at(format!("{i:020}").as_bytes(), 0);
                    if stored.and_then(|()| f.sync_data()).is_err() {
                        return; // the filesystem is gone
                    }
                    synced.store(i, Ordering::SeqCst);
                }
            })
        };
        let end = Instant::now() + Duration::from_secs(20);
        while synced.load(Ordering::SeqCst) < start + 20 {
            assert!(Instant::now() < end, "the writer made no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        match how {
            Freeze::Command => assert_eq!(fs.freeze(), None),
            Freeze::BeforeFsync | Freeze::AfterFsync => {
                fs.arm(matches!(how, Freeze::AfterFsync), "counter");
                let l = fs
                    .armed_freeze(Duration::from_secs(10))
                    .expect("armed freeze");
                assert!(l.contains("file=counter"), "{l}");
            }
        }
        // Nothing returns while frozen (the writer gets 100 ms to publish a value whose fdatasync
        // returned just before the freeze).
        std::thread::sleep(Duration::from_millis(100));
        let at_freeze = synced.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            synced.load(Ordering::SeqCst),
            at_freeze,
            "{how:?}: an fdatasync returned after the freeze"
        );
        let cut = fs.cut(0.0, 3);
        writer.join().unwrap();
        // The last value whose fdatasync returned (after the cut every operation fails).
        let acked = synced.load(Ordering::SeqCst);
        let _fs = LazyFs::mount(&backing, &mnt);
        let durable: u64 = String::from_utf8(read(&counter).unwrap())
            .unwrap()
            .parse()
            .unwrap();
        // Frozen before: the last acknowledged value. Frozen after the fsync made the next value
        // durable: that one, which the writer never saw acknowledged.
        let expected = match how {
            Freeze::Command | Freeze::BeforeFsync => acked,
            Freeze::AfterFsync => acked + 1,
        };
        assert_eq!(durable, expected, "{how:?}: {cut:?}");
        if !matches!(how, Freeze::Command) {
            assert!(cut.blocked.contains(&"fsync@counter".into()), "{cut:?}");
        }
    }
}

/// A `sqlite_probe.py write` process and the last id it was told committed.
struct Probe {
    child: Child,
    acked: Arc<AtomicU64>,
    /// Reads its standard output to the end.
    reader: std::thread::JoinHandle<()>,
}

impl Probe {
    fn start(db: &Path, sync: &str) -> Self {
        let mut child = Command::new(PYTHON)
            .arg(PROBE)
            .arg("write")
            .arg(db)
            .arg(sync)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let acked = Arc::new(AtomicU64::new(0));
        let out = child.stdout.take().unwrap();
        let last = acked.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(i) = line.parse() {
                    last.store(i, Ordering::SeqCst);
                }
            }
        });
        Self {
            child,
            acked,
            reader,
        }
    }

    /// Waits for the (killed) process and reads what it printed: the last id it was told
    /// committed.
    fn acked(mut self) -> u64 {
        self.child.wait().unwrap();
        self.reader.join().unwrap();
        self.acked.load(Ordering::SeqCst)
    }
}

/// `sqlite_probe.py check`: (rows, max id, integrity_check).
fn probe_check(db: &Path) -> (u64, u64, String) {
    let out = Command::new(PYTHON)
        .arg(PROBE)
        .arg("check")
        .arg(db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "{text} {out:?}");
    let field = |k: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(k))
            .unwrap_or_else(|| panic!("{k} in {text}"))
            .to_string()
    };
    (
        field("rows=").parse().unwrap(),
        field("max=").parse().unwrap(),
        field("integrity="),
    )
}

/// The table of docs/reliability.md, measured: in WAL mode, `synchronous=FULL` keeps every
/// acknowledged commit across a cut; NORMAL and OFF lose acknowledged commits. (Also shows that
/// SQLite's WAL, with its memory-mapped `-shm` file, works on lazyfs.)
#[test]
fn lazyfs_shows_sqlite_losing_commits_unless_synchronous_full() {
    require_fuse();
    let (_root, backing, mnt) = disk();
    let mut fs = LazyFs::mount(&backing, &mnt);
    let modes = ["FULL", "NORMAL", "OFF"];
    let mut probes: Vec<Probe> = modes
        .iter()
        .map(|m| Probe::start(&mnt.join(format!("{m}.db")), m))
        .collect();
    let end = Instant::now() + Duration::from_secs(30);
    while probes.iter().any(|p| p.acked.load(Ordering::SeqCst) < 200) {
        assert!(Instant::now() < end, "the SQLite writers made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(fs.freeze(), None);
    for p in &mut probes {
        p.child.kill().unwrap();
    }
    let cut = fs.cut(0.0, 4);
    let acked: Vec<u64> = probes.into_iter().map(Probe::acked).collect();
    let _fs = LazyFs::mount(&backing, &mnt);
    let mut line = Vec::new();
    for (m, acked) in modes.iter().zip(&acked) {
        let (rows, max, integrity) = probe_check(&mnt.join(format!("{m}.db")));
        assert_eq!(integrity, "ok", "{m}");
        assert_eq!(rows, max, "{m}: rows 1..=max without a gap");
        if *m == "FULL" {
            // The commit in flight may have become durable before the freeze; nothing acknowledged
            // is lost.
            assert!(
                (*acked..=acked + 1).contains(&max),
                "{m}: acknowledged {acked}, found {max}; {cut:?}"
            );
        } else {
            assert!(
                max < *acked,
                "{m}: acknowledged {acked}, found {max}: lazyfs kept what SQLite never synced"
            );
        }
        line.push((
            m.to_lowercase(),
            format!("acked={acked},found={max},integrity={integrity}"),
        ));
    }
    let pairs: Vec<(&str, String)> = line.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    figures("powercut_sqlite_modes", &pairs);
}

// ---------------------------------------------------------------------------------------------
// the hub under power cuts
// ---------------------------------------------------------------------------------------------

/// When a cut freezes the filesystem.
#[derive(Clone, Copy, Debug, PartialEq)]
enum At {
    /// After a random while of load.
    Random,
    /// At the next fsync of the WAL (a commit), before it makes anything durable.
    BeforeWalFsync,
    /// At the next fsync of the WAL, after it made the commit durable, before it returns.
    AfterWalFsync,
    /// At the next fsync of the database file (a checkpoint copying the WAL into it), before it
    /// makes anything durable.
    BeforeDbFsync,
}

/// A cut: when, and the share of unsynced 4 KiB blocks that had reached the disk anyway.
#[derive(Clone, Copy, Debug)]
struct Plan {
    at: At,
    keep: f64,
}

/// The cuts, in turn.
const PLANS: [Plan; 6] = [
    Plan {
        at: At::Random,
        keep: 0.0,
    },
    Plan {
        at: At::BeforeWalFsync,
        keep: 0.0,
    },
    Plan {
        at: At::AfterWalFsync,
        keep: 0.0,
    },
    Plan {
        at: At::Random,
        keep: 0.5,
    },
    Plan {
        at: At::BeforeWalFsync,
        keep: 0.5,
    },
    Plan {
        at: At::BeforeDbFsync,
        keep: 0.5,
    },
];

/// The hub on a lazyfs mount. Fields drop in order: the filesystem first, so that a hub stuck
/// in a frozen operation can then be killed and waited for, and the folders last.
struct Rig {
    fs: Option<LazyFs>,
    server: TestServer,
    _disk: tempfile::TempDir,
}

/// The hub's database files as the disk holds them after a cut, copied from BACKING into a
/// folder of their own (the `-shm` file is rebuilt by SQLite and not copied).
fn copy_db(backing: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tanya.db", "tanya.db-wal"] {
        let from = backing.join(name);
        if from.exists() {
            std::fs::copy(&from, dir.path().join(name)).unwrap();
        }
    }
    let db = dir.path().join("tanya.db");
    (dir, db)
}

/// Question texts of every `put` event in the journal at `db`; None when the file holds no
/// journal at all.
async fn journal_texts(db: &Path) -> Option<HashSet<String>> {
    use sqlx::{ConnectOptions, Connection};
    let mut c = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .expect("open the copy");
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'")
            .fetch_one(&mut c)
            .await
            .expect("sqlite_master");
    if tables == 0 {
        return None;
    }
    let texts: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT json_extract(body, '$.question.text') FROM events \
         WHERE json_extract(body, '$.e') = 'put'",
    )
    .fetch_all(&mut c)
    .await
    .expect("journal texts");
    let _ = c.close().await;
    Some(texts.into_iter().flatten().collect())
}

/// A fresh moderator's welcome, retried while the hub starts; Err with what the hub said
/// instead (the session is unknown to it, say).
async fn moderator_view(url: &str, s: &Session) -> Result<Value, String> {
    use futures_util::SinkExt;
    let h = keyed_hello("moderator", s, &s.moderator);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(url),
        )
        .await
        {
            let text = tokio_tungstenite::tungstenite::Message::text(h.to_string());
            if ws.send(text).await.is_ok() {
                let first = recv(&mut ws, Duration::from_secs(10)).await;
                let _ = ws.close(None).await;
                return match first {
                    Ok(w) if w["type"] == "welcome" => Ok(w),
                    other => Err(format!("a moderator's hello got {other:?}")),
                };
            }
        }
        if Instant::now() > end {
            return Err("the hub did not answer".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_power_cuts() {
    require_fuse();
    let _machine = loads_the_machine().await;
    let cuts = pick(50, 200);
    let phones = 10;
    let seed = seed();
    let t0 = Instant::now();
    let (disk, backing, mnt) = disk();
    let fs = LazyFs::mount(&backing, &mnt);
    let database = format!("sqlite://{}", mnt.join("tanya.db").display());
    let server = TestServer::start_with(&[
        ("TANYA_DATABASE", database.as_str()),
        ("TANYA_ASKS_PER_MINUTE", "1000000"),
        ("TANYA_VOTES_PER_MINUTE", "1000000"),
    ]);
    let mut rig = Rig {
        fs: Some(fs),
        server,
        _disk: disk,
    };
    let s = rig.server.demo_session().await;
    let ledger = Arc::new(Ledger::new(Pace {
        ask_share: 0.2,
        text: |i, n| format!("Ponsel {i} nomor {n}: kapan listrik kembali menyala?"),
        think_ms: 10..40,
        approve_every: Duration::from_millis(80),
        redial: Duration::from_millis(20),
    }));
    let tasks = ledger.start(&rig.server, &s, phones, 20, seed).await;
    let url = rig.server.ws_url();

    let mut r = rng(seed);
    let mut losses = Losses::default();
    let mut integrity = "ok".to_string();
    let mut db_dups = 0;
    // Figures of the cuts.
    let (mut armed, mut armed_missed, mut mid_commit) = (0, 0, 0);
    let (mut checkpoints, mut checkpoints_missed) = (0, 0);
    let (mut wal_dropped, mut kept, mut blocked) = (0, 0, 0);
    let (mut in_flight, mut in_flight_asks, mut in_flight_committed) = (0, 0, 0);
    let mut slowest_round = Duration::ZERO;
    let mut done = 0;
    for k in 0..cuts {
        tokio::time::sleep(between(
            &mut r,
            Duration::from_millis(150),
            Duration::from_millis(500),
        ))
        .await;
        let round = Instant::now();
        let plan = PLANS[k % PLANS.len()];
        let mut fs = rig.fs.take().unwrap();
        // 1. The filesystem freezes: from here on nothing becomes durable, no operation returns.
        let missed = blocking(|| {
            let (after, file, wait) = match plan.at {
                At::Random => {
                    fs.freeze();
                    return false;
                }
                At::BeforeWalFsync => (false, "-wal", 3),
                At::AfterWalFsync => (true, "-wal", 3),
                // Checkpoints come every thousand pages of WAL, a few seconds apart.
                At::BeforeDbFsync => (false, "tanya.db", 10),
            };
            fs.arm(after, file);
            fs.armed_freeze(Duration::from_secs(wait)).is_none() && fs.freeze().is_none()
        });
        match plan.at {
            At::Random => {}
            At::BeforeDbFsync => {
                checkpoints += 1;
                checkpoints_missed += u32::from(missed);
            }
            At::BeforeWalFsync | At::AfterWalFsync => {
                armed += 1;
                armed_missed += u32::from(missed);
            }
        }
        // 2. The hub dies with the machine, 3. the power goes: what was not durable is lost.
        ledger.kills.fetch_add(1, Ordering::SeqCst);
        let _ = rig.server.child.kill();
        let cut = blocking(|| fs.cut(plan.keep, seed.wrapping_add(k as u64)));
        blocking(|| rig.server.child.wait().unwrap());
        if cut.blocked_on("tanya.db-wal") || cut.dropped("tanya.db-wal") > 0 {
            mid_commit += 1;
        }
        wal_dropped += cut.dropped("tanya.db-wal");
        kept += cut.kept();
        blocked += cut.blocked.len();
        // Every reply the dead hub sent has been read once every client saw its socket end.
        let end = Instant::now() + Duration::from_secs(10);
        while ledger.connected.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < end,
                "clients still connected to a dead hub"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let acked = Acked::of(&ledger);
        let flying = std::mem::take(&mut *ledger.in_flight.lock().unwrap());

        // 4. The disk as found: sound, no question twice, and which unanswered asks it holds.
        let (_copy, db) = copy_db(&backing);
        let ic = integrity_check(&db).await;
        if ic != "ok" {
            losses.notes.push(format!("cut {k}: integrity_check: {ic}"));
            integrity = ic;
        }
        let texts = match journal_texts(&db).await {
            Some(texts) => {
                db_dups += db_duplicate_questions(&db).await;
                texts
            }
            None => {
                losses
                    .notes
                    .push(format!("cut {k}: no journal on the disk"));
                HashSet::new()
            }
        };
        in_flight += flying.len();
        for c in flying.iter().filter(|c| c["type"] == "ask") {
            in_flight_asks += 1;
            if texts.contains(c["text"].as_str().unwrap()) {
                in_flight_committed += 1;
            }
        }

        // 5. Power back: mount what the disk holds, restart the hub, compare.
        rig.fs = Some(blocking(|| LazyFs::mount(&backing, &mnt)));
        blocking(|| rig.server.restart());
        let when = format!("after cut {k} ({plan:?})");
        let w = moderator_view(&url, &s).await.unwrap_or_else(|e| {
            losses.notes.push(format!("{when}: no session: {e}"));
            json!({"questions": []})
        });
        losses.check(&w, &acked, &ledger, &when);
        slowest_round = slowest_round.max(round.elapsed());
        done += 1;
        if w["type"] != "welcome" {
            break; // the session itself is lost: nothing more to learn
        }
    }
    // The clients finish their retries on the last hub, then stop.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ledger.halt(tasks).await;
    let acked = Acked::of(&ledger);
    let w = moderator_view(&url, &s).await.unwrap_or_else(|e| {
        losses.notes.push(format!("at the end: no session: {e}"));
        json!({"questions": []})
    });
    losses.check(&w, &acked, &ledger, "at the end");
    let stats = blocking(|| rig.fs.as_mut().unwrap().stats());
    blocking(|| rig.server.kill9());

    let errors = ledger.acks.errors.lock().unwrap().clone();
    let ops = |op: &str| {
        stats
            .split([' ', ','])
            .find_map(|f| f.strip_prefix(&format!("{op}:")))
            .unwrap_or("0")
            .to_string()
    };
    figures(
        "powercut",
        &[
            ("cuts", done.to_string()),
            ("phones", phones.to_string()),
            ("acked_asks", acked.asks.len().to_string()),
            ("acked_votes", acked.votes().to_string()),
            ("acked_approvals", acked.approved.len().to_string()),
            ("checked", losses.checked.to_string()),
            ("in_flight", in_flight.to_string()),
            ("in_flight_asks", in_flight_asks.to_string()),
            ("in_flight_asks_committed", in_flight_committed.to_string()),
            ("cuts_mid_commit", mid_commit.to_string()),
            (
                "wal_fsync_cuts",
                format!("{}/{armed}", armed - armed_missed),
            ),
            (
                "checkpoint_cuts",
                format!("{}/{checkpoints}", checkpoints - checkpoints_missed),
            ),
            ("wal_blocks_dropped", wal_dropped.to_string()),
            ("blocks_written_back", kept.to_string()),
            ("ops_blocked", blocked.to_string()),
            ("missing_asks", losses.missing_asks.to_string()),
            ("missing_votes", losses.missing_votes.to_string()),
            ("lost_approvals", losses.lost_approvals.to_string()),
            ("phantom_votes", losses.phantom_votes.to_string()),
            ("duplicates", losses.duplicates.to_string()),
            ("db_duplicates", db_dups.to_string()),
            ("integrity", integrity.clone()),
            ("errors", errors.len().to_string()),
            (
                "timeouts",
                ledger.timeouts.load(Ordering::Relaxed).to_string(),
            ),
            (
                "last_mount_fsyncs",
                format!("{}+{}dir", ops("fsync"), ops("fsyncdir")),
            ),
            ("slowest_round_ms", slowest_round.as_millis().to_string()),
            ("seed", seed.to_string()),
            ("secs", format!("{:.1}", t0.elapsed().as_secs_f64())),
        ],
    );
    losses.print(&errors);
    assert!(acked.asks.len() > 100, "the load ran (acknowledged asks)");
    assert!(acked.votes() > 100, "the load ran (acknowledged votes)");
    assert!(!acked.approved.is_empty(), "the load ran (approvals)");
    losses.assert_none(&integrity, db_dups, &errors);
    // The cuts landed under load: commands were in flight, and commits were caught halfway.
    assert!(in_flight > cuts / 2, "few commands in flight at the cuts");
    assert_eq!(armed_missed, 0, "an armed cut found no fsync of the WAL");
    assert!(mid_commit >= armed / 2, "cuts caught no commit halfway");
}
