//! The executor over ssh, against a real OpenSSH server the test starts on 127.0.0.1 with
//! generated host and client keys (`.ci/run` installs `openssh-server`): a runbook across
//! several nodes with a `copy` step, the crash matrix (SIGKILL of harrow at journal records and
//! inside steps, then `resume`: every step × node exactly once), host key checking left on, and
//! no secret in any journal, output or node-side file. Skipped when no sshd is installed,
//! unless HARROW_REQUIRE_SSHD=1 (CI), where that is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod exec_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use exec_support::*;

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd on 127.0.0.1 and the client configuration that reaches it.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
}

/// Start sshd, or `None` (skip) when it is not installed and CI does not require it.
fn server() -> Option<Server> {
    if !Path::new(SSHD).exists() {
        assert!(
            std::env::var_os("HARROW_REQUIRE_SSHD").is_none(),
            "HARROW_REQUIRE_SSHD is set and {SSHD} is missing (apt-get install openssh-server)"
        );
        eprintln!("skipped: no {SSHD}");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("host_key"));
    keygen(&d.join("client_key"));
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    std::fs::write(
        d.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\n\
             PidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin yes\n\
             MaxSessions 50\nMaxStartups 100:30:200\nSubsystem sftp internal-sftp\n",
            hk = d.join("host_key").display(),
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        ),
    )
    .unwrap();
    let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
    let key = host_pub
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {key}\n")).unwrap();
    std::fs::write(d.join("wrong_known_hosts"), "").unwrap();
    std::fs::write(
        d.join("ssh_config"),
        format!(
            "Host 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {ck}\n  IdentitiesOnly yes\n  \
             UserKnownHostsFile {kh}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  \
             LogLevel ERROR\n",
            ck = d.join("client_key").display(),
            kh = d.join("known_hosts").display(),
        ),
    )
    .unwrap();
    // sshd's privilege separation directory (root runs need it).
    let _ = std::fs::create_dir_all("/run/sshd");
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "sshd did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Server { child, dir, port })
}

/// The inventory: four nodes, all this host; s1 names its port itself, the others get it from
/// the ssh configuration; a2 runs its commands under `sudo -n` (`become: sudo`; `.ci/run`
/// installs sudo, and root needs no password for it).
fn inventory(port: u16) -> String {
    let become_ = if Path::new("/usr/bin/sudo").exists() {
        ", become: sudo"
    } else {
        assert!(
            std::env::var_os("HARROW_REQUIRE_SSHD").is_none(),
            "HARROW_REQUIRE_SSHD is set and sudo is missing (apt-get install sudo)"
        );
        ""
    };
    format!(
        "nodes:
  - {{name: s1, role: server, address: 127.0.0.1, port: {port}}}
  - {{name: s2, role: server, address: 127.0.0.1}}
  - {{name: a1, role: agent, address: 127.0.0.1}}
  - {{name: a2, role: agent, address: 127.0.0.1{become_}}}
"
    )
}

fn setup(case: &Path, srv: &Server, runbook: &str) -> Command {
    let transport = [
        "--ssh-config".into(),
        srv.config().into_os_string(),
        "--remote-state".into(),
        case.join("remote-state").into_os_string(),
    ];
    case_run(case, runbook, &inventory(srv.port), &transport)
}

#[test]
fn a_runbook_runs_over_ssh_with_a_copy_step_and_leaves_no_secret() {
    let Some(srv) = server() else { return };
    let d = tempfile::tempdir().unwrap();
    let material = d.path().join("new-ca");
    std::fs::create_dir_all(material.join("tls")).unwrap();
    std::fs::write(material.join("tls/server-ca.key"), "key material\n").unwrap();
    let rb = marker_runbook(&d.path().join("marks"), "0").replace(
        "steps:\n",
        &format!(
            "steps:
  - id: put-ca
    target: first-server
    copy: {{src: \"{}\", dest: \"{}/{{{{ node.name }}}}\", mode: \"0600\"}}
",
            material.display(),
            d.path().join("staged").display()
        ),
    );
    let o = output(setup(d.path(), &srv, &rb));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_exactly_once(&d.path().join("marks"), "ssh run");
    let staged = d.path().join("staged/s1/tls/server-ca.key");
    assert_eq!(std::fs::read_to_string(&staged).unwrap(), "key material\n");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&staged).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(text(&o).contains("a2 | login with ***"), "{}", text(&o));
    std::fs::write(d.path().join("run.out"), text(&o)).unwrap();
    assert_no_secret_under(d.path());
    // The node keeps each step's markers (exit status) under the state directory.
    let exits = files_under(&d.path().join("remote-state"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "exit"))
        .count();
    assert_eq!(exits, 12, "one exit marker per step × node");
}

#[test]
fn sigkill_over_ssh_at_records_and_inside_steps_then_resume_runs_each_step_node_exactly_once() {
    let Some(srv) = server() else { return };
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full");
    let o = output(setup(
        &full,
        &srv,
        &marker_runbook(&full.join("marks"), "0.1"),
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let total = records(&full.join("journal"));
    let mut points = Vec::new();
    for n in 2..total {
        points.push((n, if n % 2 == 0 { 0 } else { 150 }));
    }
    let make = |case: &Path| setup(case, &srv, &marker_runbook(&case.join("marks"), "0.1"));
    crash_matrix(&points, 6, &make, d.path());
}

#[test]
fn an_unknown_host_key_fails_the_reach_preflight_and_nothing_runs() {
    let Some(srv) = server() else { return };
    let d = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(srv.config())
        .unwrap()
        .replace("known_hosts", "wrong_known_hosts");
    let wrong = srv.dir.path().join("ssh_config_wrong");
    std::fs::write(&wrong, cfg).unwrap();
    let mut c = setup(
        d.path(),
        &srv,
        &marker_runbook(&d.path().join("marks"), "0"),
    );
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let args: Vec<_> = args
        .into_iter()
        .map(|a| {
            if a == srv.config().as_os_str() {
                wrong.clone().into_os_string()
            } else {
                a
            }
        })
        .collect();
    c = harrow();
    c.args(args);
    let o = output(c);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(
        text(&o).contains("preflight reach on s1: FAILED"),
        "{}",
        text(&o)
    );
    assert!(text(&o).to_lowercase().contains("host key"), "{}", text(&o));
    assert!(!d.path().join("marks").exists(), "nothing ran");
}
