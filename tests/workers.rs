//! The jobs that run the close: a close cut off half way resumes after its lease, a stopping worker
//! hands its jobs back, two `alveole worker` processes close each distribution once, and mail held
//! up by an SMTP outage during a close goes out once it returns.

use crate::support::market::{Market, assert_known_results, did, mail_count, market, snapshot};
use crate::support::smtp::SmtpServer;
use crate::support::*;
use alveole::clock::Clock;
use alveole::domain::DistributionId;
use alveole::jobs;
use alveole::services::close;
use alveole::services::jobs as queue;
use chrono::{Duration, Utc};
use entity::{distributions, jobs as job_rows, outbox, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

/// Moves past the deadline and lets the scheduler stop ordering; the close job is queued, not run.
async fn reach_deadline(app: &TestApp, m: &Market) {
    app.clock.set(m.closes + Duration::seconds(1));
    let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(tick.closed, 1);
    let job = queue::find(
        &app.state.db,
        alveole::domain::job::Job::CloseDistribution(did(m)),
    )
    .await
    .expect("job")
    .expect("close job queued");
    assert_eq!(job.status, alveole::domain::job::JobStatus::Queued);
}

/// An `alveole worker` process on the test's database, killed when dropped.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(app: &TestApp) -> Worker {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alveole"));
    cmd.arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0123")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    if let Some(s) = &app.schema {
        cmd.env("DATABASE_SCHEMA", s);
    }
    Worker(cmd.spawn().expect("start alveole worker"))
}

#[tokio::test]
async fn a_close_cut_off_half_way_resumes_after_its_lease_with_nothing_done_twice() {
    each_backend(|app| async move {
        let m = market(&app).await;
        reach_deadline(&app, &m).await;
        // A first worker claims the job, gets through the first of the two steps, and dies.
        let now = app.state.now();
        let job = queue::claim(&app.state.db, "worker-a", now, None)
            .await
            .expect("claim")
            .expect("a job is due");
        assert!(close::step(&app.state, did(&m)).await.expect("step 1"));
        assert_eq!(
            distributions::Entity::find_by_id(did(&m).0)
                .one(&app.state.db)
                .await
                .expect("distribution")
                .map(|d| d.close_step),
            Some(close::EXPIRED)
        );
        assert_eq!(mail_count(&app, "minimum_missed").await, 0);
        assert_eq!(mail_count(&app, "pick_list").await, 0);
        // While its lease holds nobody else takes the job.
        jobs::run_due(&app.state, "worker-b").await.expect("run");
        let held = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("job row");
        assert_eq!(
            (held.status.as_str(), held.locked_by.as_deref()),
            ("running", Some("worker-a"))
        );
        app.clock.advance(jobs::LEASE + Duration::seconds(1));
        // The close, then the refunds it queued for the producers under their minimum.
        assert_eq!(jobs::run_due(&app.state, "worker-b").await.expect("run"), 2);
        let done = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("job row");
        assert_eq!((done.status.as_str(), done.attempts), ("done", 2));
        assert_eq!(done.locked_by.as_deref(), Some("worker-b"));
        assert_known_results(&app, &m).await;
        // The first worker wakes up late: its steps are all done, its claim is gone.
        let before = snapshot(&app, &m).await;
        assert!(!close::step(&app.state, did(&m)).await.expect("late step"));
        queue::finish(&app.state.db, &job, "worker-a")
            .await
            .expect("finish");
        assert_eq!(snapshot(&app, &m).await, before);
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            3,
            "Paul's cancellation and two below the minimum"
        );
    })
    .await;
}

