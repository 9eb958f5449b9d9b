//! The shop's offer list, written by a small typed writer rather than by tera: with ten thousand
//! offers, template variable lookups were most of the page's cost. Every text is HTML-escaped.

use crate::domain::catalogue::Measure;
use crate::domain::order::MAX_QUANTITY;
use crate::domain::{Cents, Locale};
use crate::i18n;
use crate::services::offers::OfferView;
use std::collections::HashMap;
use std::fmt::Write;

/// Appends `s` with `& < > " '` escaped, as tera's autoescape does.
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
}

/// Kilometres as the pages write them: one decimal under ten, a French comma in French.
fn km(v: f64, lang: Locale) -> String {
    let text = if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string()
    };
    if lang == Locale::Fr {
        text.replace('.', ",")
    } else {
        text
    }
}

/// "Il ne reste que 4 Carottes des sables": what a member reads when asking for more than is left.
pub fn too_many(lang: Locale, name: &str, left: i64, in_basket: i64) -> String {
    let name = ("name", name.to_owned());
    match (left, in_basket) {
        (0, _) => i18n::t_args(lang, "shop.gone", &[name]),
        (_, 0) => i18n::t_args(lang, "shop.too_many", &[("n", left.to_string()), name]),
        _ => i18n::t_args(
            lang,
            "shop.too_many_held",
            &[
                ("n", left.to_string()),
                name,
                ("held", in_basket.to_string()),
            ],
        ),
    }
}

pub struct ShelfPage<'a> {
    pub can_order: bool,
    pub lang: Locale,
    /// What the member typed, kept when the basket form comes back with an error.
    pub typed: &'a HashMap<i64, String>,
    /// Messages beside the offers they concern.
    pub errors: &'a HashMap<i64, String>,
    /// Units of each offer already in the member's basket.
    pub in_basket: &'a HashMap<i64, i64>,
    /// Units the member's order being edited holds, which are theirs to order again.
    pub extra: &'a HashMap<i64, i64>,
    /// The offer whose field takes the focus, so the page opens where the error is.
    pub focus: Option<i64>,
}

struct Shelf<'a> {
    producer_id: i64,
    producer_name: &'a str,
    distance_km: f64,
    categories: Vec<(&'a str, Vec<&'a OfferView>)>,
}

