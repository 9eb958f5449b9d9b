//! The shop's offer list, written by a small typed writer rather than by tera: with ten thousand
//! offers, template variable lookups were most of the page's cost. Every text is HTML-escaped.

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

pub struct ShelfPage<'a> {
    pub distribution: i64,
    pub csrf: &'a str,
    pub q: &'a str,
    pub category: &'a str,
    pub can_order: bool,
    pub lang: Locale,
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
    let sold_out = i18n::t(lang, "shop.sold_out");
    let add = i18n::t(lang, "shop.add");
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
        let _ = write!(
            out,
            "</small></h2><form method=\"post\" action=\"/distributions/{}/basket\" class=\"shelf-form\">",
            page.distribution
        );
        out.push_str("<input type=\"hidden\" name=\"_csrf\" value=\"");
        esc(&mut out, page.csrf);
        out.push_str("\"><input type=\"hidden\" name=\"q\" value=\"");
        esc(&mut out, page.q);
        out.push_str("\"><input type=\"hidden\" name=\"category\" value=\"");
        esc(&mut out, page.category);
        out.push_str("\">");
        for (category, list) in &s.categories {
            out.push_str("<h3>");
            esc(&mut out, i18n::t(lang, &format!("category.{category}")));
            out.push_str("</h3><ul class=\"offers\">");
            for o in list {
                let _ = write!(
                    out,
                    "<li class=\"offer\" data-offer-id=\"{}\"><label><span class=\"name\">",
                    o.id.0
                );
                esc(&mut out, &o.name);
                out.push_str("</span> <small class=\"muted\">");
                esc(&mut out, &o.unit);
                out.push_str("</small> <span class=\"price\">");
                let price = Cents(o.price_cents);
                esc(
                    &mut out,
                    &if lang == Locale::Fr {
                        price.format_fr()
                    } else {
                        price.format_en()
                    },
                );
                out.push_str("</span>");
                if o.sold_out {
                    out.push_str(" <span class=\"stock sold-out\">");
                    esc(&mut out, sold_out);
                    out.push_str("</span>");
                } else if let Some(n) = o.quantity_remaining {
                    out.push_str(" <span class=\"stock\">");
                    esc(
                        &mut out,
                        &i18n::t_args(lang, "shop.left", &[("n", n.to_string())]),
                    );
                    out.push_str("</span>");
                }
                if page.can_order && !o.sold_out {
                    let _ = write!(
                        out,
                        " <input name=\"qty_{}\" inputmode=\"numeric\" size=\"2\" placeholder=\"0\">",
                        o.id.0
                    );
                }
                out.push_str("</label></li>");
            }
            out.push_str("</ul>");
        }
        if page.can_order {
            out.push_str("<button type=\"submit\" class=\"add\">");
            esc(&mut out, add);
            out.push_str("</button>");
        }
        out.push_str("</form></section>\n");
    }
    out
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
            quantity_reserved: reserved,
            quantity_remaining: cap.map(|c| (c - reserved).max(0)),
            sold_out: cap.is_some_and(|c| c <= reserved),
            distance_km: if producer == 1 { 12.0 } else { 3.5 },
        }
    }

    #[test]
    fn escapes_every_text_and_orders_shelves_by_distance() {
        let list = [
            offer(1, 1, "Carottes \"<b>\"", Some(3), 1),
            offer(2, 2, "Poireaux", Some(2), 2),
            offer(3, 1, "Navets", None, 0),
        ];
        let refs: Vec<&OfferView> = list.iter().collect();
        let page = ShelfPage {
            distribution: 9,
            csrf: "tok",
            q: "a\"b",
            category: "",
            can_order: true,
            lang: Locale::Fr,
        };
        let html = render(&refs, &page);
        assert!(html.contains("Carottes &quot;&lt;b&gt;&quot;") && !html.contains("<b>"));
        assert!(html.contains("Ferme &lt;2&gt;"));
        assert!(html.contains("value=\"a&quot;b\""));
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
        assert!(!closed.contains("qty_") && !closed.contains("button"));
    }
}
