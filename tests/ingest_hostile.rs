//! Hostile and damaged inputs for `ingest::read_input`, built on the fly: traversal, absolute
//! names, links leaving the tree, bombs, deep nesting, huge entry counts, truncation, corrupt
//! streams, non-UTF-8 names, nested node zips (stored and deflated), tar.xz in zip, multi-member
//! gzip, zip64, data descriptors, and the peak-RSS property of bombs under default limits.
//!
//! Every case asserts: no panic, the issue names the input and the entry, and the good entries
//! beside the bad one still load.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use harrow::ingest::{Budget, Container, InputTree, IssueKind, Limits, Selector, Want, read_input};
use harrow_fixtures::hostile::{self, HandTar, HandZip, Packing};

/// Load `*.yaml`, `*.txt`, `*token*`, `*passwd*`; scan `*.log`; descend into archives.
struct Sel;

impl Selector for Sel {
    fn want(&self, p: &str) -> Want {
        let last = p.rsplit('!').next().unwrap_or(p);
        let base = last.rsplit('/').next().unwrap_or(last);
        if [".zip", ".txz", ".tgz", ".tar.gz", ".tar.xz", ".tar"]
            .iter()
            .any(|s| base.ends_with(s))
        {
            Want::Nested
        } else if base.ends_with(".yaml")
            || base.ends_with(".txt")
            || base.contains("token")
            || base.contains("passwd")
        {
            Want::Load
        } else if base.ends_with(".log") {
            Want::Scan
        } else {
            Want::Skip
        }
    }
    fn needles(&self) -> &[&str] {
        &["certificate", "error"]
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create test input");
    f.write_all(data).expect("write test input");
    p
}

fn read(path: &Path, limits: &Limits) -> InputTree {
    read_input(path, limits, &Sel, &Budget::new())
}

/// The issue of `kind` for `entry`, asserting its message names the input and the entry.
fn issue<'a>(t: &'a InputTree, kind: IssueKind, entry: &str) -> &'a harrow::ingest::IngestIssue {
    let i = t
        .issues
        .iter()
        .find(|i| i.kind == kind && i.entry == entry)
        .unwrap_or_else(|| panic!("no {kind:?} issue for {entry}; issues: {:#?}", t.issues));
    assert!(
        i.message.contains(&t.name) && i.message.contains(entry),
        "message must name input and entry: {}",
        i.message
    );
    i
}

fn text(t: &InputTree, p: &str) -> String {
    let f = t.files.get(p).unwrap_or_else(|| {
        panic!(
            "{p} not loaded; files: {:?}; issues: {:#?}",
            t.files.keys(),
            t.issues
        )
    });
    String::from_utf8_lossy(&f.data).into_owned()
}

#[test]
fn traversal_and_absolute_names_are_refused_or_normalised() {
    let d = tempfile::tempdir().expect("tempdir");
    let cwd_before: Vec<_> = std::fs::read_dir(d.path()).expect("ls").collect();
    let zip = HandZip::new()
        .file("../../etc/passwd", "root:x:0:0\n", Packing::Deflated)
        .file("/etc/shadow.yaml", "abs: true\n", Packing::Stored)
        .file("C:/evil.yaml", "drive: true\n", Packing::Stored)
        .file(b"nul\0name.yaml", "nul: true\n", Packing::Stored)
        .file("b/./c/../ok.yaml", "ok: 1\n", Packing::Deflated)
        .build();
    let p = write(d.path(), "trav.zip", &zip);
    let t = read(&p, &Limits::default());
    assert_eq!(t.container, Some(Container::Zip));
    issue(&t, IssueKind::UnsafePath, "../../etc/passwd");
    issue(&t, IssueKind::UnsafePath, "C:/evil.yaml");
    assert!(
        t.issues
            .iter()
            .any(|i| i.kind == IssueKind::UnsafePath && i.entry.starts_with("nul"))
    );
    assert_eq!(text(&t, "b/ok.yaml"), "ok: 1\n");
    assert_eq!(text(&t, "etc/shadow.yaml"), "abs: true\n");
    assert!(!t.files.keys().any(|k| k.contains("passwd")));
    // Nothing written beside the input.
    let after: Vec<_> = std::fs::read_dir(d.path()).expect("ls").collect();
    assert_eq!(after.len(), cwd_before.len() + 1);

    let tar = HandTar::new()
        .file("../../../etc/passwd", "root\n")
        .file("./good.yaml", "g: 1\n")
        .build();
    let p = write(d.path(), "trav.tar", &tar);
    let t = read(&p, &Limits::default());
    issue(&t, IssueKind::UnsafePath, "../../../etc/passwd");
    assert_eq!(text(&t, "good.yaml"), "g: 1\n");
}

