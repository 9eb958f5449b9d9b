//! The `alveole` command: serve the marketplace, migrate the database, load the demo.

use alveole::config::Config;
use alveole::{AppState, db, seed, web};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "alveole",
    version,
    about = "Alvéole: pre-order local food, collected at a weekly pickup"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (the default); an empty database gets the demo first when
    /// listening on a loopback address.
    Serve {
        /// Do not load the demo into an empty database.
        #[arg(long, conflicts_with = "demo")]
        no_demo: bool,
        /// Load the demo into an empty database even when listening beyond this machine.
        #[arg(long)]
        demo: bool,
    },
    /// Manage platform admins.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database to a new file while the site keeps running (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        target: std::path::PathBuf,
    },
    /// Measure the shop, checkout or close on a temporary database (use a release build).
    Bench {
        #[command(subcommand)]
        which: BenchKind,
        /// Print one JSON object instead of a table.
        #[arg(long, global = true)]
        json: bool,
        /// Build the data here instead of a temporary SQLite file (its records are deleted first).
        #[arg(long, global = true)]
        database_url: Option<String>,
    },
    /// Run the background workers alone (jobs, scheduler, mail), for deployments that split web and jobs.
    Worker,
    /// Close a distribution now: stop ordering if it is still open, then settle it (resumes a close cut off half-way).
    Close {
        /// The distribution's id.
        distribution: i64,
    },
    /// Replay the demand history week by week: the forecast's error beside "same as last week".
    ForecastBacktest {
        /// Replay this database's history (only read) instead of the demo's, loaded in a temporary database.
        #[arg(long)]
        database_url: Option<String>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load the demo hive, producers, products and members (safe to run again).
    Seed {
        /// Delete every record first, then load the demo.
        #[arg(long)]
        reset: bool,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Make `email` a platform admin (creating the account if needed) and print a one-time link
    /// to set its password, also sent by mail.
    Add {
        /// The admin's e-mail address.
        email: String,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum BenchKind {
    /// The shop page and offers API of a 10,000-offer distribution, beside a bare baseline.
    Shop {
        #[arg(long, default_value_t = 400)]
        requests: usize,
        /// Requests in flight at once; the default keeps both cores of a small server busy.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
    },
    /// 500 members checking out at once from 50 scarce offers.
    Checkout,
    /// The close of a distribution of 10,000 orders and 100,000 lines, beside one GROUP BY.
    Close,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("alveole: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.json_logs);
    match run(
        cli.command.unwrap_or(Command::Serve {
            no_demo: false,
            demo: false,
        }),
        config,
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alveole: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(db::LOG_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init()
    } else {
        builder.init()
    }
}

async fn run(command: Command, config: Config) -> Result<(), alveole::error::AppError> {
    match command {
        Command::Bench {
            which,
            json,
            database_url,
        } => {
            let result = match which {
                BenchKind::Shop {
                    requests,
                    concurrency,
                } => {
                    alveole::bench::shop(alveole::bench::Options {
                        json,
                        database_url,
                        requests,
                        concurrency,
                    })
                    .await?
                }
                BenchKind::Close => {
                    alveole::bench::close(alveole::bench::Options {
                        json,
                        database_url,
                        requests: 0,
                        concurrency: 0,
                    })
                    .await?
                }
                BenchKind::Checkout => {
                    alveole::bench::checkout(alveole::bench::Options {
                        json,
                        database_url,
                        requests: 500,
                        concurrency: 500,
                    })
                    .await?
                }
            };
            if json {
                println!("{result}");
            }
        }
        Command::Migrate => {
            let conn = db::connect(&config.database_url, config.database_schema.as_deref()).await?;
            db::migrate(&conn).await?;
            println!("Database is up to date.");
        }
        Command::Backup { target } => {
            let conn = db::connect(&config.database_url, config.database_schema.as_deref()).await?;
            if let Err(why) = db::backup(&conn, &target).await {
                eprintln!("alveole: {why}");
                std::process::exit(2);
            }
            println!("Backup written to {}.", target.display());
        }
        Command::Seed { reset } => {
            let state = AppState::connect(config).await?;
            if reset {
                seed::reset(&state.db).await?;
            }
            let r = seed::run(&state).await?;
            println!(
                "Demo loaded: {} accounts, {} hive, {} producers, {} products, {} memberships, {} photos added.",
                r.users, r.hives, r.producers, r.products, r.memberships, r.photos
            );
        }
        Command::ForecastBacktest { database_url, json } => {
            let result = alveole::backtest::forecast_backtest(database_url, json).await?;
            if json {
                println!("{result}");
            }
        }
        Command::Worker => {
            let state = AppState::connect(config).await?;
            let worker = spawn_workers(&state)?;
            println!("Alvéole worker running: jobs, scheduler and mail.");
            shutdown().await;
            hand_back(&state, &worker).await?;
        }
        Command::Close { distribution } => {
            let state = AppState::connect(config).await?;
            let id = alveole::domain::DistributionId(distribution);
            let report = alveole::jobs::close_distribution::now(&state, id).await?;
            println!("{report}");
        }
        Command::Admin {
            action: AdminAction::Add { email },
        } => {
            let state = AppState::connect(config).await?;
            let link = alveole::services::admins::add(&state, &email).await?;
            println!(
                "{email} is a platform admin. To set the password (valid 24 hours, once):\n{link}"
            );
            // The mail is in the outbox; send it now rather than at the next serve.
            let transport =
                alveole::mail::sender::Transport::from_url(state.config.smtp_url.as_deref())?;
            if let Err(e) = alveole::jobs::send_mail::send_due(&state, &transport).await {
                eprintln!("The link was not mailed yet ({e}); it will be sent by the next serve.");
            }
        }
        Command::Serve { no_demo, demo } => {
            let addr = config.addr;
            let base_url = config.base_url.clone();
            let state = AppState::connect(config).await?;
            let empty = seed::is_empty(&state.db).await?;
            let load = seed::demo_wanted(
                &addr,
                seed::DemoFlags { no_demo, demo },
                state.config.stripe_secret_key.is_some(),
            );
            if empty && load {
                seed::run(&state).await?;
            } else if empty && !no_demo && !demo {
                println!(
                    "The database is empty and {addr} is not a loopback address, so no demo (its \
                     passwords are public) was loaded. Run `alveole admin add <email>` for the \
                     first admin, or `alveole serve --demo` to load the demo anyway."
                );
            }
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                alveole::error::AppError::Internal(format!("cannot listen on {addr}: {e}"))
            })?;
            println!("Alvéole is running at {base_url}");
            if let Ok(logins) = seed::demo_logins()
                && empty
                && load
            {
                println!(
                    "Demo logins (password \"{}\"): member {}, producer {}, manager {}, admin {}",
                    logins.password, logins.member, logins.producer, logins.manager, logins.admin
                );
            }
            // Jobs, mail and the scheduler run beside the web server; all are safe with several processes.
            let worker = spawn_workers(&state)?;
            if state.config.stripe_secret_key.is_none() {
                println!("Payments are in test mode; no card is ever charged.");
            }
            // Requests under way finish before the server stops; then the jobs go back.
            axum::serve(
                listener,
                web::router(state.clone())
                    .into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| alveole::error::AppError::Internal(format!("server: {e}")))?;
            hand_back(&state, &worker).await?;
        }
    }
    Ok(())
}

/// Starts the job runner, the scheduler and the mail sender in the background; the runner's name.
fn spawn_workers(state: &AppState) -> Result<String, alveole::error::AppError> {
    let transport = alveole::mail::sender::Transport::from_url(state.config.smtp_url.as_deref())?;
    if state.config.smtp_url.is_none() {
        println!("No SMTP_URL: mail is written to the log.");
    }
    tokio::spawn(alveole::jobs::send_mail::run(state.clone(), transport));
    tokio::spawn(alveole::scheduler::run(
        state.clone(),
        std::time::Duration::from_secs(30),
    ));
    let worker = alveole::jobs::worker_id();
    tokio::spawn(alveole::jobs::run(state.clone(), worker.clone()));
    Ok(worker)
}

/// After a stop signal: the jobs this process was running go back to the queue for another worker.
async fn hand_back(state: &AppState, worker: &str) -> Result<(), alveole::error::AppError> {
    let n = alveole::services::jobs::hand_back(&state.db, worker).await?;
    println!("Stopped: {n} running job(s) handed back.");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
