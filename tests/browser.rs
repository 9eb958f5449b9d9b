//! A real browser (headless Chromium through chromedriver) signs up, joins the demo hive and sees its producers.

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

    let chrome = find(&["chromium", "chromium-browser", "google-chrome"])
        .unwrap_or_else(|| "chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--window-size=412,900", "--lang=fr-FR"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("start Chromium");

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
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    if result.is_err()
        && let Ok(png) = c.screenshot().await
    {
        let path = std::env::temp_dir().join("alveole-browser-failure.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot saved to {}", path.display());
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
    app.finish().await;
}