#[test]
fn links_to_etc_are_noted_never_followed() {
    let d = tempfile::tempdir().expect("tempdir");
    let tar = HandTar::new()
        .symlink("n/passwd", "/etc/passwd")
        .symlink("n/up-passwd", "../../../etc/passwd")
        .hardlink("n/hard-passwd", "/etc/passwd")
        .file("n/keep.yaml", "k: 1\n")
        .build();
    let p = write(d.path(), "links.tar", &gz_or(&tar, false));
    let t = read(&p, &Limits::default());
    for l in ["n/passwd", "n/up-passwd", "n/hard-passwd"] {
        assert_eq!(
            t.links.get(l).map(|l| l.resolved.clone()),
            Some(None),
            "{l}"
        );
        assert!(t.resolve(l).is_none());
        let i = issue(&t, IssueKind::LinkOutsideTree, l);
        assert!(!i.kind.is_refusal());
    }
    assert!(t.links["n/hard-passwd"].hard);
    assert_eq!(text(&t, "n/keep.yaml"), "k: 1\n");
    assert!(!t.files.keys().any(|k| k.contains("passwd")));

    let zip = HandZip::new()
        .symlink("z/passwd", "/etc/passwd")
        .file("z/ok.yaml", "ok\n", Packing::Stored)
        .build();
    let p = write(d.path(), "links.zip", &zip);
    let t = read(&p, &Limits::default());
    assert!(t.resolve("z/passwd").is_none());
    issue(&t, IssueKind::LinkOutsideTree, "z/passwd");
    assert_eq!(text(&t, "z/ok.yaml"), "ok\n");
}

fn gz_or(data: &[u8], gz: bool) -> Vec<u8> {
    if gz {
        hostile::gzip(data)
    } else {
        data.to_vec()
    }
}

#[test]
fn node_token_resolves_to_its_sibling() {
    let d = tempfile::tempdir().expect("tempdir");
    let base = "var/lib/rancher/rke2/server";
    // Target after the link (the link's want loads it), in a tar.gz.
    let tar = HandTar::new()
        .symlink(&format!("{base}/node-token"), "token")
        .file(format!("{base}/token"), "K10abc::server:secret\n")
        .build();
    let p = write(d.path(), "n1.tgz", &hostile::gzip(&tar));
    let t = read(&p, &Limits::default());
    assert_eq!(t.container, Some(Container::TarGz));
    let l = &t.links[&format!("{base}/node-token")];
    assert_eq!(
        l.resolved.as_deref(),
        Some(format!("{base}/token").as_str())
    );
    let f = t
        .resolve(&format!("{base}/node-token"))
        .expect("node-token resolves");
    assert_eq!(f.data, b"K10abc::server:secret\n");

    // Zip symlink, target not selected by name: loaded because the link wants it.
    let zip = HandZip::new()
        .file("srv/real", "secret\n", Packing::Deflated)
        .symlink("srv/node-token", "real")
        .build();
    let p = write(d.path(), "n2.zip", &zip);
    let t = read(&p, &Limits::default());
    assert_eq!(
        t.resolve("srv/node-token").map(|f| f.data.clone()),
        Some(b"secret\n".to_vec())
    );
}

