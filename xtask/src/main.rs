//! `cargo xtask <task>`: see `cargo xtask --help`.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::allow::AllowList;
use xtask::upstream::DEFAULT_UPSTREAM;
use xtask::{ALLOW, Error, Result, SPEC, drift, generate, lint, openapi, probe, read_text};

/// Repository tasks for cloudbase-auth.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    after_help = "Exit status: 0 clean; 1 findings (stale snapshot, lint problems, drift); \
                  2 the task could not run."
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Write the reviewable snapshot of what build.rs generates (spec/generated/,
    /// spec/operations.md).
    Generate {
        /// Write nothing; fail with a diff if the committed snapshot is stale.
        #[arg(long)]
        check: bool,
    },
    /// Check the spec: OpenAPI 3.0.x, unique operation ids, explicit security, examples
    /// that match their schemas, and only constructs progenitor 0.15.1 can generate.
    Lint {
        /// The spec to lint [default: spec/cloudbase-auth-v1.yaml].
        #[arg(long)]
        spec: Option<PathBuf>,
    },
    /// Compare the spec with upstream's OpenAPI document (operations, fields, auth).
    Drift {
        /// URL or file of the upstream document.
        #[arg(long, default_value = DEFAULT_UPSTREAM, conflicts_with = "sdk")]
        upstream: String,
        /// Compare with what an official JS SDK release calls instead, e.g.
        /// `@cloudbase/oauth@3.3.3` (fetched with npm, read with the TypeScript compiler).
        #[arg(long)]
        sdk: Option<String>,
        /// Accepted deviations [default: spec/drift-allow.yaml; with --sdk,
        /// spec/drift-allow-sdk.yaml].
        #[arg(long)]
        allow: Option<PathBuf>,
        /// Our spec [default: spec/cloudbase-auth-v1.yaml].
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Print the findings as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Check a live server's answers against the spec (safe sign-in/sign-out sequence).
    /// The password is read from CLOUDBASE_PASSWORD or standard input, never a flag.
    Probe {
        /// e.g. https://my-env.api.tcloudbasegateway.com
        #[arg(long)]
        base_url: String,
        #[arg(long)]
        client_id: String,
        /// Also probe password sign-in as this user.
        #[arg(long)]
        username: Option<String>,
        /// The spec to check against [default: spec/cloudbase-auth-v1.yaml].
        #[arg(long)]
        spec: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().task {
        Task::Generate { check } => run_generate(check),
        Task::Lint { spec } => run_lint(&or_default(spec, SPEC)),
        Task::Drift {
            upstream,
            sdk: None,
            allow,
            spec,
            json,
        } => xtask::upstream::load(&upstream).and_then(|theirs| {
            run_drift(
                &or_default(spec, SPEC),
                (&upstream, theirs),
                &or_default(allow, ALLOW),
                json,
            )
        }),
        Task::Drift {
            sdk: Some(package),
            allow,
            spec,
            json,
            ..
        } => xtask::sdk::extract(&xtask::workspace_root(), &package).and_then(|theirs| {
            run_drift(
                &or_default(spec, SPEC),
                (&package, theirs),
                &or_default(allow, xtask::sdk::SDK_ALLOW),
                json,
            )
        }),
        Task::Probe {
            base_url,
            client_id,
            username,
            spec,
        } => run_probe(&or_default(spec, SPEC), base_url, client_id, username),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A path given on the command line is taken as is (relative to the current
/// directory); a default is relative to the workspace root.
fn or_default(given: Option<PathBuf>, default: &str) -> PathBuf {
    given.unwrap_or_else(|| xtask::workspace_root().join(default))
}

/// `Ok(true)` when clean, `Ok(false)` when there are findings.
fn run_generate(check: bool) -> Result<bool> {
    let root = xtask::workspace_root();
    if !check {
        let changed = generate::write(&root)?;
        for path in &changed {
            println!("wrote {path}");
        }
        println!("{} file(s) changed", changed.len());
        return Ok(true);
    }
    let stale = generate::check(&root)?;
    for file in &stale {
        print!("{}", file.diff);
    }
    if stale.is_empty() {
        println!("the generated snapshot is up to date");
    } else {
        let paths: Vec<&str> = stale.iter().map(|s| s.path).collect();
        eprintln!(
            "stale: {}; run `cargo xtask generate` and commit the result",
            paths.join(", ")
        );
    }
    Ok(stale.is_empty())
}

fn run_lint(spec: &Path) -> Result<bool> {
    let findings = lint::lint(&read_text(spec)?)?;
    for finding in &findings {
        println!("{}: {finding}", spec.display());
    }
    println!("{} finding(s) in {}", findings.len(), spec.display());
    Ok(findings.is_empty())
}

/// `theirs` is the other document: where it came from, and its text.
fn run_drift(spec: &Path, theirs: (&str, String), allow: &Path, json: bool) -> Result<bool> {
    let ours = openapi::parse(&read_text(spec)?, &spec.display().to_string())?;
    let theirs = openapi::parse(&theirs.1, theirs.0)?;
    let allow_source = allow.display().to_string();
    let allow = AllowList::parse(&read_text(allow)?, &allow_source)?;
    let report = drift::compare(&ours, &theirs, &allow)?;
    if json {
        let text = serde_json::to_string_pretty(&report.findings)
            .map_err(|e| Error::new(format!("cannot encode the findings: {e}")))?;
        println!("{text}");
        // The summary goes to stderr so stdout stays one JSON document.
        eprint!("{}", drift::render_summary(&report, &allow_source));
    } else {
        print!("{}", drift::render_text(&report, &allow_source));
    }
    Ok(report.findings.is_empty())
}

fn run_probe(
    spec: &Path,
    base_url: String,
    client_id: String,
    username: Option<String>,
) -> Result<bool> {
    let spec = openapi::parse(&read_text(spec)?, &spec.display().to_string())?;
    let credentials = match username {
        Some(username) => {
            let password = password(&username)?;
            Some((username, password))
        }
        None => None,
    };
    let target = probe::Target {
        base_url,
        client_id,
        credentials,
    };
    let report = xtask::block_on(probe::probe(&spec, &target))??;
    print!("{}", report.render());
    Ok(report.is_clean())
}

/// From CLOUDBASE_PASSWORD, else standard input: a prompt without echo on a terminal,
/// the first line of a pipe otherwise. Never a flag, which would land in shell history.
fn password(username: &str) -> Result<String> {
    if let Ok(password) = std::env::var("CLOUDBASE_PASSWORD") {
        return Ok(password);
    }
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("password for {username}: "))
            .map_err(|e| Error::new(format!("cannot read the password: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::new(format!("cannot read the password from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err(Error::new(
            "no password: set CLOUDBASE_PASSWORD or pass it on standard input",
        ));
    }
    Ok(password)
}
