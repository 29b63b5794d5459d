//! The Rust side of `benches/js/compare.mjs`: the same work the official JS client does,
//! timed in-process, printed as one JSON line.
//!
//! ```sh
//! cargo build --release --example bench_client
//! target/release/examples/bench_client --base-url http://127.0.0.1:PORT \
//!     --username alice --password 'Alice-pw-2024!' --calls 2000 --cycles 200
//! ```
//!
//! Work: sign in; `--warmup` untimed `me()` calls; `--calls` sequential `session.me()`
//! (`GET /auth/v1/user/me`); `--cycles` sign-in + refresh cycles
//! (`sign_in_with_password` then `refresh()`: `POST /auth/v1/signin`, `POST /auth/v1/token`).
//! One session, one keep-alive connection, a current-thread runtime (Node is
//! single-threaded too).

use std::error::Error;
use std::time::{Duration, Instant};

use cloudbase_auth::{Config, Session};

struct Args {
    base_url: String,
    client_id: String,
    username: String,
    password: String,
    calls: usize,
    cycles: usize,
    warmup: usize,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        base_url: String::new(),
        client_id: "demo-env".into(),
        username: String::new(),
        password: String::new(),
        calls: 2000,
        cycles: 200,
        warmup: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--base-url" => args.base_url = value.clone(),
            "--client-id" => args.client_id = value.clone(),
            "--username" => args.username = value.clone(),
            "--password" => args.password = value.clone(),
            "--calls" => args.calls = number()?,
            "--cycles" => args.cycles = number()?,
            "--warmup" => args.warmup = number()?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.base_url.is_empty() || args.username.is_empty() {
        return Err("--base-url and --username are required".into());
    }
    Ok(args)
}

/// Total, per-second rate and median of a list of latencies.
fn stats(latencies: &mut [Duration], total: Duration) -> serde_json::Value {
    latencies.sort_unstable();
    let p50 = latencies
        .get(latencies.len() / 2)
        .copied()
        .unwrap_or_default();
    serde_json::json!({
        "count": latencies.len(),
        "total_ms": total.as_secs_f64() * 1e3,
        "per_s": latencies.len() as f64 / total.as_secs_f64(),
        "p50_us": p50.as_secs_f64() * 1e6,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = args()?;
    let session =
        Session::new(Config::for_base_url(&args.base_url).with_client_id(&args.client_id))?;
    session
        .sign_in_with_password(&args.username, args.password.as_str())
        .await?;
    for _ in 0..args.warmup {
        session.me().await?;
    }

    let mut latencies = Vec::with_capacity(args.calls);
    let started = Instant::now();
    for _ in 0..args.calls {
        let t = Instant::now();
        std::hint::black_box(session.me().await?);
        latencies.push(t.elapsed());
    }
    let me = stats(&mut latencies, started.elapsed());

    let mut latencies = Vec::with_capacity(args.cycles);
    let started = Instant::now();
    for _ in 0..args.cycles {
        let t = Instant::now();
        session
            .sign_in_with_password(&args.username, args.password.as_str())
            .await?;
        std::hint::black_box(session.refresh().await?);
        latencies.push(t.elapsed());
    }
    let cycle = stats(&mut latencies, started.elapsed());

    let report = serde_json::json!({
        "client": concat!("cloudbase-auth ", env!("CARGO_PKG_VERSION"), " (Rust)"),
        "user_me": me,
        "sign_in_refresh_cycle": cycle,
    });
    println!("{report}");
    Ok(())
}