#[test]
fn zip_bomb_on_a_parsed_file_is_refused_and_the_rest_loads() {
    let d = tempfile::tempdir().expect("tempdir");
    let bomb = "supportbundle_x/yamls/cluster/v1/nodes.yaml";
    let good = "supportbundle_x/metadata.yaml";
    let z = hostile::zip_bomb(bomb, 64, good, b"bundlename: b\n");
    let p = write(d.path(), "bomb.zip", &z);
    let limits = Limits {
        max_entry_bytes: 4 << 20,
        max_ratio: 100_000,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    let i = issue(&t, IssueKind::EntryTooLarge, bomb);
    assert!(i.message.contains("--max-entry-bytes"), "{}", i.message);
    assert!(!t.files.contains_key(bomb));
    assert_eq!(text(&t, good), "bundlename: b\n");
    // With the default limits the ratio limit catches it first (zeros deflate ~1000:1).
    let t = read(&p, &Limits::default());
    let i = issue(&t, IssueKind::RatioExceeded, bomb);
    assert!(i.message.contains("--max-ratio"), "{}", i.message);
    assert_eq!(text(&t, good), "bundlename: b\n");
}

#[test]
fn gzip_bomb_in_a_tarball_is_refused_and_the_rest_loads() {
    let d = tempfile::tempdir().expect("tempdir");
    let bomb = "etc/rancher/rke2/config.yaml";
    let good = "etc/rancher/rke2/config.yaml.d/10.yaml";
    let p = write(
        d.path(),
        "bomb.tgz",
        &hostile::gzip_bomb(bomb, 32, good, b"a: 1\n"),
    );
    let t = read(&p, &Limits::default());
    let i = issue(&t, IssueKind::RatioExceeded, bomb);
    assert!(i.message.contains("--max-ratio"));
    assert_eq!(text(&t, good), "a: 1\n");
    assert!(t.loaded_bytes < 1 << 20);
}

#[test]
fn total_budget_is_shared_and_refuses_past_it() {
    let d = tempfile::tempdir().expect("tempdir");
    let z = HandZip::new()
        .file("a.yaml", vec![b'a'; 3000], Packing::Stored)
        .file("b.yaml", vec![b'b'; 3000], Packing::Stored)
        .build();
    let p = write(d.path(), "total.zip", &z);
    let limits = Limits {
        max_total_bytes: 4000,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    assert!(t.files.contains_key("a.yaml"));
    let i = issue(&t, IssueKind::TotalExceeded, "b.yaml");
    assert!(i.message.contains("--max-total-bytes"));
    assert_eq!(t.loaded_bytes, 3000);
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let z = hostile::nested_zips(6, "deep.yaml", b"deep: true\n");
    let p = write(d.path(), "nest.zip", &z);
    let t = read(&p, &Limits::default()); // max_depth 4
    assert_eq!(text(&t, "level0.yaml"), "level: 0\n");
    assert_eq!(
        text(
            &t,
            "level0.zip!level1.zip!level2.zip!level3.zip!level4.yaml"
        ),
        "level: 4\n"
    );
    let i = issue(
        &t,
        IssueKind::TooDeep,
        "level0.zip!level1.zip!level2.zip!level3.zip!level4.zip",
    );
    assert!(i.message.contains("--max-depth"));
    assert!(!t.files.keys().any(|k| k.ends_with("deep.yaml")));
}

#[test]
fn huge_entry_count_stops_at_the_limit() {
    let d = tempfile::tempdir().expect("tempdir");
    let z = hostile::many_entries(200_000, "tail.yaml", b"t: 1\n");
    let p = write(d.path(), "many.zip", &z);
    let limits = Limits {
        max_entries: 10_000,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    let i = issue(&t, IssueKind::TooManyEntries, "many/10000.txt");
    assert!(i.message.contains("--max-entries"));
    assert_eq!(t.seen.len(), 10_000);
    assert_eq!(t.files.len(), 10_000);
    // With the default limit the zip64 end record is read and everything loads.
    let t = read(&p, &Limits::default());
    assert!(
        t.issues.is_empty(),
        "{:#?}",
        &t.issues[..t.issues.len().min(3)]
    );
    assert_eq!(text(&t, "tail.yaml"), "t: 1\n");
    assert_eq!(t.seen.len(), 200_001);
}

#[test]
fn truncated_zip_keeps_what_came_before() {
    let d = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let z = HandZip::new()
        .file("a.yaml", "a: 1\n", Packing::Deflated)
        .file_with_descriptor("b.yaml", "b: 2\n", Packing::Deflated)
        .file("c.txt", &big, Packing::Deflated)
        .file("d.yaml", "d: 4\n", Packing::Deflated)
        .build();
    let cut = &z[..z.len() / 2];
    let p = write(d.path(), "cut.zip", cut);
    let t = read(&p, &Limits::default());
    assert_eq!(text(&t, "a.yaml"), "a: 1\n");
    assert_eq!(text(&t, "b.yaml"), "b: 2\n");
    issue(&t, IssueKind::Truncated, "c.txt");
    assert!(!t.files.contains_key("d.yaml"));
}

#[test]
fn truncated_tar_gz_keeps_what_came_before() {
    let d = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let tar = HandTar::new()
        .file("a.yaml", "a: 1\n")
        .file("big.txt", &big)
        .file("z.yaml", "z\n")
        .build();
    let gz = hostile::gzip(&tar);
    let p = write(d.path(), "cut.tgz", &gz[..gz.len() * 2 / 3]);
    let t = read(&p, &Limits::default());
    assert_eq!(text(&t, "a.yaml"), "a: 1\n");
    let i = t
        .issues
        .iter()
        .find(|i| i.entry == "big.txt")
        .expect("issue names big.txt");
    assert!(
        matches!(i.kind, IssueKind::Truncated | IssueKind::Corrupt),
        "{i:?}"
    );
    assert!(i.message.contains("cut.tgz!big.txt"));
}

#[test]
fn corrupt_deflate_stream_is_an_issue_for_that_entry_only() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut bad = hostile::deflate_raw(&vec![b'x'; 100_000]);
    for b in bad.iter_mut().skip(4).take(40) {
        *b = 0xff;
    }
    let z = HandZip::new()
        .file(
            "bad.yaml",
            b"",
            Packing::Raw {
                data: bad,
                size: 100_000,
                crc: 0,
            },
        )
        .file("good.yaml", "g\n", Packing::Deflated)
        .build();
    let p = write(d.path(), "corrupt.zip", &z);
    let t = read(&p, &Limits::default());
    let i = t
        .issues
        .iter()
        .find(|i| i.entry == "bad.yaml")
        .expect("issue");
    assert!(matches!(i.kind, IssueKind::Corrupt | IssueKind::Truncated));
    assert!(!t.files.contains_key("bad.yaml"));
    assert_eq!(text(&t, "good.yaml"), "g\n");

    // Garbage and empty inputs are unreadable, not a panic.
    let p = write(d.path(), "garbage.zip", b"this is not an archive at all");
    let t = read(&p, &Limits::default());
    assert_eq!(t.container, None);
    issue(&t, IssueKind::Unreadable, "");
    let t = read(&d.path().join("missing.zip"), &Limits::default());
    assert_eq!(t.container, None);
    // A bad xz stream.
    let mut x = hostile::xz(&HandTar::new().file("a.yaml", "a\n").build());
    let n = x.len();
    for b in x.iter_mut().skip(20).take(n.saturating_sub(40)) {
        *b ^= 0x5a;
    }
    let p = write(d.path(), "bad.txz", &x);
    let t = read(&p, &Limits::default());
    assert_eq!(t.container, Some(Container::TarXz));
    assert!(!t.issues.is_empty());
}

#[test]
fn non_utf8_names_are_read_and_noted() {
    let d = tempfile::tempdir().expect("tempdir");
    let tar = HandTar::new().file(b"n/caf\xe9.yaml", "c: 1\n").build();
    let p = write(d.path(), "latin1.tar", &tar);
    let t = read(&p, &Limits::default());
    let name = "n/caf\u{fffd}.yaml";
    assert_eq!(text(&t, name), "c: 1\n");
    let i = issue(&t, IssueKind::NonUtf8Name, name);
    assert!(!i.kind.is_refusal());

    let z = HandZip::new()
        .file(b"z/\xff\xfe.yaml", "z\n", Packing::Stored)
        .build();
    let p = write(d.path(), "latin1.zip", &z);
    let t = read(&p, &Limits::default());
    assert_eq!(text(&t, "z/\u{fffd}\u{fffd}.yaml"), "z\n");
}

fn node_zip(node: &str) -> Vec<u8> {
    let scc = hostile::xz(
        &HandTar::new()
            .dir(&format!("scc_supportconfig_{node}/"))
            .file(format!("scc_supportconfig_{node}/etc.txt"), "sysctl\n")
            .build(),
    );
    // Written with the zip crate: an independent writer.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    w.start_file(format!("{node}/configs/etc/rancher/rke2/config.yaml"), o)
        .expect("zip");
    w.write_all(b"token: \"***\"\n").expect("zip");
    w.start_file(format!("{node}/logs/rke2-server.log"), o)
        .expect("zip");
    for i in 0..1000 {
        writeln!(w, "line {i} ok").expect("zip");
        if i % 250 == 0 {
            writeln!(w, "line {i} certificate expired").expect("zip");
        }
    }
    w.start_file(format!("{node}/scc/scc_supportconfig_{node}.txz"), o)
        .expect("zip");
    w.write_all(&scc).expect("zip");
    w.finish().expect("zip").into_inner()
}

#[test]
fn stored_and_deflated_node_zips_and_txz_inside() {
    let d = tempfile::tempdir().expect("tempdir");
    let top = "supportbundle_x";
    let outer = HandZip::new()
        .file(
            format!("{top}/metadata.yaml"),
            "bundlename: x\n",
            Packing::Deflated,
        )
        .file(
            format!("{top}/nodes/n1.zip"),
            node_zip("n1"),
            Packing::Stored,
        )
        .file(
            format!("{top}/nodes/n2.zip"),
            node_zip("n2"),
            Packing::Deflated,
        )
        .build();
    let p = write(d.path(), "bundle.zip", &outer);
    let t = read(&p, &Limits::default());
    assert!(t.issues.is_empty(), "{:#?}", t.issues);
    for n in ["n1", "n2"] {
        let cfg = format!("{top}/nodes/{n}.zip!{n}/configs/etc/rancher/rke2/config.yaml");
        assert_eq!(text(&t, &cfg), "token: \"***\"\n");
        let log = &t.logs[&format!("{top}/nodes/{n}.zip!{n}/logs/rke2-server.log")];
        assert_eq!(log.lines, 1004);
        assert_eq!(log.matches.len(), 4);
        assert_eq!(log.matches[0].line, 2);
        let etc = format!(
            "{top}/nodes/{n}.zip!{n}/scc/scc_supportconfig_{n}.txz!scc_supportconfig_{n}/etc.txt"
        );
        assert_eq!(text(&t, &etc), "sysctl\n");
    }
    assert_eq!(t.provenance("a"), "bundle.zip!a");
    assert_eq!(t.sha256.len(), 64);
    assert!(
        t.seen
            .iter()
            .any(|s| s.ends_with("n2.zip!n2/logs/rke2-server.log"))
    );
}

#[test]
fn multi_member_gzip_reads_every_member() {
    let d = tempfile::tempdir().expect("tempdir");
    let a = HandTar::new().file("a.yaml", "a\n").bytes();
    let b = HandTar::new().file("b.yaml", "b\n").build();
    let mut gz = hostile::gzip(&a);
    gz.extend_from_slice(&hostile::gzip(&b));
    let p = write(d.path(), "multi.tar.gz", &gz);
    let t = read(&p, &Limits::default());
    assert!(t.issues.is_empty(), "{:#?}", t.issues);
    assert_eq!(text(&t, "a.yaml"), "a\n");
    assert_eq!(text(&t, "b.yaml"), "b\n");
}

#[test]
fn zip64_and_data_descriptors_from_the_zip_crate() {
    let d = tempfile::tempdir().expect("tempdir");
    // zip64 extra fields (large_file) on a seekable writer.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default().large_file(true);
    w.start_file("big/one.yaml", o).expect("zip");
    w.write_all(b"one: 1\n").expect("zip");
    w.start_file("big/two.log", o).expect("zip");
    w.write_all(b"an error here\nfine\n").expect("zip");
    let z = w.finish().expect("zip").into_inner();
    let p = write(d.path(), "z64.zip", &z);
    let t = read(&p, &Limits::default());
    assert!(t.issues.is_empty(), "{:#?}", t.issues);
    assert_eq!(text(&t, "big/one.yaml"), "one: 1\n");
    assert_eq!(t.logs["big/two.log"].matches.len(), 1);

    // Streaming writer: data descriptors.
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("dd/a.yaml", o).expect("zip");
    w.write_all(b"a: 1\n").expect("zip");
    w.start_file("dd/b.yaml", o).expect("zip");
    w.write_all(b"b: 2\n").expect("zip");
    let z = w.finish().expect("zip").into_inner();
    let p = write(d.path(), "dd.zip", &z);
    let t = read(&p, &Limits::default());
    assert!(t.issues.is_empty(), "{:#?}", t.issues);
    assert_eq!(text(&t, "dd/b.yaml"), "b: 2\n");
    // Same archive cut before its central directory: the local-header walk finds both.
    let cd = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    let p = write(d.path(), "dd-cut.zip", &z[..cd]);
    let t = read(&p, &Limits::default());
    assert_eq!(text(&t, "dd/a.yaml"), "a: 1\n");
    assert_eq!(text(&t, "dd/b.yaml"), "b: 2\n");
}

#[test]
fn directory_input_records_symlinks_and_hashes() {
    let d = tempfile::tempdir().expect("tempdir");
    let root = d.path().join("node1");
    let srv = root.join("var/lib/rancher/rke2/server");
    std::fs::create_dir_all(&srv).expect("mkdir");
    std::fs::write(srv.join("token"), "K10x::server:y\n").expect("write");
    std::os::unix::fs::symlink("token", srv.join("node-token")).expect("symlink");
    std::os::unix::fs::symlink("/etc", root.join("etc-link")).expect("symlink");
    std::fs::write(root.join("x.yaml"), "x\n").expect("write");
    let t = read(&root, &Limits::default());
    assert_eq!(t.container, Some(Container::Directory));
    assert_eq!(
        t.resolve("var/lib/rancher/rke2/server/node-token")
            .map(|f| f.data.clone()),
        Some(b"K10x::server:y\n".to_vec())
    );
    assert!(t.resolve("etc-link").is_none());
    issue(&t, IssueKind::LinkOutsideTree, "etc-link");
    assert_eq!(t.sha256.len(), 64);
    let again = read(&root, &Limits::default());
    assert_eq!(t.sha256, again.sha256);
}

/// Child mode for the peak-RSS test: read the file named by the environment with default
/// limits and print the issue kinds. A no-op in normal runs.
#[test]
fn rss_probe_child() {
    let Ok(path) = std::env::var("HARROW_INGEST_PROBE") else {
        return;
    };
    let t = read_input(Path::new(&path), &Limits::default(), &Sel, &Budget::new());
    for i in &t.issues {
        println!("PROBE {:?} {}", i.kind, i.entry);
    }
    println!("PROBE files {}", t.files.len());
}

/// Run the probe in a child process and return (stdout, peak RSS in KiB).
// The child is reaped by `wait4` (which also gives its own rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
#[allow(unsafe_code)] // wait4: the one way to read one child's peak memory
fn probe(path: &Path) -> (String, i64) {
    let exe = std::env::current_exe().expect("test binary");
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "rss_probe_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HARROW_INGEST_PROBE", path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn probe");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).expect("read probe output");
    let mut status: libc::c_int = 0;
    // SAFETY: plain wait4 on our own child with valid out-pointers.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "probe failed: {out}"
    );
    (out, ru.ru_maxrss)
}

#[test]
fn bombs_stay_under_256_mib_peak_rss_with_default_limits() {
    let d = tempfile::tempdir().expect("tempdir");
    let bomb = "supportbundle_x/yamls/cluster/v1/nodes.yaml";
    let good = "supportbundle_x/metadata.yaml";
    let z = write(
        d.path(),
        "bomb.zip",
        &hostile::zip_bomb(bomb, 1024, good, b"m\n"),
    );
    let g = write(
        d.path(),
        "bomb.tgz",
        &hostile::gzip_bomb(bomb, 512, good, b"m\n"),
    );
    for p in [z, g] {
        let (out, kib) = probe(&p);
        assert!(
            out.contains(&format!("PROBE EntryTooLarge {bomb}"))
                || out.contains(&format!("PROBE RatioExceeded {bomb}")),
            "{out}"
        );
        assert!(out.contains("PROBE files 1"), "{out}");
        eprintln!("peak RSS {kib} KiB for {}", p.display());
        assert!(kib < 256 * 1024, "peak RSS {kib} KiB for {}", p.display());
    }
}

#[test]
fn spill_limit_refuses_deflated_node_zips_but_stored_ones_read_in_place() {
    let d = tempfile::tempdir().expect("tempdir");
    let outer = HandZip::new()
        .file("b/nodes/n1.zip", node_zip("n1"), Packing::Stored)
        .file("b/nodes/n2.zip", node_zip("n2"), Packing::Deflated)
        .file("b/metadata.yaml", "m\n", Packing::Deflated)
        .build();
    let p = write(d.path(), "spill.zip", &outer);
    let limits = Limits {
        max_spill_bytes: 100,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    let i = issue(&t, IssueKind::EntryTooLarge, "b/nodes/n2.zip");
    assert!(i.message.contains("--max-spill-bytes"), "{}", i.message);
    assert!(
        t.files
            .contains_key("b/nodes/n1.zip!n1/configs/etc/rancher/rke2/config.yaml")
    );
    assert_eq!(text(&t, "b/metadata.yaml"), "m\n");
}

#[test]
fn scanned_logs_are_bounded() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut log = Vec::new();
    log.extend_from_slice(&vec![b'a'; 1 << 20]); // a 1 MiB line
    log.extend_from_slice(b" error at the end of a long line\n");
    for i in 0..100 {
        log.extend_from_slice(format!("{i} error\n").as_bytes());
    }
    log.extend_from_slice(b"no newline at the end: certificate");
    let z = HandZip::new()
        .file("x/app.log", &log, Packing::Deflated)
        .build();
    let p = write(d.path(), "log.zip", &z);
    let limits = Limits {
        max_scan_matches: 10,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    let l = &t.logs["x/app.log"];
    assert_eq!(l.lines, 102);
    assert_eq!(l.bytes, log.len() as u64);
    assert_eq!(l.matches.len(), 10);
    assert!(l.matches_truncated);
    // The 1 MiB line is cut before its needle: the first match is line 2.
    assert_eq!(l.matches[0].line, 2);
    assert!(l.matches.iter().all(|m| m.text.len() <= 4096));
    assert!(t.files.is_empty() && t.loaded_bytes == 0);
}

#[test]
fn tar_hardlinks_and_one_pass_link_targets() {
    let d = tempfile::tempdir().expect("tempdir");
    let tar = HandTar::new()
        .file("srv/real-token", "secret\n")
        .hardlink("srv/token-hard", "srv/real-token")
        .file("srv/skipped", "earlier\n")
        .symlink("srv/node-token", "skipped")
        .build();
    let p = write(d.path(), "hard.tar", &tar);
    let t = read(&p, &Limits::default());
    assert_eq!(
        t.resolve("srv/token-hard").map(|f| f.data.clone()),
        Some(b"secret\n".to_vec())
    );
    // The target came earlier and was not selected: noted, not a refusal.
    assert!(t.resolve("srv/node-token").is_none());
    let i = issue(&t, IssueKind::LinkTargetNotLoaded, "srv/node-token");
    assert!(!i.kind.is_refusal());
}

#[test]
fn tar_entry_count_stops_at_the_limit() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut tb = HandTar::new().file("first.yaml", "f\n");
    for i in 0..3000 {
        tb = tb.file(format!("e/{i}"), "");
    }
    let p = write(d.path(), "many.tgz", &hostile::gzip(&tb.build()));
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    let t = read(&p, &limits);
    let i = issue(&t, IssueKind::TooManyEntries, "e/999");
    assert!(i.message.contains("--max-entries"));
    assert_eq!(text(&t, "first.yaml"), "f\n");
    assert_eq!(t.seen.len(), 1000);
}

#[test]
fn overlapping_entries_are_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    // Two central directory records pointing at one local header.
    let z = HandZip::new()
        .file("a.yaml", "a: 1\n", Packing::Deflated)
        .build();
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").expect("cd");
    let eocd = z
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("eocd");
    let mut rec2 = z[cd..eocd].to_vec();
    let name_at = 46;
    rec2[name_at] = b'b';
    let mut out = z[..eocd].to_vec();
    out.extend_from_slice(&rec2);
    let mut end = z[eocd..].to_vec();
    end[8..10].copy_from_slice(&2u16.to_le_bytes());
    end[10..12].copy_from_slice(&2u16.to_le_bytes());
    let size = (eocd - cd + rec2.len()) as u32;
    end[12..16].copy_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&end);
    let p = write(d.path(), "overlap.zip", &out);
    let t = read(&p, &Limits::default());
    assert_eq!(text(&t, "a.yaml"), "a: 1\n");
    issue(&t, IssueKind::Corrupt, "b.yaml");
}

