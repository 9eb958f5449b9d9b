//! A real browser (headless Chromium through chromedriver): a visitor joins the demo hive and orders; after the close, a producer prints its pick list and the manager ticks a basket.

use crate::support::*;
use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

async fn start_driver() -> Option<Driver> {
    let driver = find(&["chromedriver"])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let d = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Chromedriver for a journey; `None` when `ALVEOLE_SKIP_BROWSER=1`, a failure when it is missing.
async fn driver_unless_skipped() -> Option<Driver> {
    if std::env::var("ALVEOLE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("browser test skipped: ALVEOLE_SKIP_BROWSER=1");
        return None;
    }
    let driver = start_driver().await;
    assert!(
        driver.is_some(),
        "chromedriver not found: install chromium and chromium-driver (see .ci/run), or set ALVEOLE_SKIP_BROWSER=1"
    );
    driver
}

/// Headless Chromium at a phone's width, in `lang`.
async fn chromium(driver: &Driver, lang: &str) -> fantoccini::Client {
    let chrome = find(&["chromium", "chromium-browser", "google-chrome"])
        .unwrap_or_else(|| "chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--window-size=412,900", format!("--lang={lang}")]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("start Chromium")
}

/// A journey's screenshots: one per page it reached, written out as test artefacts if a step fails.
struct Journey {
    name: &'static str,
    shots: Vec<(String, Vec<u8>)>,
}

impl Journey {
    fn new(name: &'static str) -> Journey {
        Journey {
            name,
            shots: Vec::new(),
        }
    }

    /// Keeps a picture of the page as it is after `step`.
    async fn shot(&mut self, c: &fantoccini::Client, step: &str) {
        if let Ok(png) = c.screenshot().await {
            self.shots.push((step.to_owned(), png));
        }
    }

    /// Writes every page's picture and the one the journey stopped on, and says where.
    async fn keep(&self, c: &fantoccini::Client) {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(self.name);
        let _ = std::fs::remove_dir_all(&dir);
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        for (i, (step, png)) in self.shots.iter().enumerate() {
            let file: String = step
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
                .collect();
            let _ = std::fs::write(dir.join(format!("{:02}-{file}.png", i + 1)), png);
        }
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(dir.join("failed-here.png"), png);
        }
        if let Ok(url) = c.current_url().await {
            eprintln!("the {} journey stopped at {url}", self.name);
        }
        eprintln!("screenshots of each page saved in {}", dir.display());
    }
}

async fn log_in(
    c: &fantoccini::Client,
    app: &TestApp,
    email: &str,
) -> Result<(), fantoccini::error::CmdError> {
    log_in_with(c, app, email, "correct horse battery").await
}

