//! The pages' stylesheet, scripts and icons, each linked with a fingerprint of its content so
//! browsers keep it for a year and fetch it again only when it changes.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One file served under `/assets/` (or at a path browsers ask for by themselves).
pub struct Asset {
    /// The name the layouts use for its link.
    pub name: &'static str,
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

pub const CSS: Asset = Asset {
    name: "css",
    path: "/assets/alveole.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../../templates/assets/alveole.css"),
};
pub const PAY: Asset = script(
    "pay",
    "/assets/pay.js",
    include_bytes!("../../templates/assets/pay.js"),
);
pub const SHOP: Asset = script(
    "shop",
    "/assets/shop.js",
    include_bytes!("../../templates/assets/shop.js"),
);
pub const PLAN: Asset = script(
    "plan",
    "/assets/plan.js",
    include_bytes!("../../templates/assets/plan.js"),
);
pub const PLACES: Asset = script(
    "places",
    "/assets/places.js",
    include_bytes!("../../templates/assets/places.js"),
);
pub const FAVICON_SVG: Asset = Asset {
    name: "favicon_svg",
    path: "/assets/favicon.svg",
    content_type: "image/svg+xml",
    body: include_bytes!("../../templates/assets/favicon.svg"),
};
pub const FAVICON_ICO: Asset = Asset {
    name: "favicon_ico",
    path: "/favicon.ico",
    content_type: "image/x-icon",
    body: include_bytes!("../../templates/assets/favicon.ico"),
};
/// The icon a phone puts on its home screen when a member adds the site there.
pub const TOUCH_ICON: Asset = Asset {
    name: "touch_icon",
    path: "/apple-touch-icon.png",
    content_type: "image/png",
    body: include_bytes!("../../templates/assets/apple-touch-icon.png"),
};

/// Every asset, each served at its path.
pub const ALL: [&Asset; 8] = [
    &CSS,
    &PAY,
    &SHOP,
    &PLAN,
    &PLACES,
    &FAVICON_SVG,
    &FAVICON_ICO,
    &TOUCH_ICON,
];

const fn script(name: &'static str, path: &'static str, body: &'static [u8]) -> Asset {
    Asset {
        name,
        path,
        content_type: "text/javascript; charset=utf-8",
        body,
    }
}

/// A year, the longest a cache is asked to keep anything.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Without the current fingerprint the link is an old or a hand-typed one: kept an hour.
const A_WHILE: &str = "public, max-age=3600";

impl Asset {
    /// The first 16 hex digits of the content's SHA-256.
    pub fn fingerprint(&self) -> &'static str {
        static PRINTS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
        let prints = PRINTS.get_or_init(|| {
            ALL.iter()
                .map(|a| {
                    let digest = Sha256::digest(a.body);
                    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
                    (a.path, hex)
                })
                .collect()
        });
        prints.get(self.path).map_or("", String::as_str)
    }

    /// Its link with the fingerprint, which the layouts write.
    pub fn link(&self) -> String {
        format!("{}?v={}", self.path, self.fingerprint())
    }

    /// The file, or 304 when the browser holds this very version.
    pub fn serve(&self, query: Option<&str>, headers: &HeaderMap) -> Response {
        let fingerprint = self.fingerprint();
        let etag = format!("\"{fingerprint}\"");
        let current = query.is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.strip_prefix("v=") == Some(fingerprint))
        });
        let cache = if current { FOREVER } else { A_WHILE };
        let held = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == etag
            });
        let mut response = if held {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                )],
                self.body,
            )
                .into_response()
        };
        let h = response.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        response
    }
}

/// Every asset's link by name, for the layouts: `assets.css`, `assets.shop` …
pub fn links() -> &'static BTreeMap<&'static str, String> {
    static LINKS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    LINKS.get_or_init(|| ALL.iter().map(|a| (a.name, a.link())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_asset_has_its_own_fingerprint_and_a_link_that_carries_it() {
        let prints: std::collections::BTreeSet<_> = ALL.iter().map(|a| a.fingerprint()).collect();
        assert_eq!(prints.len(), ALL.len());
        assert!(
            CSS.fingerprint().len() == 16
                && CSS.fingerprint().bytes().all(|b| b.is_ascii_hexdigit())
        );
        assert_eq!(
            links()["shop"],
            format!("/assets/shop.js?v={}", SHOP.fingerprint())
        );
    }

    #[test]
    fn the_current_version_is_kept_a_year_and_a_held_one_is_not_sent_again() {
        let v = format!("v={}", CSS.fingerprint());
        let r = CSS.serve(Some(&v), &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], FOREVER);
        let old = CSS.serve(Some("v=0123"), &HeaderMap::new());
        assert_eq!(old.headers()[header::CACHE_CONTROL], A_WHILE);
        let mut held = HeaderMap::new();
        held.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("W/\"x\", \"{}\"", CSS.fingerprint())).expect("header"),
        );
        assert_eq!(CSS.serve(None, &held).status(), StatusCode::NOT_MODIFIED);
        held.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(CSS.serve(None, &held).status(), StatusCode::OK);
    }
}
