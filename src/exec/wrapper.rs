//! The wrapper that makes a step run exactly once on a node, even if harrow dies. A step's
//! command is written to a per-run, per-step state directory on the node (`umask 077`) and run
//! detached (`setsid`, so it survives harrow and its ssh session) under a small runner that
//! holds `flock` on `DIR/lock` while it runs, writes `DIR/started` before the command and
//! `DIR/exit` (the exit status) after it, each by an atomic rename, and removes the command
//! file when done. Launching refuses to start a command twice: once `started` or `exit`
//! exists, it only reports. A query reads the markers: `exit N` (finished), `running` (the lock
//! is held), `dead` (started, lock free, no exit: the node rebooted or the runner was killed),
//! `launched` (the runner has not started yet) or `none`; plus the output from an offset.

use crate::runbook::template::shell_quote;

/// The runner, run detached with `DIR` and a timeout in seconds (0: none).
const RUNNER: &str = r#"d=$1; t=$2
exec 9>>"$d/lock" || exit 97
flock -n 9 || exit 0
[ -e "$d/started" ] && exit 0
echo "$$ $(date +%s)" > "$d/started.tmp" && mv -f "$d/started.tmp" "$d/started" || exit 98
if [ "$t" -gt 0 ]; then
  timeout -k 10 "$t" sh -e "$d/cmd" > "$d/out" 2>&1 9>&-; rc=$?
else
  sh -e "$d/cmd" > "$d/out" 2>&1 9>&-; rc=$?
fi
rm -f "$d/cmd"
echo "$rc $(date +%s)" > "$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"
"#;

/// The script that puts a command (read from standard input, `command_len` bytes) in `dir` and
/// starts the runner detached; prints `HARROW-LAUNCH launched`, or `HARROW-LAUNCH known` when
/// the markers say the command already started (it is then not started again). A command cut
/// short (harrow died while sending it) is refused (`HARROW-LAUNCH short`), never run: the
/// markers then say `none` and `resume` sends it again. Temporary files carry the shell's pid,
/// so two launches racing each other never mix their bytes.
pub fn launch(dir: &str, timeout_secs: u64, command_len: usize) -> String {
    let d = shell_quote(dir);
    format!(
        r#"umask 077
d={d}
mkdir -p "$d" || exit 90
if [ -e "$d/exit" ] || [ -e "$d/started" ]; then echo "HARROW-LAUNCH known"; exit 0; fi
command -v flock >/dev/null 2>&1 || {{ echo "flock (util-linux) is not installed on this node"; exit 92; }}
cat > "$d/cmd.$$" || exit 91
n=$(wc -c < "$d/cmd.$$"); if [ "$((n + 0))" -ne {command_len} ]; then rm -f "$d/cmd.$$"; echo "HARROW-LAUNCH short"; exit 93; fi
mv -f "$d/cmd.$$" "$d/cmd" || exit 91
cat > "$d/runner.$$" <<'HARROW_RUNNER_END' && mv -f "$d/runner.$$" "$d/runner" || exit 94
{RUNNER}HARROW_RUNNER_END
if command -v setsid >/dev/null 2>&1; then
  setsid sh "$d/runner" "$d" {timeout_secs} </dev/null >/dev/null 2>&1 &
else
  nohup sh "$d/runner" "$d" {timeout_secs} </dev/null >/dev/null 2>&1 &
fi
echo "HARROW-LAUNCH launched"
"#
    )
}

/// The script that reports the markers of `dir` on its first line (`HARROW-STATE ...`) and then
/// prints at most 64 KiB of the command's output from byte `offset`.
pub fn query(dir: &str, offset: u64) -> String {
    let d = shell_quote(dir);
    format!(
        r#"d={d}
if [ -e "$d/exit" ]; then s="exit $(cat "$d/exit")"
elif [ -e "$d/started" ]; then
  if flock -n "$d/lock" true 2>/dev/null; then
    if [ -e "$d/exit" ]; then s="exit $(cat "$d/exit")"; else s=dead; fi
  else s=running; fi
elif [ -e "$d/cmd" ]; then s=launched
else s=none; fi
echo "HARROW-STATE $s"
if [ -e "$d/out" ]; then tail -c +{start} "$d/out" | head -c 65536; fi
"#,
        start = offset + 1
    )
}

/// The script that removes a finished command's output and runner from `dir`, keeping the
/// markers.
pub fn forget_output(dir: &str) -> String {
    let d = shell_quote(dir);
    format!("rm -f {d}/out {d}/runner {d}/cmd\n")
}

/// The script that installs `from` (a file or a directory) at `dest`: a directory's content
/// goes into `dest`; files get `mode`, directories 0700 when a mode is given. `remove_from`:
/// the source was an upload's scratch copy and is removed afterwards.
pub fn install(from: &str, dest: &str, mode: Option<&str>, remove_from: bool) -> String {
    let (f, t) = (shell_quote(from), shell_quote(dest));
    let chmod = mode.map_or(String::new(), |m| {
        let m = shell_quote(m);
        format!(
            "if [ -d {t} ]; then find {t} -type f -exec chmod {m} {{}} + && find {t} -type d -exec chmod 0700 {{}} +; else chmod {m} {t}; fi\n"
        )
    });
    let cleanup = if remove_from {
        format!("rm -rf {f}\n")
    } else {
        String::new()
    };
    format!(
        "set -e\nif [ -d {f} ]; then mkdir -p {t} && cp -R {f}/. {t}/; else mkdir -p \"$(dirname {t})\" && cp {f} {t}; fi\n{chmod}{cleanup}"
    )
}

