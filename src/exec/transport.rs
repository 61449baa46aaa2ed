//! How commands reach a node. `local` runs `sh -c` on this machine (every node's commands,
//! with that node's variables: single-node sites, rehearsals, tests); `ssh` runs them through
//! the system OpenSSH client (`BatchMode=yes`, host key checking left on, the user's ssh
//! configuration honoured or `--ssh-config FILE`, `sudo -n` when the node says `become: sudo`)
//! and copies with `scp`. Scripts go to the node on the command's standard input, never on a
//! command line, so values in them do not show in process listings. Every call has a timeout.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::inventory::{Node, TransportKind};
use crate::runbook::template::shell_quote;

/// What a script printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Standard output and standard error, interleaved as they came.
    pub out: Vec<u8>,
    /// The exit status; `None` when the script was killed at its timeout.
    pub status: Option<i32>,
}

/// How scripts reach nodes.
#[derive(Debug, Clone, Default)]
pub struct Transports {
    /// `--ssh-config FILE`: given to every ssh and scp call as `-F FILE`.
    pub ssh_config: Option<PathBuf>,
}

impl Transports {
    /// Run `script` with `sh` on `node`, feeding `stdin`; kill it at `timeout`.
    pub fn sh(
        &self,
        node: Option<&Node>,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> std::io::Result<Output> {
        let mut cmd = match node.filter(|n| n.transport == TransportKind::Ssh) {
            None => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(script);
                c
            }
            Some(n) => {
                let mut c = self.ssh(n);
                let shell = format!("sh -c {}", shell_quote(script));
                c.arg(if n.become_sudo {
                    format!("sudo -n {shell}")
                } else {
                    shell
                });
                c
            }
        };
        run(&mut cmd, stdin, timeout)
    }

    /// The ssh command line for a node, up to the remote command.
    fn ssh(&self, n: &Node) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=20"]);
        c.args(["-o", "ServerAliveInterval=15", "-T"]);
        multiplex(&mut c);
        if let Some(f) = &self.ssh_config {
            c.arg("-F").arg(f);
        }
        if let Some(p) = n.port {
            c.arg("-p").arg(p.to_string());
        }
        if let Some(u) = &n.user {
            c.arg("-l").arg(u);
        }
        c.arg("--").arg(host(n));
        c
    }

    /// Copy a local file or directory to `scratch` on an ssh node with `scp` (the caller
    /// then installs it in place with a script); on a local node nothing moves: the caller
    /// installs from `src` directly.
    pub fn upload(
        &self,
        node: &Node,
        src: &Path,
        scratch: &str,
        timeout: Duration,
    ) -> std::io::Result<Output> {
        if node.transport != TransportKind::Ssh {
            return Ok(Output {
                out: Vec::new(),
                status: Some(0),
            });
        }
        let mut c = Command::new("scp");
        c.args([
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=20",
            "-p",
            "-r",
            "-q",
        ]);
        if let Some(f) = &self.ssh_config {
            c.arg("-F").arg(f);
        }
        if let Some(p) = node.port {
            c.arg("-P").arg(p.to_string());
        }
        let user = node
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        c.arg("--")
            .arg(src)
            .arg(format!("{user}{}:{scratch}", scp_host(node)));
        run(&mut c, &[], timeout)
    }
}

/// One ssh connection per node, shared by the many short calls of a run (launch, queries,
/// copies): `ControlMaster=auto` with its socket in a directory of this user's own under the
/// temporary directory (mode 0700, checked to be ours and not a link), kept 60 s after the last
/// call so a `resume` right after a crash reuses it. When that directory cannot be made safe,
/// every call connects anew.
fn multiplex(c: &mut Command) {
    if let Some(dir) = control_dir() {
        c.arg("-o").arg(format!("ControlPath={}/%C", dir.display()));
        c.args(["-o", "ControlMaster=auto", "-o", "ControlPersist=60"]);
    }
}

fn control_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("harrow-ssh-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let m = std::fs::symlink_metadata(&dir).ok()?;
    let safe = m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0;
    // Unix socket paths are short: leave room for the 40 characters of %C.
    (safe && dir.as_os_str().len() < 60).then_some(dir)
}

/// The address ssh is given.
fn host(n: &Node) -> String {
    n.address.map_or_else(|| n.name.clone(), |a| a.to_string())
}

/// The address scp is given (IPv6 in brackets).
fn scp_host(n: &Node) -> String {
    match n.address {
        Some(std::net::IpAddr::V6(a)) => format!("[{a}]"),
        _ => host(n),
    }
}

/// Run a command with `stdin` fed and output captured (stdout and stderr in one buffer), killed
/// at `timeout`.
fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> std::io::Result<Output> {
    let (mut reader, writer) = std::io::pipe()?;
    let writer2 = writer.try_clone()?;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(writer2)
        .spawn()?;
    // The command holds the parent's copies of the pipe's write end until its stdio is
    // replaced: without this the output never ends.
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(mut input) = child.stdin.take() {
        let data = stdin.to_vec();
        std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
    }
    let collected = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&collected);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            if let Ok(mut b) = sink.lock() {
                b.extend_from_slice(&chunk[..n]);
            }
        }
        let _ = done_tx.send(());
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s.code();
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A process the script left behind may hold the output open: wait for it briefly only.
    let _ = done_rx.recv_timeout(Duration::from_secs(2));
    let out = collected.lock().map(|b| b.clone()).unwrap_or_default();
    Ok(Output { out, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_script_gets_its_stdin_and_reports_output_and_status() {
        let t = Transports::default();
        let o = t
            .sh(
                None,
                "cat; echo err >&2; exit 3",
                b"in\n",
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(o.status, Some(3));
        let text = String::from_utf8(o.out).unwrap();
        assert!(text.contains("in\n") && text.contains("err\n"), "{text}");
    }

    #[test]
    fn a_script_past_its_timeout_is_killed() {
        let t = Transports::default();
        let start = Instant::now();
        let o = t
            .sh(None, "exec sleep 5", b"", Duration::from_millis(200))
            .unwrap();
        assert_eq!(o.status, None);
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
