//! The integration tests' fluent builder: run the harrow binary with arguments from the
//! repository root, then assert its exit code, its output and golden files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What a terminal shows when `harrow ARGS` runs in a pseudo-terminal made by util-linux
/// `script`, in `dir`, with the environment `env` added.
pub fn on_a_terminal_in(dir: &Path, args: &str, env: &[(&str, &str)]) -> String {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("tty.log");
    let bin = env!("CARGO_BIN_EXE_harrow");
    let status = Command::new("script")
        .args(["-qfec", &format!("{bin} {args}")])
        .arg(&log)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("util-linux `script` (bsdutils) is needed: .ci/run installs it");
    assert!(status.success(), "{args}: {status}");
    String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned()
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus bundle, or `None` (with a message) when `../shared` is absent.
pub fn corpus_bundle() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    let found = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "zip"))
    });
    if found.is_none() {
        eprintln!(
            "skipped: {} is absent (building outside the harrow workspace)",
            dir.display()
        );
    }
    found
}

/// Every entry of a directory of the repository (`bundles/demo`, `bundles/fixtures/healthy`) as
/// a path relative to the repository root, the tests' working directory, sorted: outputs then
/// do not depend on where the checkout lives.
pub fn inputs_in(rel: &str) -> Vec<String> {
    let dir = root().join(rel);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            e.ok()
                .map(|e| format!("{rel}/{}", e.file_name().to_string_lossy()))
        })
        .collect();
    v.sort();
    v
}

/// The analysis of `inputs` (paths relative to the repository root) through the rules, with
/// the reference time fixed at `at`.
pub fn analysis_of(inputs: &[String], at: time::OffsetDateTime) -> harrow::analyze::Analysis {
    use harrow::analyze::{At, InputSpec, Options, Through};
    let opts = Options {
        inputs: inputs.iter().map(|p| InputSpec::parse(p)).collect(),
        limits: harrow::ingest::Limits::default(),
        at: At::Fixed(at),
        demo: false,
        fingerprint_key: None,
        through: Through::Rules,
        workload_namespaces_exclude: Vec::new(),
    };
    harrow::analyze::run_at(&opts, at).expect("analysis")
}

/// The shared JSON contract, when present.
pub fn shared_schema() -> Option<PathBuf> {
    let p = root().join("../shared/spec/analyze.schema.json");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

/// A harrow invocation under construction.
pub struct Test {
    args: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
}

/// What the invocation produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Test {
        Test {
            args: Vec::new(),
            cwd: root(),
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<str>) -> Test {
        self.args.push(a.as_ref().to_string());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, it: I) -> Test {
        for a in it {
            self.args.push(a.as_ref().to_string());
        }
        self
    }

    pub fn path(self, p: &Path) -> Test {
        self.arg(p.display().to_string())
    }

    pub fn cwd(mut self, p: &Path) -> Test {
        self.cwd = p.to_path_buf();
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Test {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn run(self) -> Run {
        let mut c = Command::new(env!("CARGO_BIN_EXE_harrow"));
        c.args(&self.args)
            .current_dir(&self.cwd)
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        let out: Output = match c.output() {
            Ok(o) => o,
            Err(e) => panic!("cannot run harrow: {e}"),
        };
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "exit code {} (wanted {want})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_has(self, s: &str) -> Run {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_has(self, s: &str) -> Run {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => panic!("stdout is not JSON ({e}):\n{}", self.stdout),
        }
    }

    /// Compare stdout with `golden/<name>`; `HARROW_BLESS=1` rewrites the golden file.
    pub fn golden(self, name: &str) -> Run {
        let stdout = self.stdout.clone();
        self.golden_of(name, &stdout)
    }

    /// Compare stderr with `golden/<name>` (error messages); `HARROW_BLESS=1` rewrites it.
    pub fn golden_stderr(self, name: &str) -> Run {
        let stderr = self.stderr.clone();
        self.golden_of(name, &stderr)
    }

    fn golden_of(self, name: &str, actual: &str) -> Run {
        let path = root().join("golden").join(name);
        if std::env::var_os("HARROW_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap_or(&root())).ok();
            std::fs::write(&path, actual).ok();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with HARROW_BLESS=1 to create it)",
                path.display()
            )
        });
        if want != actual {
            let diff_at = want
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(actual.lines().count()));
            panic!(
                "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\n(HARROW_BLESS=1 rewrites it)",
                path.display(),
                diff_at + 1,
                want.lines().nth(diff_at),
                actual.lines().nth(diff_at)
            );
        }
        self
    }
}

/// Validate a JSON document against a JSON Schema file.
pub fn assert_valid(doc: &serde_json::Value, schema_path: &Path) {
    let schema: serde_json::Value = match std::fs::read_to_string(schema_path)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => panic!("{}: {e}", schema_path.display()),
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => panic!("{}: not a schema: {e}", schema_path.display()),
    };
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid against {}:\n{}",
        schema_path.display(),
        errors.join("\n")
    );
}