/// What the markers of a step's state directory say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// Finished with this exit status (124: killed at its timeout).
    Exit(i32),
    /// Started and still running.
    Running,
    /// Started, not running, no exit status: interrupted.
    Dead,
    /// Launched, the runner not started yet.
    Launched,
    /// Nothing there.
    None,
}

/// Split a query's output into the marker and the output chunk; `None` when the first line is
/// not a state line (the node could not run the query).
pub fn parse_query(out: &[u8]) -> Option<(Marker, &[u8])> {
    let nl = out.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&out[..nl]).ok()?;
    let state = line.strip_prefix("HARROW-STATE ")?;
    let marker = match state.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["exit", code, ..] => Marker::Exit(code.parse().ok()?),
        ["running"] => Marker::Running,
        ["dead"] => Marker::Dead,
        ["launched"] => Marker::Launched,
        ["none"] => Marker::None,
        _ => return None,
    };
    Some((marker, &out[nl + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sh(script: &str, stdin: &[u8]) -> Vec<u8> {
        crate::exec::transport::Transports::default()
            .sh(None, script, stdin, Duration::from_secs(20))
            .unwrap()
            .out
    }

    fn wait_exit(dir: &str) -> (Marker, Vec<u8>) {
        for _ in 0..400 {
            let out = sh(&query(dir, 0), b"");
            let (m, rest) = parse_query(&out).unwrap();
            if let Marker::Exit(_) = m {
                return (m, rest.to_vec());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("no exit marker in {dir}");
    }

    #[test]
    fn a_command_runs_once_and_its_exit_is_read_from_the_markers() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("st").display().to_string();
        let log = d.path().join("log").display().to_string();
        let cmd = format!("echo ran >> {}\necho hello\nexit 7\n", shell_quote(&log));
        let first = sh(&launch(&dir, 30, cmd.len()), cmd.as_bytes());
        assert!(String::from_utf8_lossy(&first).contains("HARROW-LAUNCH launched"));
        let (m, out) = wait_exit(&dir);
        assert_eq!(m, Marker::Exit(7));
        assert_eq!(out, b"hello\n");
        // Launching again does not run it again.
        let again = sh(&launch(&dir, 30, cmd.len()), cmd.as_bytes());
        assert!(String::from_utf8_lossy(&again).contains("HARROW-LAUNCH known"));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\n");
        assert!(!std::path::Path::new(&dir).join("cmd").exists());
    }

    #[test]
    fn a_running_command_is_seen_running_and_a_killed_one_dead() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("st").display().to_string();
        sh(&launch(&dir, 0, 9), b"sleep 30\n");
        let mut seen = Marker::None;
        for _ in 0..200 {
            seen = parse_query(&sh(&query(&dir, 0), b"")).unwrap().0;
            if seen == Marker::Running {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(seen, Marker::Running);
        // Kill the runner and its command (they share a session): started, no exit, unlocked.
        let started = std::fs::read_to_string(format!("{dir}/started")).unwrap();
        let pid = started.split_whitespace().next().unwrap();
        sh(&format!("kill -9 -{pid} 2>/dev/null || kill -9 {pid}"), b"");
        let mut after = Marker::None;
        for _ in 0..200 {
            after = parse_query(&sh(&query(&dir, 0), b"")).unwrap().0;
            if after == Marker::Dead {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(after, Marker::Dead);
    }

    /// Regression (crash matrix): harrow killed while sending a command left a truncated
    /// command that then ran (an empty script exits 0): a step recorded done that never ran.
    #[test]
    fn a_command_cut_short_is_refused_and_never_runs() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("st").display().to_string();
        let full = b"echo a\necho b >> x\n";
        let out = sh(&launch(&dir, 30, full.len()), &full[..7]);
        assert!(String::from_utf8_lossy(&out).contains("HARROW-LAUNCH short"));
        let (m, _) = parse_query(&sh(&query(&dir, 0), b"")).unwrap();
        assert_eq!(m, Marker::None);
    }

    #[test]
    fn a_timeout_ends_the_command_with_124() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("st").display().to_string();
        sh(&launch(&dir, 1, 9), b"sleep 20\n");
        assert_eq!(wait_exit(&dir).0, Marker::Exit(124));
    }

    #[test]
    fn install_copies_a_directory_content_with_modes() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("tls")).unwrap();
        std::fs::write(src.join("tls/k.key"), "k").unwrap();
        let dest = d.path().join("dest");
        let o = sh(
            &install(
                &src.display().to_string(),
                &dest.display().to_string(),
                Some("0600"),
                false,
            ),
            b"",
        );
        assert!(o.is_empty(), "{}", String::from_utf8_lossy(&o));
        use std::os::unix::fs::PermissionsExt as _;
        let m = std::fs::metadata(dest.join("tls/k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600);
    }
}
