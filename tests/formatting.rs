//! The demo read in French and in English: numbers, amounts, plurals and pickup times as each
//! language writes them, and a producer's past sales.

use crate::support::*;
use reqwest::StatusCode;

/// Dates as pages write them in French: "03/12/2026".
fn french_dates(s: &str) -> usize {
    s.as_bytes()
        .windows(10)
        .filter(|w| {
            w.iter().enumerate().all(|(i, c)| match i {
                2 | 5 => *c == b'/',
                _ => c.is_ascii_digit(),
            })
        })
        .count()
}

#[tokio::test]
async fn figures_plurals_and_pickups_read_as_each_language_writes_them() {
    each_backend(|app| async move {
        let open = app.seeded_open_distribution().await;
        let shop = format!("/distributions/{}", open.id);

        let fr = app.browser_with_lang("fr").await;
        fr.login("camille.durand@alveole.test", "alveole-demo")
            .await;
        let page = fr.get(&shop).await;
        assert_eq!(page.status, StatusCode::OK);
        let summary = page.texts("#basket-summary");
        assert!(
            summary[0].starts_with("Panier : 0 article,") && summary[0].ends_with("0,00 €"),
            "French says 0 article, singular: {summary:?}"
        );
        let pickup = page.texts(".pickup").join(" ");
        assert_eq!(
            french_dates(&pickup),
            1,
            "one date for a same-day pickup: {pickup}"
        );
        assert!(
            pickup.contains(" de ") && pickup.contains(" à "),
            "{pickup}"
        );
        let en = app.browser_with_lang("en").await;
        en.login("camille.durand@alveole.test", "alveole-demo")
            .await;
        en.post("/lang", &[("lang", "en")]).await;
        let page = en.get(&shop).await;
        let summary = page.texts("#basket-summary");
        assert!(summary[0].starts_with("Basket: 0 items,"), "{summary:?}");
        assert!(page.texts(".pickup").join(" ").contains("–"));

        // The harvest plan's figures and the dashboard's shares take a decimal comma in French.
        let farmer = app.browser_with_lang("fr").await;
        farmer.login("maraicher@alveole.test", "alveole-demo").await;
        let plan = farmer.get("/producers/1/plan").await;
        let figures: Vec<String> = [".forecast", ".range"]
            .iter()
            .flat_map(|s| plan.texts(s))
            .collect();
        assert!(!figures.is_empty());
        assert!(figures.iter().all(|f| !f.contains('.')), "{figures:?}");
        assert!(figures.iter().any(|f| f.contains(',')), "{figures:?}");
        let manager = app.browser_with_lang("fr").await;
        manager.login("gerant@alveole.test", "alveole-demo").await;
        let board = manager.get("/hives/1/dashboard").await;
        let shares = board.texts(".pct");
        assert!(!shares.is_empty());
        assert!(
            shares.iter().all(|s| s.contains(',') && !s.contains('.')),
            "{shares:?}"
        );
        // Chart legends are page text, under each drawing.
        assert!(!board.texts(".chart-legend .key").is_empty());
        assert!(!plan.texts(".chart-legend .key").is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_producer_finds_each_past_statement_and_its_invoices() {
    each_backend(|app| async move {
        app.seed().await;
        let farmer = app.browser_with_lang("fr").await;
        farmer.login("maraicher@alveole.test", "alveole-demo").await;
        let list = farmer.get("/producers/1/distributions").await;
        assert_eq!(
            list.attr(".statements-link", "href").as_deref(),
            Some("/producers/1/statements")
        );
        let page = farmer.get("/producers/1/statements").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.texts("h1")[0],
            "Mes ventes passées · Les Jardins de la Varenne"
        );
        let cards = page.texts(".statement");
        assert_eq!(cards.len(), 20, "a full first page");
        assert!(
            page.attr("#older", "href").is_some(),
            "two years of weeks: more pages"
        );
        let statement = page.attr(".statement-link", "href").expect("statement");
        let s = farmer.get(&statement).await;
        assert_eq!(s.status, StatusCode::OK);
        assert!(s.texts("h1")[0].starts_with("Mon relevé de versement"));
        let invoice = page
            .attr(".statement .invoices a", "href")
            .expect("the settled weeks have invoices");
        assert_eq!(farmer.get(&invoice).await.status, StatusCode::OK);
        let counts = page.texts(".invoices summary");
        assert!(
            counts
                .iter()
                .all(|c| c.ends_with("factures") || c == "1 facture"),
            "{counts:?}"
        );
        let older = farmer.get("/producers/1/statements?page=2").await;
        assert_eq!(older.status, StatusCode::OK);
        assert_ne!(older.texts(".statement")[0], cards[0]);
        // Someone else's farm, or no session: not shown.
        let baker = app.browser_with_lang("fr").await;
        baker.login("boulanger@alveole.test", "alveole-demo").await;
        assert_eq!(
            baker.get("/producers/1/statements").await.status,
            StatusCode::FORBIDDEN
        );
        let visitor = app.browser().await;
        let p = visitor.get("/producers/1/statements").await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
    })
    .await;
}
