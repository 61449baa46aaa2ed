//! `harrow analyze -o html`: the page's structure without a browser (balanced tags, one SVG for
//! the trust graph and one for the timeline, every finding present, every link a local anchor
//! that exists, no resource from the network, input strings escaped), its golden on the demo, a
//! large synthetic cluster (100 nodes, 3,000 leaves) that stays small and grouped, and headless
//! Chromium: the page renders, both drawings have a size, its script ran, the console is silent,
//! and the page and its screenshot are saved under `<target>/test-output/html/`.
//!
//! The Chromium tests skip (saying so) when no `chromium` is on the PATH, unless
//! `HARROW_REQUIRE_CHROMIUM` is set (as `.ci/run` does), which makes its absence a failure.

// clippy.toml lets #[test] functions unwrap, panic and print; this lets their helpers too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod rules_common;
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use support::Test;

const AT: &str = "2026-11-20T10:00:00Z";
/// The CN a stranger's bundle may carry.
const HOSTILE_CN: &str = "<script>alert(1)</script>";
const HOSTILE_O: &str = "\"><img src=x onerror=alert(2)>";
const LARGE_NODES: usize = 100;
const LEAVES_PER_NODE: usize = 30;

/// `harrow analyze -o html` of `inputs` at [`AT`].
fn page_of(inputs: &[String]) -> String {
    Test::new()
        .arg("analyze")
        .args(inputs)
        .args(["-o", "html", "--fail-on", "none", "--at", AT])
        .run()
        .code(0)
        .stdout
}

fn count(page: &str, needle: &str) -> usize {
    page.matches(needle).count()
}

/// The body of every tag (`div class="x"`, `/div`), script and style contents skipped.
fn tags(page: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = page[i..].find('<') {
        let at = i + off;
        let end = at
            + page[at..]
                .find('>')
                .unwrap_or_else(|| panic!("a tag never closes at byte {at}"));
        let tag = &page[at + 1..end];
        out.push(tag);
        i = end + 1;
        for raw in ["script", "style"] {
            if tag == raw || tag.starts_with(&format!("{raw} ")) {
                let close = format!("</{raw}>");
                let c = page[i..]
                    .find(&close)
                    .unwrap_or_else(|| panic!("<{raw}> never closes"));
                i += c;
            }
        }
    }
    out
}

/// Tags balance (void elements and `/>` aside; script and style are raw text), and every `<`
/// outside them opens a tag: a string from the input that was not escaped would break this.
fn assert_well_formed(page: &str) {
    const VOID: &[&str] = &["meta", "link", "input", "br", "hr", "img", "col", "wbr"];
    let mut stack: Vec<String> = Vec::new();
    for tag in tags(page) {
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop();
            assert_eq!(
                top.as_deref(),
                Some(name.trim()),
                "</{name}> closes {top:?}"
            );
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(
            !name.is_empty(),
            "a '<' that opens no tag: {:?}",
            tag.chars().take(60).collect::<String>()
        );
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "never closed: {stack:?}");
}

/// Every value of `attr="…"` in the page.
fn attr_values<'a>(page: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!(" {attr}=\"");
    page.match_indices(&pat)
        .filter_map(|(at, _)| {
            let from = at + pat.len();
            page[from..].find('"').map(|len| &page[from..from + len])
        })
        .collect()
}