#[tokio::test]
async fn two_worker_processes_close_each_distribution_once() {
    each_backend(|app| async move {
        let m = market(&app).await;
        // Two more distributions of the same hive, closed with nobody's orders.
        let hive = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution")
            .hive_id;
        let now = app.clock.now();
        let mut ids = vec![did(&m)];
        for week in 1..=2 {
            let pickup = now + Duration::days(3 + 7 * week);
            let (s, d) = m
                .manager
                .post(
                    &format!("/api/v1/hives/{hive}/distributions"),
                    json!({"orders_open_at": (now - Duration::hours(1)).to_rfc3339(),
                           "orders_close_at": (pickup - Duration::days(1)).to_rfc3339(),
                           "pickup_starts_at": pickup.to_rfc3339(),
                           "pickup_ends_at": (pickup + Duration::hours(2)).to_rfc3339()}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            let (s, _) = m
                .manager
                .post(
                    &format!(
                        "/api/v1/distributions/{}/open",
                        d["id"].as_str().unwrap_or("")
                    ),
                    json!({}),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            ids.push(DistributionId(
                d["id"].as_str().unwrap_or("0").parse().expect("id"),
            ));
        }
        // The worker processes run on the real clock: the jobs are queued at its time.
        app.clock.set(Utc::now());
        for id in &ids {
            let d = alveole::services::distributions::get(&app.state.db, *id)
                .await
                .expect("distribution");
            assert!(close::stop_ordering(&app.state, &d).await.expect("stop"));
        }
        let workers = [worker(&app), worker(&app)];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let jobs = job_rows::Entity::find()
                .filter(job_rows::Column::Kind.eq("close_distribution"))
                .all(&app.state.db)
                .await
                .expect("jobs");
            if jobs.len() == 3 && jobs.iter().all(|j| j.status == "done") {
                for j in &jobs {
                    assert_eq!(j.attempts, 1, "job {} ran once: {j:?}", j.id);
                }
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "closes not done: {jobs:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(workers);
        for id in &ids {
            let d = alveole::services::distributions::get(&app.state.db, *id)
                .await
                .expect("distribution");
            assert_eq!(d.close_step, close::SETTLED);
        }
        assert_known_results(&app, &m).await;
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn a_stopping_worker_hands_its_running_jobs_back_for_another_to_take_at_once() {
    each_backend(|app| async move {
        let m = market(&app).await;
        reach_deadline(&app, &m).await;
        let now = app.state.now();
        let job = queue::claim(&app.state.db, "worker-a", now, None)
            .await
            .expect("claim")
            .expect("the close is due");
        assert_eq!(job.attempts, 1);
        // Another worker finds nothing while worker-a holds it.
        assert!(
            queue::claim(&app.state.db, "worker-b", now, None)
                .await
                .expect("claim")
                .is_none()
        );
        assert_eq!(
            queue::hand_back(&app.state.db, "worker-a")
                .await
                .expect("hand back"),
            1
        );
        assert_eq!(
            queue::hand_back(&app.state.db, "worker-a")
                .await
                .expect("again"),
            0
        );
        let row = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("row");
        assert_eq!(
            (row.status.as_str(), row.locked_by, row.attempts),
            ("queued", None, 0)
        );
        // Taken at once, with no lease to wait out, and run to the end.
        assert_eq!(jobs::run_due(&app.state, "worker-b").await.expect("run"), 2);
        assert_known_results(&app, &m).await;
    })
    .await;
}

#[tokio::test]
async fn with_smtp_down_for_a_whole_close_every_mail_goes_out_once_it_returns() {
    each_backend(|app| async move {
        let smtp = SmtpServer::start().await;
        smtp.set_down(true);
        let transport =
            alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
        let m = market(&app).await;
        // Whatever the sale itself queued goes out first, so only the close's mail is counted.
        alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .ok();
        smtp.set_down(false);
        app.clock.advance(Duration::hours(2));
        while alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .expect("send")
            > 0
        {}
        let before = smtp.received().len();
        smtp.set_down(true);

        reach_deadline(&app, &m).await;
        jobs::run_due(&app.state, "worker").await.expect("close");
        let queued = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .all(&app.state.db)
            .await
            .expect("outbox");
        assert!(
            queued.len() >= 5,
            "pick lists, baskets and minimum mails: {}",
            queued.len()
        );
        // While SMTP is down nothing is lost: every mail stays queued with its error noted.
        assert_eq!(
            alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send"),
            0
        );
        let failed = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .all(&app.state.db)
            .await
            .expect("outbox");
        assert_eq!(failed.len(), queued.len());
        assert!(
            failed
                .iter()
                .all(|m| m.attempts == 1 && m.last_error.is_some())
        );

        smtp.set_down(false);
        app.clock.advance(Duration::hours(1));
        let mut sent = 0;
        loop {
            let n = alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send");
            if n == 0 {
                break;
            }
            sent += n;
        }
        assert_eq!(sent, queued.len());
        let received = smtp.received();
        assert_eq!(received.len() - before, queued.len(), "each mail once");
        let mut to: Vec<String> = received[before..]
            .iter()
            .flat_map(|r| r.to.clone())
            .collect();
        let mut expected: Vec<String> = queued.iter().map(|m| m.to_email.clone()).collect();
        to.sort();
        expected.sort();
        assert_eq!(to, expected);
        app.clock.advance(Duration::hours(1));
        assert_eq!(
            alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send"),
            0
        );
    })
    .await;
}
