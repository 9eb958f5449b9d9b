//! What leaves the server: pages, JSON and the stylesheet compressed for clients that accept it,
//! and assets linked by a fingerprint so browsers keep them until they change.

use crate::support::sale::open_sale;
use crate::support::*;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};
use std::io::Read;

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> String {
    let mut out = String::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_string(&mut out)
        .expect("brotli");
    out
}

#[tokio::test]
async fn pages_json_and_the_stylesheet_leave_compressed_and_assets_are_kept_until_they_change() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let shop = format!("/distributions/{}", sale.distribution);
        let plain = b.get(&shop).await;
        assert_eq!(plain.status, StatusCode::OK);

        // The shop page in brotli, as a phone's browser asks for it; the same page once decoded.
        let r = b
            .client
            .get(app.url(&shop))
            .header(ACCEPT_ENCODING, "br, gzip")
            .send()
            .await
            .expect("shop");
        assert_eq!(r.headers()[CONTENT_ENCODING], "br");
        let squeezed = r.bytes().await.expect("body");
        let page = unbrotli(&squeezed);
        assert!(page.contains("Carottes"), "{page}");
        assert!(
            squeezed.len() * 2 < page.len(),
            "{} bytes for {}",
            squeezed.len(),
            page.len()
        );

        // The API's JSON in gzip for a client that only knows gzip; nothing for one that asks none.
        let offers = format!("/api/v1/distributions/{}/offers", sale.distribution);
        let r = sale
            .member
            .client
            .get(app.url(&offers))
            .bearer_auth(sale.member.token.as_deref().unwrap_or_default())
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("offers");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
        let json: serde_json::Value =
            serde_json::from_str(&gunzip(&r.bytes().await.expect("body"))).expect("json");
        assert_eq!(json.as_array().map(Vec::len), Some(2), "{json}");
        let r = sale
            .member
            .client
            .get(app.url(&offers))
            .bearer_auth(sale.member.token.as_deref().unwrap_or_default())
            .send()
            .await
            .expect("offers");
        assert!(r.headers().get(CONTENT_ENCODING).is_none());

        // The page links the stylesheet by its fingerprint: kept a year, and not sent again.
        let link = plain
            .html()
            .select(&scraper::Selector::parse("link[rel=stylesheet]").expect("selector"))
            .next()
            .and_then(|l| l.value().attr("href"))
            .expect("stylesheet link")
            .to_owned();
        assert!(link.starts_with("/assets/alveole.css?v="), "{link}");
        let css = b
            .client
            .get(app.url(&link))
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("css");
        assert_eq!(css.status(), StatusCode::OK);
        assert_eq!(
            css.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(css.headers()[CONTENT_ENCODING], "gzip");
        let etag = css.headers()[ETAG].clone();
        assert!(gunzip(&css.bytes().await.expect("body")).contains("body"));
        let again = b
            .client
            .get(app.url("/assets/alveole.css"))
            .header(IF_NONE_MATCH, etag)
            .send()
            .await
            .expect("css again");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[CACHE_CONTROL], "public, max-age=3600");
        // A link from an older version is served, but only kept an hour.
        let old = b
            .client
            .get(app.url("/assets/alveole.css?v=0000000000000000"))
            .send()
            .await
            .expect("old css");
        assert_eq!(old.status(), StatusCode::OK);
        assert_eq!(old.headers()[CACHE_CONTROL], "public, max-age=3600");
        // Scripts too are linked by fingerprint.
        let home = app.browser().await.get("/").await;
        assert!(home.body.contains("/assets/places.js?v="), "{}", home.body);
    })
    .await;
}