/// No resource from anywhere: no `src=`, every `href=` a local anchor that exists (or the empty
/// `data:` favicon), no URL in any tag, and the CSP forbids loading.
fn assert_self_contained(page: &str) {
    assert!(attr_values(page, "src").is_empty(), "a src= attribute");
    let ids: BTreeSet<&str> = attr_values(page, "id").into_iter().collect();
    for h in attr_values(page, "href") {
        match h.strip_prefix('#') {
            Some(id) => assert!(ids.contains(id), "href=\"#{id}\" names no element"),
            None => assert_eq!(h, "data:,", "href to {h:?}"),
        }
    }
    // No URL in any tag (a finding's message may mention one as text: inert).
    for tag in tags(page) {
        assert!(!tag.contains("://"), "a URL in <{tag}>");
    }
    assert!(!page.contains("@import"));
    for u in page.match_indices("url(").map(|(at, _)| &page[at..at + 5]) {
        assert_eq!(u, "url(#", "url() to something else than an anchor");
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none';"));
}

/// The structure every page has.
fn assert_page(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert_well_formed(page);
    assert_self_contained(page);
    assert_eq!(
        count(page, "<svg "),
        2,
        "one SVG for the graph, one for the timeline"
    );
    assert_eq!(count(page, "<svg id=\"graph-svg\""), 1);
    assert_eq!(count(page, "<svg id=\"timeline-svg\""), 1);
    assert_eq!(count(page, "<script>"), 1, "the page's own script only");
    assert_eq!(count(page, "<input id=\"q\" type=\"search\""), 1);
    assert!(!page.contains("PRIVATE KEY"), "key material on the page");
}

#[test]
fn demo_page_golden_structure_and_every_finding() {
    let run = Test::new()
        .args(["analyze", "-o", "html", "--at", AT])
        .run()
        .code(0)
        .golden("analyze-demo.html");
    let page = &run.stdout;
    assert_page(page);
    let doc = Test::new()
        .args(["analyze", "-o", "json", "--at", AT])
        .run()
        .json();
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert_eq!(count(page, "<details class=\"finding s\">"), findings.len());
    for f in findings {
        let code = f["rule"].as_str().unwrap();
        assert!(
            page.contains(&format!("<code class=\"code\">{code}</code>")),
            "{code} missing"
        );
    }
    // Summary: counts by severity, the cluster, every input.
    for (sev, n) in doc["summary"]["by_severity"].as_object().unwrap() {
        let badge = if n == 0 {
            format!("<span class=\"badge sev-{sev} zero\"><b>0</b> {sev}</span>")
        } else {
            format!("href=\"#sev-{sev}\"><b>{n}</b> {sev}</a>")
        };
        assert!(page.contains(&badge), "{sev}");
    }
    assert!(page.contains("cluster of 5 nodes (3 servers, 2 agents)"));
    for i in doc["inputs"].as_array().unwrap() {
        assert!(page.contains(i["name"].as_str().unwrap()));
    }
    // Timeline: one row per certificate (the demo is small), the reference line.
    let certs = doc["certificates"].as_array().unwrap().len();
    assert_eq!(count(page, "<g class=\"s row\">"), certs);
    assert!(page.contains("<line class=\"ref\""));
    assert!(page.contains(">reference 2026-11-20</text>"));
    // Graph: a box per CA and per node's leaf group, each group linking to its list.
    let groups = attr_values(page, "href")
        .into_iter()
        .filter(|h| h.starts_with("#g"))
        .count();
    assert!(groups >= 5, "{groups} leaf groups");
    assert!(page.contains("rke2-server-ca@"));
    assert_eq!(
        count(page, "<details class=\"node sc\""),
        6,
        "5 nodes + objects"
    );
    // Same inputs and reference time, same bytes.
    let again = Test::new()
        .args(["analyze", "-o", "html", "--at", AT])
        .run()
        .stdout;
    assert!(again == *page, "two runs differ");
}

#[test]
fn other_commands_reject_html_with_the_usage_error() {
    for cmd in ["certs", "graph", "timeline", "rules"] {
        Test::new()
            .args([cmd, "-o", "html"])
            .run()
            .code(2)
            .stderr_has("invalid value 'html'");
    }
}

/// A certificate whose subject is markup, signed by a fresh CA.
fn hostile_cert() -> String {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "<b>hostile-ca</b>");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["x\"><svg onload=alert(3)>".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, HOSTILE_CN);
    p.distinguished_name
        .push(DnType::OrganizationName, HOSTILE_O);
    let leaf = p
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .unwrap();
    format!("{}{ca_pem}", leaf.pem())
}

