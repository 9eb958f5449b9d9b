//! The benchmarks' harness: a temporary database, requests run through the router at a given concurrency, their latencies and the process's peak memory.

use super::*;

pub struct Options {
    pub json: bool,
    /// Where to build the temporary data; a fresh SQLite file when `None`.
    pub database_url: Option<String>,
    pub requests: usize,
    pub concurrency: usize,
}

/// A temporary database that is removed when the benchmark ends.
pub(crate) struct Scratch {
    pub(crate) state: AppState,
    pub(crate) file: Option<std::path::PathBuf>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
    }
}

/// A configuration of defaults on `url`: test-mode payments, mail to the log.
pub(crate) fn config(url: &str) -> AppResult<Config> {
    Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_owned()),
        "ALVEOLE_SECRET" => Some("bench-secret-bench-secret-bench-secret-00".into()),
        _ => None,
    })
    .map_err(|e| AppError::Internal(e.to_string()))
}

pub(crate) async fn scratch(opts: &Options) -> AppResult<Scratch> {
    let (url, file) = match &opts.database_url {
        Some(u) => (u.clone(), None),
        None => {
            let f = std::env::temp_dir().join(format!(
                "alveole-bench-{}-{}.db",
                std::process::id(),
                rand::random::<u32>()
            ));
            (format!("sqlite://{}?mode=rwc", f.display()), Some(f))
        }
    };
    let state = AppState::connect(config(&url)?).await?;
    if opts.database_url.is_some() {
        crate::seed::reset(&state.db).await?;
    }
    Ok(Scratch { state, file })
}

/// Latencies of one kind of request, in milliseconds.
pub(crate) struct Series {
    pub(crate) ms: Vec<f64>,
    pub(crate) wall_s: f64,
    pub(crate) errors: usize,
}

impl Series {
    pub(crate) fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
        v[i.min(v.len() - 1)]
    }

    pub(crate) fn rps(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.ms.len() as f64 / self.wall_s
        } else {
            0.0
        }
    }
}

/// A progress bar on standard error, so `--json` output stays clean.
pub(crate) struct Progress {
    pub(crate) label: String,
    pub(crate) total: usize,
    pub(crate) done: AtomicUsize,
    pub(crate) quiet: bool,
}

impl Progress {
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.quiet || (!done.is_multiple_of((self.total / 40).max(1)) && done != self.total) {
            return;
        }
        let filled = done * 30 / self.total.max(1);
        eprint!(
            "\r{:<28} [{}{}] {:>3}%",
            self.label,
            "#".repeat(filled),
            " ".repeat(30 - filled),
            done * 100 / self.total.max(1)
        );
        if done == self.total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

/// Sends `n` requests built by `make`, `concurrency` at a time, through `router`.
pub(crate) async fn run<F>(
    router: axum::Router,
    n: usize,
    concurrency: usize,
    label: &str,
    quiet: bool,
    make: F,
) -> Series
where
    F: Fn(usize) -> Request<Body> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Progress {
        label: label.to_owned(),
        total: n,
        done: AtomicUsize::new(0),
        quiet,
    });
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (router, make, next, progress) =
            (router.clone(), make.clone(), next.clone(), progress.clone());
        workers.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let ok = match router.clone().oneshot(make(i)).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
                        status == StatusCode::OK && body.is_ok()
                    }
                    Err(_) => false,
                };
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
                progress.tick();
            }
            (ms, errors)
        }));
    }
    let mut series = Series {
        ms: Vec::with_capacity(n),
        wall_s: 0.0,
        errors: 0,
    };
    for w in workers {
        if let Ok((ms, errors)) = w.await {
            series.ms.extend(ms);
            series.errors += errors;
        }
    }
    series.wall_s = start.elapsed().as_secs_f64();
    series
}

pub(crate) fn backend_name(state: &AppState) -> &'static str {
    match state.db.get_database_backend() {
        DbBackend::Postgres => "PostgreSQL",
        _ => "SQLite",
    }
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The most memory this process has held since [`reset_peak_rss`], in MiB (Linux; 0 elsewhere).
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the peak memory count again, so it measures the close and not the setup before it.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