/// Offers grouped on shelves: producer by distance, then category, as the member walks the pickup.
pub fn render(offers: &[&OfferView], page: &ShelfPage) -> String {
    let mut shelves: Vec<Shelf> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for o in offers {
        let i = *index.entry(o.producer_id.0).or_insert_with(|| {
            shelves.push(Shelf {
                producer_id: o.producer_id.0,
                producer_name: &o.producer_name,
                distance_km: o.distance_km,
                categories: Vec::new(),
            });
            shelves.len() - 1
        });
        let shelf = &mut shelves[i];
        match shelf.categories.iter_mut().find(|(c, _)| *c == o.category) {
            Some((_, list)) => list.push(o),
            None => shelf.categories.push((&o.category, vec![o])),
        }
    }
    shelves.sort_by(|a, b| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then(a.producer_name.cmp(b.producer_name))
    });

    let lang = page.lang;
    let sold_out_text = i18n::t(lang, "shop.sold_out");
    let mut out = String::with_capacity(offers.len() * 220 + 1024);
    for s in &shelves {
        let _ = write!(
            out,
            "<section class=\"shelf\" data-producer-id=\"{}\"><h2><a href=\"/producers/{}\">",
            s.producer_id, s.producer_id
        );
        esc(&mut out, s.producer_name);
        out.push_str("</a> <small class=\"distance\">");
        esc(
            &mut out,
            &i18n::t_args(
                lang,
                "hive.producer_distance",
                &[("km", km(s.distance_km, lang))],
            ),
        );
        out.push_str("</small></h2>");
        for (category, list) in &s.categories {
            out.push_str("<h3>");
            esc(&mut out, i18n::t(lang, &format!("category.{category}")));
            out.push_str("</h3><ul class=\"offers\">");
            for o in list {
                let _ = write!(
                    out,
                    "<li class=\"offer\" id=\"o-{id}\" data-offer-id=\"{id}\"><a class=\"thumb\" href=\"/products/{product}\">",
                    id = o.id.0,
                    product = o.product_id.0
                );
                match o.photos.first() {
                    Some(p) => {
                        let _ = write!(
                            out,
                            "<img src=\"{}\" srcset=\"{}\" sizes=\"(max-width: 600px) 46vw, 220px\" width=\"{}\" height=\"{}\" loading=\"lazy\" alt=\"",
                            p.thumb_url, p.card_srcset, p.width, p.height
                        );
                        esc(&mut out, &o.name);
                        out.push_str("\">");
                    }
                    None => {
                        let _ = write!(out, "<span class=\"no-photo {}\">", o.category);
                        esc(&mut out, &o.name);
                        out.push_str("</span>");
                    }
                }
                out.push_str("</a><label><span class=\"name\">");
                esc(&mut out, &o.name);
                out.push_str("</span> <span class=\"meta\"><small class=\"muted\">");
                esc(&mut out, &o.unit);
                if let (Some(c), Some(per)) = (o.unit_price_cents, o.unit_price_per) {
                    out.push_str(" (");
                    esc(&mut out, &unit_price_text(lang, Cents(c), per));
                    out.push(')');
                }
                out.push_str(if o.price_per_kg_cents.is_some() {
                    "</small> <span class=\"price by-weight\">"
                } else {
                    "</small> <span class=\"price\">"
                });
                let extra = page.extra.get(&o.id.0).copied().unwrap_or(0);
                let remaining = o.quantity_remaining.map(|n| n + extra);
                let sold_out = remaining == Some(0);
                let price = Cents(o.price_cents);
                match o.price_per_kg_cents.zip(o.piece_grams) {
                    // "12,50 €/kg · env. 1,8 kg · 22,50 € max": the member sees what is charged now.
                    Some((per_kg, grams)) => {
                        esc(&mut out, &by_weight_text(lang, Cents(per_kg), grams, price))
                    }
                    None => esc(&mut out, &crate::i18n::format::money(lang, price)),
                }
                out.push_str("</span>");
                if sold_out {
                    out.push_str(" <span class=\"stock sold-out\">");
                    esc(&mut out, sold_out_text);
                    out.push_str("</span>");
                } else if let Some(n) = remaining {
                    out.push_str(" <span class=\"stock\">");
                    esc(
                        &mut out,
                        &i18n::t_args(lang, "shop.left", &[("n", n.to_string())]),
                    );
                    out.push_str("</span>");
                }
                let held = page.in_basket.get(&o.id.0).copied().unwrap_or(0);
                if held > 0 {
                    out.push_str(" <span class=\"in-basket\">");
                    esc(
                        &mut out,
                        &i18n::t_args(lang, "shop.in_basket", &[("n", held.to_string())]),
                    );
                    out.push_str("</span>");
                }
                out.push_str("</span>");
                if page.can_order && !sold_out {
                    let most = remaining
                        .map_or(MAX_QUANTITY, |n| n.min(MAX_QUANTITY))
                        .saturating_sub(held)
                        .max(0);
                    let _ = write!(
                        out,
                        " <input id=\"qty-{id}\" name=\"qty_{id}\" type=\"number\" min=\"0\" max=\"{most}\" inputmode=\"numeric\" placeholder=\"0\"",
                        id = o.id.0
                    );
                    if let Some(v) = page.typed.get(&o.id.0) {
                        out.push_str(" value=\"");
                        esc(&mut out, v);
                        out.push('"');
                    }
                    if let Some(left) = remaining {
                        out.push_str(" data-too-many=\"");
                        esc(&mut out, &too_many(lang, &o.name, left, held));
                        out.push('"');
                    }
                    if page.errors.contains_key(&o.id.0) {
                        let _ = write!(
                            out,
                            " aria-invalid=\"true\" aria-describedby=\"qty-{}-error\"",
                            o.id.0
                        );
                    }
                    if page.focus == Some(o.id.0) {
                        out.push_str(" autofocus");
                    }
                    out.push('>');
                }
                out.push_str("</label>");
                if let Some(message) = page.errors.get(&o.id.0) {
                    let _ = write!(out, "<p class=\"field-error\" id=\"qty-{}-error\">", o.id.0);
                    esc(&mut out, message);
                    out.push_str("</p>");
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>\n");
    }
    out
}

/// "12,50 €/kg · env. 1,8 kg · 22,50 € max".
pub fn by_weight_text(lang: Locale, per_kg: Cents, piece_grams: i64, most: Cents) -> String {
    i18n::t_args(
        lang,
        "shop.by_weight",
        &[
            ("per_kg", crate::i18n::format::money(lang, per_kg)),
            // A weight shown to people, never money: a float is fine here.
            (
                "kg",
                crate::i18n::format::decimal(lang, piece_grams as f64 / 1000.0, 3),
            ),
            ("most", crate::i18n::format::money(lang, most)),
        ],
    )
}

/// "24,00 €/kg", "12,67 €/L".
pub fn unit_price_text(lang: crate::domain::Locale, price: Cents, per: Measure) -> String {
    let symbol = match per {
        Measure::Kg => "kg",
        Measure::L => "L",
    };
    format!("{}/{symbol}", crate::i18n::format::money(lang, price))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OfferId, ProducerId, ProductId};

    fn offer(id: i64, producer: i64, name: &str, cap: Option<i64>, reserved: i64) -> OfferView {
        OfferView {
            id: OfferId(id),
            product_id: ProductId(id),
            producer_id: ProducerId(producer),
            producer_name: format!("Ferme <{producer}>"),
            name: name.into(),
            unit: "kg".into(),
            category: "vegetables".into(),
            price_cents: 290,
            vat_rate_bps: 550,
            quantity_available: cap,
            quantity_reserved: Some(reserved),
            quantity_remaining: cap.map(|c| (c - reserved).max(0)),
            sold_out: cap.is_some_and(|c| c <= reserved),
            distance_km: if producer == 1 { 12.0 } else { 3.5 },
            photos: Vec::new(),
            unit_price_cents: None,
            unit_price_per: None,
            sold_by: crate::domain::weight::SoldBy::Unit,
            price_per_kg_cents: None,
            piece_grams: None,
        }
    }

    #[test]
    fn asking_for_more_than_is_left_names_the_product() {
        assert_eq!(
            too_many(Locale::Fr, "Carottes des sables", 4, 0),
            "Il ne reste que 4 Carottes des sables."
        );
        assert_eq!(
            too_many(Locale::Fr, "Carottes des sables", 4, 1),
            "Il ne reste que 4 Carottes des sables, dont 1 déjà dans votre panier."
        );
        assert_eq!(
            too_many(Locale::En, "Leeks", 0, 0),
            "Leeks: sold out, none left."
        );
    }

    #[test]
    fn escapes_every_text_and_orders_shelves_by_distance() {
        let list = [
            offer(1, 1, "Carottes \"<b>\"", Some(3), 1),
            offer(2, 2, "Poireaux", Some(2), 2),
            offer(3, 1, "Navets", None, 0),
        ];
        let refs: Vec<&OfferView> = list.iter().collect();
        let typed = HashMap::from([(1, "5".to_owned())]);
        let errors = HashMap::from([(1, "Il ne reste que 2 <Carottes>".to_owned())]);
        let in_basket = HashMap::from([(3, 2)]);
        let extra = HashMap::new();
        let page = ShelfPage {
            can_order: true,
            lang: Locale::Fr,
            typed: &typed,
            errors: &errors,
            in_basket: &in_basket,
            extra: &extra,
            focus: Some(1),
        };
        let html = render(&refs, &page);
        assert!(html.contains("Carottes &quot;&lt;b&gt;&quot;") && !html.contains("<b>"));
        assert!(html.contains("Ferme &lt;2&gt;"));
        assert!(
            html.contains("name=\"qty_1\" type=\"number\" min=\"0\" max=\"2\"")
                && html.contains("value=\"5\" data-too-many=\"Il ne reste que 2 Carottes &quot;&lt;b&gt;&quot;.\" aria-invalid=\"true\" aria-describedby=\"qty-1-error\" autofocus>"),
            "the typed quantity is kept, at most what is left, the field in error focused"
        );
        assert!(html.contains(
            "<p class=\"field-error\" id=\"qty-1-error\">Il ne reste que 2 &lt;Carottes&gt;</p>"
        ));
        assert!(
            html.contains("2 dans votre panier")
                && html.contains("name=\"qty_3\" type=\"number\" min=\"0\" max=\"997\""),
            "what is in the basket is shown and counted"
        );
        assert!(
            html.find("data-producer-id=\"2\"") < html.find("data-producer-id=\"1\""),
            "nearest first"
        );
        assert!(html.contains("à 3,5 km"));
        assert!(html.contains("plus que 2") && html.contains("épuisé"));
        assert!(
            html.contains("name=\"qty_1\"") && !html.contains("name=\"qty_2\""),
            "no input for a sold-out offer"
        );
        assert!(html.contains("2,90\u{a0}€"));
        let closed = render(
            &refs,
            &ShelfPage {
                can_order: false,
                ..page
            },
        );
        assert!(!closed.contains("qty_") && !closed.contains("<form"));
    }
}