/// The healthy `s1` snapshot with [`hostile_cert`] added, in `dir`.
fn hostile_input(dir: &Path) -> String {
    let s1 = rules_common::healthy_s1(dir);
    let extra = s1.join("var/lib/rancher/rke2/server/tls/extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("hostile.crt"), hostile_cert()).unwrap();
    s1.to_string_lossy().into_owned()
}

#[test]
fn a_certificate_named_script_comes_out_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let page = page_of(&[hostile_input(tmp.path())]);
    assert_page(&page);
    assert!(!page.contains(HOSTILE_CN), "the CN came out as markup");
    assert!(!page.contains("<img"), "the O came out as markup");
    assert!(
        !page.contains("<b>hostile"),
        "the CA's CN came out as markup"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;hostile-ca&lt;/b&gt;"));
    let at = page.find("onerror=alert(2)").expect("the O is on the page");
    assert!(
        page[..at].ends_with("&lt;img src=x "),
        "{}",
        &page[at.saturating_sub(80)..at + 40]
    );
}

/// The large synthetic cluster: [`LARGE_NODES`] node snapshot directories, each holding the
/// three CAs and [`LEAVES_PER_NODE`] leaves of its own (expired, expiring and valid ones), built
/// once per test binary.
fn large_inputs() -> &'static [String] {
    static LARGE: OnceLock<(tempfile::TempDir, Vec<String>)> = OnceLock::new();
    &LARGE
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let day0 = time::macros::datetime!(2025-06-01 0:00 UTC);
            let ca = |cn: &str| {
                let key = KeyPair::generate().unwrap();
                let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
                p.distinguished_name.push(DnType::CommonName, cn);
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
                p.not_before = time::macros::datetime!(2025-01-01 0:00 UTC);
                p.not_after = time::macros::datetime!(2035-01-01 0:00 UTC);
                let pem = p.self_signed(&key).unwrap().pem();
                (p, key, pem)
            };
            let cas = [
                ("server-ca.crt", ca("rke2-server-ca@1735689600")),
                ("client-ca.crt", ca("rke2-client-ca@1735689600")),
                ("etcd/server-ca.crt", ca("etcd-server-ca@1735689600")),
            ];
            let leaf_key = KeyPair::generate().unwrap();
            let mut inputs = Vec::new();
            for n in 0..LARGE_NODES {
                let name = format!("node-{n:03}");
                let dir = tmp.path().join(&name);
                let tls = dir.join("var/lib/rancher/rke2/server/tls");
                std::fs::create_dir_all(tls.join("etcd")).unwrap();
                std::fs::create_dir_all(tls.join("extra")).unwrap();
                std::fs::write(
                    dir.join("snapshot.yaml"),
                    format!("apiVersion: harrow/v1\nkind: NodeSnapshot\nnode: {name}\ncollected_at: \"{AT}\"\n"),
                )
                .unwrap();
                for (file, (_, _, pem)) in &cas {
                    std::fs::write(tls.join(file), pem).unwrap();
                }
                for k in 0..LEAVES_PER_NODE {
                    let (_, (ca_params, ca_key, _)) = &cas[k % cas.len()];
                    let mut p = CertificateParams::new(vec![format!("{name}.example")]).unwrap();
                    p.distinguished_name
                        .push(DnType::CommonName, format!("leaf-{k:02}.{name}"));
                    p.serial_number = Some(SerialNumber::from((n * 1000 + k + 1) as u64));
                    // Issued over 14 months: some expired at AT, some expiring, most valid.
                    p.not_before = day0 + time::Duration::days(((n * 13 + k * 29) % 420) as i64);
                    p.not_after = p.not_before + time::Duration::days(365);
                    let pem = p
                        .signed_by(&leaf_key, &Issuer::from_params(ca_params, ca_key))
                        .unwrap()
                        .pem();
                    std::fs::write(tls.join(format!("extra/leaf-{k:02}.crt")), pem).unwrap();
                }
                inputs.push(dir.to_string_lossy().into_owned());
            }
            (tmp, inputs)
        })
        .1
}

fn large_page() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| page_of(large_inputs()))
}

#[test]
fn a_large_cluster_is_grouped_searchable_and_small() {
    let page = large_page();
    assert_page(page);
    assert!(
        page.len() < 5 * 1024 * 1024,
        "{} bytes for {LARGE_NODES} nodes",
        page.len()
    );
    let leaves = LARGE_NODES * LEAVES_PER_NODE;
    assert!(page.contains(&format!(
        "{} distinct certificates (3 CAs) on {LARGE_NODES} nodes",
        leaves + 3
    )));
    // Graph: the three CAs and one box per CA for its leaves on all nodes, not 300 boxes.
    assert_eq!(count(page, "<g class=\"v s "), 6);
    assert_eq!(
        count(
            page,
            &format!(">{LARGE_NODES} nodes: {} leaves</text>", leaves / 3)
        ),
        3
    );
    // Each such box opens a per-node list, each line opening that node's group.
    for a in 0..3 {
        assert!(page.contains(&format!("<details class=\"many sc\" id=\"a{a}\">")));
    }
    assert_eq!(count(page, "<li class=\"s\"><a href=\"#g"), 3 * LARGE_NODES);
    // Timeline: the CAs one bar each, then one row per node.
    assert_eq!(count(page, "<g class=\"s row\">"), 3 + LARGE_NODES);
    assert!(page.contains("node-042 · 30 leaves"));
    // Node sections, collapsed, with every leaf once per node.
    assert_eq!(count(page, "<details class=\"node sc\""), LARGE_NODES);
    assert!(!page.contains("<details class=\"node sc\" id=\"node0\" open"));
    assert_eq!(
        count(page, "<tr class=\"s\">"),
        leaves + 3 * LARGE_NODES,
        "leaves + CA copies"
    );
    // The statuses of the synthetic leaves all show.
    for class in ["st-expired", "st-warning", "st-ok"] {
        assert!(page.contains(&format!("class=\"mark {class}\"")), "{class}");
    }
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium

/// The Chromium binary, or `None` (skip) when there is none and it is not required.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file());
    let required = std::env::var_os("HARROW_REQUIRE_CHROMIUM").is_some_and(|v| !v.is_empty());
    match found {
        Some(p) => Some(p),
        None if required => {
            panic!("HARROW_REQUIRE_CHROMIUM is set but no chromium is on the PATH")
        }
        None => {
            eprintln!(
                "skipped: no chromium on the PATH (apt-get install chromium; HARROW_REQUIRE_CHROMIUM=1 makes this a failure)"
            );
            None
        }
    }
}