async fn log_in_with(
    c: &fantoccini::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> Result<(), fantoccini::error::CmdError> {
    c.delete_all_cookies().await?;
    c.goto(&app.url("/login")).await?;
    c.find(Locator::Id("f-email"))
        .await?
        .send_keys(email)
        .await?;
    c.find(Locator::Id("f-password"))
        .await?
        .send_keys(password)
        .await?;
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await?
        .click()
        .await?;
    // Signed in once the page that follows shows the account link.
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("header.top a[href='/account']"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn after_the_close_a_producer_prints_and_downloads_its_list_and_the_manager_ticks_a_basket() {
    let Some(driver) = driver_unless_skipped().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let m = crate::support::market::market(&app).await;
    let d = m.distribution.clone();
    let garden = m.farms["Les Jardins"].clone();
    let (s, _) = m
        .manager
        .post(
            &format!("/api/v1/distributions/{d}/close"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let c = chromium(&driver, "en-GB").await;
    let result: Result<(), fantoccini::error::CmdError> = async {
        // The producer: its pick list, printed to PDF, and its CSV fetched from the page's link.
        log_in(&c, &app, "julien@example.fr").await?;
        c.goto(&app.url(&format!("/distributions/{d}/producers/{garden}/pick-list")))
            .await?;
        let totals = c.find_all(Locator::Css("table.pick td.qty")).await?;
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].text().await?, "5");
        let bags = c.find_all(Locator::Css(".bag")).await?;
        assert_eq!(bags.len(), 3);
        let pdf = c.print(fantoccini::wd::PrintConfiguration::default()).await?;
        assert!(pdf.starts_with(b"%PDF") && pdf.len() > 1000, "a printable page");
        let mut files = Vec::new();
        for link in ["csv-link", "csv-link-intl"] {
            let href = c
                .find(Locator::Id(link))
                .await?
                .attr("href")
                .await?
                .expect("csv link");
            let csv = c
                .execute_async(
                    "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);",
                    vec![serde_json::json!(href)],
                )
                .await?;
            files.push(csv.as_str().unwrap_or_default().to_owned());
        }
        let (french, csv) = (&files[0], &files[1]);
        assert!(csv.contains(r#""basket","member","product_id","product","unit","quantity""#), "{csv}");
        assert!(csv.contains(r#","Zoé","#) && csv.contains(r#","Poireaux","pièce",2"#), "{csv}");
        assert!(french.contains(r#""basket";"member";"product_id""#), "the French layout: {french}");
        assert!(french.contains(r#";"Poireaux";"pièce";2"#), "{french}");

        // The manager at the pickup table, on a phone: ticks Zoé's basket.
        log_in(&c, &app, "gerant@example.fr").await?;
        c.goto(&app.url(&format!("/distributions/{d}/pickup"))).await?;
        c.find(Locator::Css("#basket-3 form.tick button"))
            .await?
            .click()
            .await?;
        // The tick posts and comes back to the sheet: wait for the page it comes back to.
        let ticked = c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("li.basket.collected .member"))
            .await?;
        assert_eq!(ticked.text().await?, "Zoé");
        let summary = c.find(Locator::Id("collected-summary")).await?.text().await?;
        assert_eq!(summary, "1 of 3 baskets collected");
        let pdf = c.print(fantoccini::wd::PrintConfiguration::default()).await?;
        assert!(pdf.starts_with(b"%PDF"), "the pickup sheet prints");
        Ok(())
    }
    .await;
    if result.is_err() {
        Journey::new("pickup").keep(&c).await;
    }
    let _ = c.close().await;
    result.expect("browser journey after the close");
    app.finish().await;
}

#[tokio::test]
async fn a_visitor_signs_up_joins_the_demo_hive_and_sees_its_producers() {
    let Some(driver) = driver_unless_skipped().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let smtp = crate::support::smtp::SmtpServer::start().await;

    let c = chromium(&driver, "fr-FR").await;

    let mut member = Journey::new("member");
    let journey = std::panic::AssertUnwindSafe(async {
        c.goto(&app.url("/signup")).await?;
        member.shot(&c, "sign-up").await;
        c.find(Locator::Id("f-name"))
            .await?
            .send_keys("Inès Navigatrice")
            .await?;
        c.find(Locator::Id("f-email"))
            .await?
            .send_keys("ines@example.fr")
            .await?;
        c.find(Locator::Id("f-password"))
            .await?
            .send_keys("correct horse battery")
            .await?;
        c.find(Locator::Css("#f-locale option[value=fr]"))
            .await?
            .click()
            .await?;
        c.find(Locator::Css("form[action='/signup'] button[type=submit]"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Css(".flash")).await?;
        assert!(c.current_url().await?.path().ends_with("/me"));
        let welcome = c.find(Locator::Css(".flash")).await?.text().await?;
        assert!(
            welcome.contains("Bienvenue"),
            "the account speaks the language chosen: {welcome}"
        );

        member.shot(&c, "account").await;
        c.goto(&app.url("/hives")).await?;
        c.find(Locator::Id("f-place"))
            .await?
            .send_keys("37000")
            .await?;
        c.find(Locator::Css("form.search button[type=submit]"))
            .await?
            .click()
            .await?;
        // The list is on the page before the search too: wait for the results page itself.
        for _ in 0..100 {
            if c.current_url()
                .await?
                .query()
                .is_some_and(|q| q.contains("place=37000"))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.wait()
            .for_element(Locator::Css(".hive-list li a"))
            .await?
            .click()
            .await?;
        c.wait()
            .for_element(Locator::Id("join"))
            .await?
            .click()
            .await?;
        let flash = c
            .wait()
            .for_element(Locator::Css(".flash"))
            .await?
            .text()
            .await?;
        assert!(flash.contains("Vous avez rejoint la ruche"), "{flash}");
        member.shot(&c, "hive joined").await;
        let producers = c.find_all(Locator::Css(".producers .producer")).await?;
        assert_eq!(producers.len(), 7);
        let first = producers[0].text().await?;
        assert!(
            first.contains("km"),
            "each producer shows its distance: {first}"
        );

        // The demo's open distribution: fill a basket, pay in test mode, see the confirmation.
        c.find(Locator::Css(".distributions .distribution a.button"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Css("#shop-form")).await?;
        member.shot(&c, "shop").await;
        let banner = c.find(Locator::Css(".test-mode")).await?.text().await?;
        assert!(banner.contains("Mode test"), "{banner}");
        // More than is left of a capped product is refused at once, the product named.
        let refused = c
            .execute(
                "const input = [...document.querySelectorAll('#shop-form input[data-too-many]')]                    .find(i => i.closest('.offer').querySelector('.stock'));                  if (!input) return null;                  input.id = 'too-many';                  return [input.getAttribute('max'), input.closest('.offer').querySelector('.name').textContent];",
                vec![],
            )
            .await?;
        if let Some([max, name]) = refused.as_array().map(Vec::as_slice) {
            let over = (max.as_str().unwrap_or("0").parse::<i64>().unwrap_or(0) + 1).to_string();
            c.find(Locator::Id("too-many"))
                .await?
                .send_keys(&over)
                .await?;
            let note = c
                .wait()
                .for_element(Locator::Id("too-many-live"))
                .await?
                .text()
                .await?;
            let name = name.as_str().unwrap_or_default();
            assert!(
                note.starts_with("Il ne reste que") && note.contains(name),
                "{note}"
            );
            member.shot(&c, "shop too many").await;
            c.find(Locator::Id("too-many")).await?.clear().await?;
        }
        // One product without a cap from each of the two nearest producers (the demo's open
        // orders may have taken most of a capped one, depending on the day), added in one go.
        c.execute(
            "const shelves = [...document.querySelectorAll('#shop-form .shelf')];              let n = 0;              for (const shelf of shelves) {                const li = [...shelf.querySelectorAll('li')]                  .find(li => li.querySelector('input[name^=qty_]') && !li.querySelector('.stock'));                if (li && n < 2) li.querySelector('input').id = 'pick-' + n++;              }",
            vec![],
        )
        .await?;
        c.find(Locator::Id("pick-0")).await?.send_keys("2").await?;
        c.find(Locator::Id("pick-1")).await?.send_keys("1").await?;
        c.find(Locator::Css("#shop-form button.add"))
            .await?
            .click()
            .await?;
        let flash = c
            .wait()
            .for_element(Locator::Css(".flash"))
            .await?
            .text()
            .await?;
        assert!(flash.contains("panier"), "{flash}");
        let back = c
            .execute(
                "return [window.scrollY, location.hash, document.querySelectorAll('.offer .in-basket').length];",
                vec![],
            )
            .await?;
        assert!(
            back[0].as_f64().unwrap_or(0.0) > 0.0
                && back[1].as_str().is_some_and(|h| h.starts_with("#o-"))
                && back[2].as_i64() == Some(2),
            "the page comes back where the member was, both lines in the basket: {back}"
        );
        member.shot(&c, "shop added").await;
        c.find(Locator::Css(".basket-link a"))
            .await?
            .click()
            .await?;
        let total = c
            .wait()
            .for_element(Locator::Id("total"))
            .await?
            .text()
            .await?;
        member.shot(&c, "basket").await;
        c.find(Locator::Id("pay")).await?.click().await?;
        let status = c
            .wait()
            .for_element(Locator::Id("order-status"))
            .await?
            .text()
            .await?;
        assert_eq!(status, "payée");
        assert_eq!(c.find(Locator::Id("total")).await?.text().await?, total);
        member.shot(&c, "order paid").await;
        let paid_note = c.find(Locator::Css(".test-mode")).await?.text().await?;
        assert!(paid_note.contains("mode test"), "{paid_note}");

        // A demo producer opens its harvest plan on a phone and sees a chart per product.
        log_in_with(&c, &app, "maraicher@alveole.test", "alveole-demo").await?;
        c.set_window_size(390, 844).await?;
        c.goto(&app.url("/me")).await?;
        c.find(Locator::Css(".plan-link")).await?.click().await?;
        c.wait()
            .for_element(Locator::Css("svg.demand-chart"))
            .await?;
        let charts = c.find_all(Locator::Css("svg.demand-chart")).await?;
        let products = c.find_all(Locator::Css(".plan-product")).await?;
        assert!(!charts.is_empty() && charts.len() == products.len());
        let drawn = c
            .execute(
                "const s = document.querySelector('svg.demand-chart'); \
                 const r = s.getBoundingClientRect(); \
                 return [r.width, r.height, window.innerWidth, s.querySelectorAll('circle.week').length];",
                vec![],
            )
            .await?;
        let n = |i: usize| drawn[i].as_f64().unwrap_or(0.0);
        assert!(
            n(0) > 200.0 && n(0) <= n(2),
            "the chart fits the phone: {drawn}"
        );
        assert!(n(1) > 80.0, "{drawn}");
        assert!(n(3) >= 4.0, "past weeks are drawn: {drawn}");
        Ok::<(), fantoccini::error::CmdError>(())
    });
    let result = futures_util::FutureExt::catch_unwind(journey).await;
    if !matches!(result, Ok(Ok(()))) {
        member.keep(&c).await;
    }
    let _ = c.close().await;
    match result {
        Ok(r) => r.expect("browser journey"),
        Err(panic) => std::panic::resume_unwind(panic),
    }

    // The confirmation mail reaches the SMTP server, in the language the member chose.
    let transport =
        alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
    alveole::jobs::send_mail::send_due(&app.state, &transport)
        .await
        .expect("send");
    let mail = smtp
        .received()
        .into_iter()
        .find(|m| m.to == ["ines@example.fr"] && m.subject().contains("commande"))
        .expect("a mail to the member about the order");
    assert_eq!(
        mail.subject(),
        "Votre commande à La Ruche des Halles de Tours est confirmée"
    );
    assert!(mail.body().contains("Mode test"), "{}", mail.body());
    // Mail clients offer their own unsubscribe button from the header.
    let unsubscribe = mail
        .header("List-Unsubscribe")
        .expect("a List-Unsubscribe header");
    assert!(
        unsubscribe.contains("/unsubscribe/order_confirmed."),
        "{unsubscribe}"
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    app.finish().await;
}

/// Sets a date-and-time field as a person picking in the browser's widget would end up.
async fn set_local_time(
    c: &fantoccini::Client,
    id: &str,
    at: chrono::DateTime<chrono_tz::Tz>,
) -> Result<(), fantoccini::error::CmdError> {
    c.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        vec![
            serde_json::json!(id),
            serde_json::json!(at.format("%Y-%m-%dT%H:%M").to_string()),
        ],
    )
    .await?;
    Ok(())
}

async fn click(c: &fantoccini::Client, css: &str) -> Result<(), fantoccini::error::CmdError> {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?
        .click()
        .await
}

async fn text_of(c: &fantoccini::Client, css: &str) -> Result<String, fantoccini::error::CmdError> {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?
        .text()
        .await
}

/// What a journey step can fail with: the browser's error or a check that did not hold.
type Step = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn ensure(ok: bool, what: impl Into<String>) -> Step {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// Waits for the page a form leads to, by a flash message containing `words`.
async fn flash_says(c: &fantoccini::Client, words: &str) -> Step {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(f) = c.find(Locator::Css(".flash")).await {
            seen = f.text().await.unwrap_or_default();
            if seen.contains(words) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("expected a message with {words:?}, saw {seen:?}").into())
}

/// Waits until the status badge of the manage page reads `want`.
async fn status_becomes(c: &fantoccini::Client, want: &str) -> Step {
    let mut seen = String::new();
    for _ in 0..100 {
        // The page may be replaced while it is read: that is not an answer yet.
        if let Ok(t) = text_of(c, "#status").await {
            seen = t;
        }
        if seen == want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("status {seen:?}, expected {want:?}").into())
}

#[tokio::test]
async fn a_manager_and_a_producer_run_a_pickup_from_creation_to_completion() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let Some(driver) = driver_unless_skipped().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let hive = app.seeded_hive().await;
    let owner = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("maraicher@alveole.test"))
        .one(&app.state.db)
        .await
        .expect("owner")
        .expect("the market gardener");
    let farm = entity::producers::Entity::find()
        .filter(entity::producers::Column::OwnerId.eq(owner.id))
        .one(&app.state.db)
        .await
        .expect("farm")
        .expect("the market garden");
    let tz: chrono_tz::Tz = hive.timezone.parse().expect("timezone");
    let now = alveole::clock::Clock::now(&app.clock).with_timezone(&tz);
    let c = chromium(&driver, "en-GB").await;
    let mut manager = Journey::new("manager");
    let mut producer = Journey::new("producer");
    let mut created = None;

    // The demo's people read French.
    let result: Step = async {
        // The manager plans a pickup three days ahead, ordering opening in an hour.
        log_in_with(&c, &app, "gerant@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!("/hives/{}/distributions", hive.id))).await?;
        manager.shot(&c, "distributions").await;
        set_local_time(&c, "f-orders_open_at", now + chrono::Duration::hours(1)).await?;
        set_local_time(&c, "f-orders_close_at", now + chrono::Duration::days(2)).await?;
        set_local_time(&c, "f-pickup_starts_at", now + chrono::Duration::days(3)).await?;
        set_local_time(&c, "f-pickup_ends_at", now + chrono::Duration::days(3) + chrono::Duration::hours(2)).await?;
        click(&c, &format!("form[action='/hives/{}/distributions#one'] button[type=submit]", hive.id)).await?;
        flash_says(&c, "Distribution créée").await?;
        manager.shot(&c, "created").await;
        let d = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::HiveId.eq(hive.id))
            .filter(entity::distributions::Column::Status.eq("draft"))
            .order_by_desc(entity::distributions::Column::Id)
            .one(&app.state.db)
            .await
            .expect("distribution")
            .expect("the new distribution");
        created = Some(d.id);

        // The market gardener takes part and lists two products, one of them limited.
        log_in_with(&c, &app, "maraicher@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!("/producers/{}/distributions", farm.id))).await?;
        producer.shot(&c, "coming distributions").await;
        click(&c, &format!("li[data-distribution-id='{}'] a[href$='/producers/{}']", d.id, farm.id)).await?;
        let min = c.wait().for_element(Locator::Id("f-min_order")).await?;
        min.clear().await?;
        min.send_keys("0").await?;
        click(&c, "form[action$='/join'] button[type=submit]").await?;
        flash_says(&c, "").await?;
        producer.shot(&c, "joined").await;
        for (listed, cap) in [(1, "12"), (2, "")] {
            let field = c.wait().for_element(Locator::Id("f-quantity_available")).await?;
            field.clear().await?;
            field.send_keys(cap).await?;
            click(&c, "form[action$='/offers'] button[type=submit]").await?;
            let mut rows = 0;
            for _ in 0..100 {
                rows = c.find_all(Locator::Css("table.offers tr[data-offer-id]")).await?.len();
                if rows == listed {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ensure(rows == listed, format!("{listed} offer(s) listed, saw {rows}"))?;
        }
        producer.shot(&c, "offers listed").await;

        // The manager opens ordering now.
        log_in_with(&c, &app, "gerant@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!("/distributions/{}/manage", d.id))).await?;
        click(&c, &format!("form[action='/distributions/{}/open'] button", d.id)).await?;
        status_becomes(&c, "ventes ouvertes").await?;
        manager.shot(&c, "opened").await;

        // Two members order (their own journey has its own test).
        let offers: Vec<i64> = entity::offers::Entity::find()
            .filter(entity::offers::Column::DistributionId.eq(d.id))
            .order_by_asc(entity::offers::Column::Id)
            .all(&app.state.db)
            .await
            .expect("offers")
            .into_iter()
            .map(|o| o.id)
            .collect();
        for email in ["camille.durand@alveole.test", "lucas.martin@alveole.test"] {
            let mut member = app.api();
            let (s, v) = member
                .post("/api/v1/session", serde_json::json!({"email": email, "password": "alveole-demo"}))
                .await;
            if !s.is_success() {
                continue;
            }
            member.token = v["token"].as_str().map(str::to_owned);
            member
                .post(&format!("/api/v1/hives/{}/members", hive.id), serde_json::json!({}))
                .await;
            let (s, o) = member
                .post(
                    &format!("/api/v1/distributions/{}/orders", d.id),
                    serde_json::json!({"lines": [{"offer_id": offers[0].to_string(), "quantity": 3},
                                                 {"offer_id": offers[1].to_string(), "quantity": 1}]}),
                )
                .await;
            ensure(s == reqwest::StatusCode::CREATED, format!("order: {o}"))?;
        }

        // The manager closes ordering: the pickup sheet appears.
        c.goto(&app.url(&format!("/distributions/{}/manage", d.id))).await?;
        click(&c, "#close-now").await?;
        let what = text_of(&c, "#confirm-what").await?;
        ensure(
            what.contains("Commandes payées arrêtées"),
            format!("closing says what it will do: {what}"),
        )?;
        manager.shot(&c, "close confirmation").await;
        click(&c, "#confirm").await?;
        click(&c, "#pickup-sheet").await?;
        c.wait().for_element(Locator::Id("collected-summary")).await?;
        manager.shot(&c, "pickup sheet").await;

        // The market gardener sees its pick list and reports one carrot short.
        log_in_with(&c, &app, "maraicher@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!("/producers/{}/distributions", farm.id))).await?;
        click(&c, &format!("li[data-distribution-id='{}'] a.pick-list-link", d.id)).await?;
        let totals = c.wait().for_element(Locator::Css("table.pick td.qty")).await?;
        let first_total: i64 = totals.text().await?.trim().parse().unwrap_or(0);
        ensure(first_total >= 3, format!("the pick list adds up the orders: {first_total}"))?;
        producer.shot(&c, "pick list").await;
        let delivered = c.find(Locator::Css("#shortages input.qty-input")).await?;
        let ordered: i64 = delivered.prop("value").await?.unwrap_or_default().parse().unwrap_or(0);
        delivered.clear().await?;
        delivered.send_keys(&(ordered - 1).to_string()).await?;
        click(&c, "#shortages button[type=submit]").await?;
        let what = text_of(&c, "#confirm-what").await?;
        ensure(
            what.contains("1 membre remboursé, "),
            format!("a shortage says who is refunded: {what}"),
        )?;
        producer.shot(&c, "shortage confirmation").await;
        click(&c, "#confirm").await?;
        flash_says(&c, "Manques enregistrés").await?;
        producer.shot(&c, "shortage recorded").await;

        // The manager ticks every basket at the pickup table, then completes the pickup.
        log_in_with(&c, &app, "gerant@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!("/distributions/{}/pickup", d.id))).await?;
        let baskets = c.find_all(Locator::Css("li.basket")).await?.len();
        ensure(baskets >= 1, "baskets on the sheet")?;
        for n in 0..baskets {
            let open = c.find_all(Locator::Css("li.basket:not(.collected) form.tick button")).await?;
            let Some(button) = open.into_iter().next() else { break };
            button.click().await?;
            for _ in 0..100 {
                if c.find_all(Locator::Css("li.basket.collected")).await?.len() > n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let summary = text_of(&c, "#collected-summary").await?;
        ensure(
            summary == format!("{baskets} paniers retirés sur {baskets}"),
            format!("every basket ticked: {summary}"),
        )?;
        manager.shot(&c, "baskets collected").await;
        c.goto(&app.url(&format!("/distributions/{}/manage", d.id))).await?;
        click(&c, "#complete-now").await?;
        let what = text_of(&c, "#confirm-what").await?;
        ensure(
            what.contains("producteurs à payer") || what.contains("producteur à payer"),
            format!("completing says who is paid: {what}"),
        )?;
        manager.shot(&c, "complete confirmation").await;
        click(&c, "#confirm").await?;
        status_becomes(&c, "terminée").await?;
        manager.shot(&c, "completed").await;
        Ok(())
    }
    .await;
    if result.is_err() {
        manager.keep(&c).await;
        producer.keep(&c).await;
    }
    let _ = c.close().await;
    result.expect("the manager's and the producer's journey");
    let d = created.expect("a distribution");
    let refunds = entity::refunds::Entity::find()
        .filter(entity::refunds::Column::Reason.eq("shortage"))
        .all(&app.state.db)
        .await
        .expect("refunds");
    assert_eq!(
        refunds.len(),
        1,
        "one member refunded for the missing carrot"
    );
    let row = entity::distributions::Entity::find_by_id(d)
        .one(&app.state.db)
        .await
        .expect("d")
        .expect("row");
    assert_eq!(row.status, "completed");
    app.finish().await;
}

/// The demo's places the page checks visit: its open and last closed distributions, its hive,
/// and the market gardener's farm.
struct Demo {
    open: i64,
    closed: i64,
    hive: i64,
    farm: i64,
}

async fn demo(app: &TestApp) -> Demo {
    use chrono::Datelike;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    // The demo is loaded as of the last Wednesday noon, whatever the day the tests run: the
    // Thursday pickup is then closed with its pick lists, and next Thursday's sale is open.
    let now = chrono::Utc::now();
    let back = (now.weekday().num_days_from_monday() + 7
        - chrono::Weekday::Wed.num_days_from_monday())
        % 7;
    let mut wednesday = (now - chrono::Duration::days(i64::from(back)))
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .expect("noon")
        .and_utc();
    if wednesday > now {
        wednesday -= chrono::Duration::days(7);
    }
    app.clock.set(wednesday);
    let open = app.seeded_open_distribution().await.id;
    let db = &app.state.db;
    let closed = entity::distributions::Entity::find()
        .filter(entity::distributions::Column::Status.eq("closed"))
        .order_by_desc(entity::distributions::Column::PickupStartsAt)
        .one(db)
        .await
        .expect("query")
        .expect("the demo's last closed distribution")
        .id;
    let hive = app.seeded_hive().await.id;
    let gardener = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("maraicher@alveole.test"))
        .one(db)
        .await
        .expect("query")
        .expect("the demo's market gardener");
    let farm = entity::producers::Entity::find()
        .filter(entity::producers::Column::OwnerId.eq(gardener.id))
        .one(db)
        .await
        .expect("query")
        .expect("its farm")
        .id;
    Demo {
        open,
        closed,
        hive,
        farm,
    }
}

#[tokio::test]
async fn no_page_of_the_demo_is_wider_than_a_phone_for_any_role() {
    use sea_orm::{EntityTrait, QueryOrder};
    let Some(driver) = driver_unless_skipped().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let Demo {
        open,
        closed,
        hive,
        farm,
    } = demo(&app).await;
    let db = &app.state.db;
    let invoice = entity::invoices::Entity::find()
        .order_by_asc(entity::invoices::Column::Id)
        .one(db)
        .await
        .expect("query")
        .map(|i| i.id);
    let mut by_role: Vec<(&str, Vec<String>)> = vec![
        (
            "camille.durand@alveole.test",
            vec![
                "/me".into(),
                format!("/distributions/{open}"),
                format!("/distributions/{open}/basket"),
                "/orders".into(),
                format!("/hives/{hive}"),
                "/account/mail".into(),
            ],
        ),
        (
            "maraicher@alveole.test",
            vec![
                "/me".into(),
                format!("/producers/{farm}/distributions"),
                format!("/distributions/{open}/producers/{farm}"),
                format!("/distributions/{closed}/producers/{farm}/pick-list"),
                format!("/distributions/{closed}/payouts"),
                format!("/producers/{farm}/products"),
                format!("/producers/{farm}/plan"),
                "/account/mail".into(),
            ],
        ),
        (
            "gerant@alveole.test",
            vec![
                format!("/distributions/{open}/manage"),
                format!("/distributions/{closed}/manage"),
                format!("/distributions/{closed}/pickup"),
                format!("/distributions/{closed}/pick-lists"),
                format!("/hives/{hive}/distributions"),
                format!("/hives/{hive}/dashboard"),
            ],
        ),
    ];
    if let Some(i) = invoice {
        by_role[1].1.push(format!("/invoices/{i}"));
    }
    let c = chromium(&driver, "fr-FR").await;
    let mut phone = Journey::new("phone");
    let result = std::panic::AssertUnwindSafe(async {
        c.set_window_size(390, 844).await?;
        let width =
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];";
        let mut wide = Vec::new();
        for (email, pages) in &by_role {
            log_in_with(&c, &app, email, "alveole-demo").await?;
            for path in pages {
                c.goto(&app.url(path)).await?;
                let w = c.execute(width, vec![]).await?;
                if w[0].as_i64() > w[1].as_i64() {
                    phone.shot(&c, path).await;
                    wide.push(format!("{email} {path}: {w}"));
                }
            }
        }
        // A shortage report refused beside its field stays within the phone too.
        log_in_with(&c, &app, "maraicher@alveole.test", "alveole-demo").await?;
        c.goto(&app.url(&format!(
            "/distributions/{closed}/producers/{farm}/pick-list"
        )))
        .await?;
        let field = c.find(Locator::Css("#shortages input.qty-input")).await?;
        field.clear().await?;
        field.send_keys("999").await?;
        click(&c, "#shortages button[type=submit]").await?;
        c.wait()
            .for_element(Locator::Css("#shortages .field-error"))
            .await?;
        let w = c.execute(width, vec![]).await?;
        if w[0].as_i64() > w[1].as_i64() {
            wide.push(format!("pick list with an error: {w}"));
        }
        assert!(wide.is_empty(), "wider than a 390 px phone: {wide:#?}");
        Ok::<(), fantoccini::error::CmdError>(())
    });
    let result = futures_util::FutureExt::catch_unwind(result).await;
    if !matches!(result, Ok(Ok(()))) {
        phone.keep(&c).await;
    }
    let _ = c.close().await;
    match result {
        Ok(r) => r.expect("phone journey"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The Nu HTML checker's jar and axe-core's script, from npm (`.ci/run` installs them in
/// `target/a11y`); `None` when `ALVEOLE_SKIP_A11Y=1`, a failure when they are missing.
fn a11y_tools() -> Option<(std::path::PathBuf, String)> {
    if std::env::var("ALVEOLE_SKIP_A11Y").is_ok_and(|v| v == "1") {
        eprintln!("page checks skipped: ALVEOLE_SKIP_A11Y=1");
        return None;
    }
    let dir = std::env::var("ALVEOLE_A11Y_DIR").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/a11y"),
        std::path::PathBuf::from,
    );
    let jar = dir.join("node_modules/vnu-jar/build/dist/vnu.jar");
    let axe = std::fs::read_to_string(dir.join("node_modules/axe-core/axe.min.js"));
    match (jar.is_file(), axe) {
        (true, Ok(axe)) => Some((jar, axe)),
        _ => panic!(
            "vnu-jar and axe-core not found in {}: npm install --prefix target/a11y vnu-jar axe-core (as .ci/run does), or set ALVEOLE_SKIP_A11Y=1",
            dir.display()
        ),
    }
}

#[tokio::test]
async fn the_main_pages_validate_and_pass_axe_at_phone_size_for_each_role() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let Some((jar, axe)) = a11y_tools() else {
        return;
    };
    let Some(driver) = driver_unless_skipped().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let Demo {
        open,
        closed,
        hive,
        farm,
    } = demo(&app).await;
    let db = &app.state.db;
    let camille = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("camille.durand@alveole.test"))
        .one(db)
        .await
        .expect("query")
        .expect("the demo's member");
    let order = entity::orders::Entity::find()
        .filter(entity::orders::Column::UserId.eq(camille.id))
        .filter(entity::orders::Column::Status.eq("paid"))
        .one(db)
        .await
        .expect("query")
        .expect("an order of Camille")
        .id;
    let roles: Vec<(Option<&str>, Vec<String>)> = vec![
        (
            None,
            vec![
                "/".into(),
                "/hives".into(),
                format!("/hives/{hive}"),
                "/login".into(),
                "/signup".into(),
            ],
        ),
        (
            Some("camille.durand@alveole.test"),
            vec![
                "/me".into(),
                format!("/distributions/{open}"),
                format!("/distributions/{open}/basket"),
                "/orders".into(),
                format!("/orders/{order}"),
                "/account/mail".into(),
            ],
        ),
        (
            Some("maraicher@alveole.test"),
            vec![
                format!("/producers/{farm}/distributions"),
                format!("/distributions/{open}/producers/{farm}"),
                format!("/distributions/{closed}/producers/{farm}/pick-list"),
                format!("/producers/{farm}/products"),
                format!("/producers/{farm}/plan"),
            ],
        ),
        (
            Some("gerant@alveole.test"),
            vec![
                format!("/distributions/{open}/manage"),
                format!("/hives/{hive}/distributions"),
                format!("/distributions/{closed}/pickup"),
                format!("/hives/{hive}/dashboard"),
            ],
        ),
    ];

    // The Nu HTML checker reads each page as it is served.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pages");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("pages folder");
    let mut files = Vec::new();
    for (who, pages) in &roles {
        let b = app.browser_with_lang("fr").await;
        if let Some(email) = who {
            b.login(email, "alveole-demo").await;
        }
        for path in pages {
            let page = b.get(path).await;
            assert_eq!(page.status, reqwest::StatusCode::OK, "{who:?} {path}");
            let name: String = format!("{}{path}", who.unwrap_or("visitor"))
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let file = dir.join(format!("{name}.html"));
            std::fs::write(&file, &page.body).expect("write page");
            files.push(file);
        }
    }
    let out = std::process::Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "json"])
        .args(&files)
        .output()
        .expect("java runs the Nu HTML checker");
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(
        |_| serde_json::json!({"messages": [String::from_utf8_lossy(&out.stderr)]}),
    );
    let messages = report["messages"].as_array().cloned().unwrap_or_default();
    assert!(
        messages.is_empty(),
        "the Nu HTML checker: {}",
        serde_json::to_string_pretty(&messages).unwrap_or_default()
    );

    // axe-core, in Chromium at a phone's width, on each role's pages.
    let c = chromium(&driver, "fr-FR").await;
    let result = std::panic::AssertUnwindSafe(async {
        c.set_window_size(390, 844).await?;
        let mut found = Vec::new();
        for (who, pages) in &roles {
            match who {
                Some(email) => log_in_with(&c, &app, email, "alveole-demo").await?,
                None => c.delete_all_cookies().await?,
            }
            for path in pages {
                c.goto(&app.url(path)).await?;
                c.execute(&axe, vec![]).await?;
                let v = c
                    .execute_async(
                        "const done = arguments[arguments.length - 1]; \
                         axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}) \
                           .then(r => done(r.violations.map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                        vec![],
                    )
                    .await?;
                for item in v.as_array().into_iter().flatten() {
                    found.push(format!("{who:?} {path}: {item}"));
                }
            }
        }
        assert!(found.is_empty(), "axe-core: {found:#?}");
        Ok::<(), fantoccini::error::CmdError>(())
    });
    let result = futures_util::FutureExt::catch_unwind(result).await;
    let _ = c.close().await;
    match result {
        Ok(r) => r.expect("axe journey"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
