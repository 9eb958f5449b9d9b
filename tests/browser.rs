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

/// Saves a screenshot of the page a failed journey stopped on.
async fn keep_screenshot(c: &fantoccini::Client, name: &str) {
    if let Ok(png) = c.screenshot().await {
        let path = std::env::temp_dir().join(format!("alveole-{name}-failure.png"));
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot saved to {}", path.display());
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
    if std::env::var("ALVEOLE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("browser test skipped: ALVEOLE_SKIP_BROWSER=1");
        return;
    }
    let Some(driver) = start_driver().await else {
        panic!(
            "chromedriver not found: install chromium and chromium-driver (see .ci/run), or set ALVEOLE_SKIP_BROWSER=1"
        );
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let m = crate::close::market(&app).await;
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
        let href = c
            .find(Locator::Id("csv-link"))
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
        let csv = csv.as_str().unwrap_or_default().to_owned();
        assert!(csv.contains("basket,member,product_id,product,unit,quantity"), "{csv}");
        assert!(csv.contains(",Zoé,") && csv.contains(",Poireaux,pièce,2"), "{csv}");

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
        keep_screenshot(&c, "pickup").await;
    }
    let _ = c.close().await;
    result.expect("browser journey after the close");
    app.finish().await;
}

#[tokio::test]
async fn a_visitor_signs_up_joins_the_demo_hive_and_sees_its_producers() {
    if std::env::var("ALVEOLE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("browser test skipped: ALVEOLE_SKIP_BROWSER=1");
        return;
    }
    let Some(driver) = start_driver().await else {
        panic!(
            "chromedriver not found: install chromium and chromium-driver (see .ci/run), or set ALVEOLE_SKIP_BROWSER=1"
        );
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let smtp = crate::smtp::SmtpServer::start().await;

    let c = chromium(&driver, "fr-FR").await;

    let result = async {
        c.goto(&app.url("/signup")).await?;
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

        c.goto(&app.url("/hives")).await?;
        c.find(Locator::Id("f-postcode"))
            .await?
            .send_keys("37000")
            .await?;
        c.find(Locator::Css("form.search button[type=submit]"))
            .await?
            .click()
            .await?;
        // The list is on the page before the search too: wait for the results page itself.
        for _ in 0..100 {
            if c.current_url().await?.query().is_some_and(|q| q.contains("postcode=37000")) {
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
        c.wait().for_element(Locator::Css(".shelf-form")).await?;
        let banner = c.find(Locator::Css(".test-mode")).await?.text().await?;
        assert!(banner.contains("Mode test"), "{banner}");
        // Two products of the nearest producer, added in one go from its shelf.
        let shelf = c.find(Locator::Css(".shelf-form")).await?;
        let inputs = shelf.find_all(Locator::Css("input[name^=qty_]")).await?;
        inputs[0].send_keys("2").await?;
        inputs[1].send_keys("1").await?;
        shelf
            .find(Locator::Css("button.add"))
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
        c.find(Locator::Id("pay")).await?.click().await?;
        let status = c
            .wait()
            .for_element(Locator::Id("order-status"))
            .await?
            .text()
            .await?;
        assert_eq!(status, "payée");
        assert_eq!(c.find(Locator::Id("total")).await?.text().await?, total);
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
        assert!(n(0) > 200.0 && n(0) <= n(2), "the chart fits the phone: {drawn}");
        assert!(n(1) > 80.0, "{drawn}");
        assert!(n(3) >= 4.0, "past weeks are drawn: {drawn}");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    if result.is_err() {
        keep_screenshot(&c, "browser").await;
    }
    let _ = c.close().await;
    result.expect("browser journey");

    // The confirmation mail reaches the SMTP server, in the language the member chose.
    let transport =
        alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
    alveole::mail::sender::send_due(&app.state, &transport)
        .await
        .expect("send");
    let mail = smtp
        .received()
        .into_iter()
        .find(|m| m.to == ["ines@example.fr"])
        .expect("a mail to the member");
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
    app.finish().await;
}