/// Where the screenshots go: `<target>/test-output/html/`.
fn output_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("test-output").join("html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What Chromium made of a page: the DOM after its script ran, and its log (console messages
/// appear as `:CONSOLE:` lines).
struct Rendered {
    dom: String,
    log: String,
}

/// Run Chromium headless with `args` then the page's URL; ended after two minutes.
fn chromium_run(bin: &Path, args: &[String], page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
            assert!(status.success(), "chromium {args:?}: {status}\n{stderr}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish in two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        std::fs::read_to_string(out.path()).unwrap_or_default(),
        std::fs::read_to_string(err.path()).unwrap_or_default(),
    )
}

/// Render `html` (saved as `<output>/<name>.html`) in Chromium: a screenshot at 1400×2000 saved
/// as `<output>/<name>.png`, and the DOM after load.
fn render(bin: &Path, html: &str, name: &str) -> Rendered {
    let page = output_dir().join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let shot = output_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    let (_, log1) = chromium_run(
        bin,
        &[
            "--window-size=1400,2000".into(),
            format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is no PNG", shot.display());
    assert!(
        png.len() > 10_000,
        "{}: a blank screenshot?",
        shot.display()
    );
    eprintln!("screenshot: {}", shot.display());
    let (dom, log2) = chromium_run(bin, &["--dump-dom".into()], &page);
    Rendered {
        dom,
        log: log1 + &log2,
    }
}

/// The page's console said nothing (no error, no uncaught exception, no CSP refusal), its
/// script ran to the end, and both drawings were laid out with a size.
fn assert_rendered_cleanly(r: &Rendered, name: &str) {
    let console: Vec<&str> = r
        .log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(console.is_empty(), "{name}: console: {console:#?}");
    for attr in [
        "data-graph-svg=\"rendered\"",
        "data-timeline-svg=\"rendered\"",
        "data-ready=\"",
    ] {
        assert!(
            r.dom.contains(attr),
            "{name}: {attr} not in the rendered DOM"
        );
    }
    assert!(r.dom.contains("<svg id=\"graph-svg\""));
    assert!(r.dom.contains("<svg id=\"timeline-svg\""));
}

#[test]
fn chromium_shows_console_errors_to_this_test() {
    // The console check is not vacuous: a page that throws is seen to.
    let Some(bin) = chromium() else { return };
    let r = render(
        &bin,
        "<!DOCTYPE html><html><body><p>probe</p><p>probe</p><script>throw new Error('harrow-probe')</script></body></html>",
        "probe",
    );
    assert!(
        r.log.lines().any(|l| l.contains(":CONSOLE")
            && l.contains("Uncaught")
            && l.contains("harrow-probe")),
        "chromium's console is not in its log:\n{}",
        r.log
    );
}

#[test]
fn chromium_renders_the_demo_page() {
    let Some(bin) = chromium() else { return };
    let page = Test::new()
        .args(["analyze", "-o", "html", "--at", AT])
        .run()
        .code(0)
        .stdout;
    let r = render(&bin, &page, "demo");
    assert_rendered_cleanly(&r, "demo");
    // The script counted the searchable items: findings, certificate rows, boxes, rows.
    let ready = r
        .dom
        .split("data-ready=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap();
    assert!(ready > 100, "{ready} searchable items");
}

#[test]
fn chromium_renders_the_large_page() {
    let Some(bin) = chromium() else { return };
    let r = render(&bin, large_page(), "large");
    assert_rendered_cleanly(&r, "large");
}

#[test]
fn chromium_renders_the_hostile_page_inertly() {
    let Some(bin) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let page = page_of(&[hostile_input(tmp.path())]);
    let r = render(&bin, &page, "hostile");
    assert_rendered_cleanly(&r, "hostile");
    // In the DOM the CN is text, never an element.
    assert!(!r.dom.contains("<script>alert"));
    assert!(!r.dom.contains("<img"));
    assert!(r.dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}