/// Deterministic damage: flip bytes of valid archives and read them. Must never panic.
#[test]
fn damaged_archives_never_panic() {
    let d = tempfile::tempdir().expect("tempdir");
    let tar = HandTar::new()
        .file("a/x.yaml", "x: 1\n")
        .symlink("a/l", "x.yaml")
        .file("a/y.log", "error\n")
        .build();
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("f.zip", node_zip("n")),
        ("f.tgz", hostile::gzip(&tar)),
        ("f.txz", hostile::xz(&tar)),
        ("f.tar", tar.clone()),
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (name, good) in &inputs {
        for round in 0..60 {
            let mut bad = good.clone();
            let flips = 1 + (next() % 8) as usize;
            for _ in 0..flips {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] ^= (next() % 255 + 1) as u8;
            }
            if round % 10 == 0 {
                let cut = (next() % bad.len() as u64) as usize;
                bad.truncate(cut);
            }
            let p = write(d.path(), name, &bad);
            let _ = read(&p, &Limits::default());
        }
    }
}

#[test]
fn real_corpus_bundle_reads_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Some(p) = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "zip"))
    }) else {
        eprintln!(
            "skipped: no corpus bundle in {} (../shared absent)",
            dir.display()
        );
        return;
    };
    let t = read(&p, &Limits::default());
    assert_eq!(t.container, Some(Container::Zip));
    assert!(t.issues.is_empty(), "{:#?}", t.issues);
    assert!(t.files.keys().any(|k| k.ends_with("/metadata.yaml")));
    assert!(
        t.files
            .keys()
            .any(|k| k.contains("nodes/node1.zip!node1/configs/"))
    );
    assert!(
        t.logs
            .keys()
            .any(|k| k.ends_with("node1.zip!node1/logs/kernel.log"))
    );
    assert_eq!(t.sha256.len(), 64);
}

#[test]
fn damaged_central_directory_falls_back_to_local_headers() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut z = HandZip::new()
        .file("a.yaml", "a: 1\n", Packing::Deflated)
        .file("b.yaml", "b: 2\n", Packing::Stored)
        .build();
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").expect("cd");
    z[cd + 1] = b'X';
    let p = write(d.path(), "badcd.zip", &z);
    let t = read(&p, &Limits::default());
    issue(&t, IssueKind::Corrupt, "");
    assert_eq!(text(&t, "a.yaml"), "a: 1\n");
    assert_eq!(text(&t, "b.yaml"), "b: 2\n");
}
