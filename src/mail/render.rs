//! Mail rendering: the messages' templates in each language, filled in with what the message carries.

use super::Template;
use crate::domain::Locale;
use crate::error::AppResult;
use crate::i18n;
use tera::Tera;

const TEMPLATES: &[(&str, &str)] = templates![
    "emails/layout.html",
    "emails/order_confirmed/subject.txt",
    "emails/order_confirmed/text.txt",
    "emails/order_confirmed/html.html",
    "emails/order_cancelled/subject.txt",
    "emails/order_cancelled/text.txt",
    "emails/order_cancelled/html.html",
    "emails/distribution_cancelled/subject.txt",
    "emails/distribution_cancelled/text.txt",
    "emails/distribution_cancelled/html.html",
    "emails/ordering_open/subject.txt",
    "emails/ordering_open/text.txt",
    "emails/ordering_open/html.html",
    "emails/closing_soon/subject.txt",
    "emails/closing_soon/text.txt",
    "emails/closing_soon/html.html",
    "emails/pickup_today/subject.txt",
    "emails/pickup_today/text.txt",
    "emails/pickup_today/html.html",
    "emails/minimum_missed/subject.txt",
    "emails/minimum_missed/text.txt",
    "emails/minimum_missed/html.html",
    "emails/minimum_missed_producer/subject.txt",
    "emails/minimum_missed_producer/text.txt",
    "emails/minimum_missed_producer/html.html",
    "emails/pick_list/subject.txt",
    "emails/pick_list/text.txt",
    "emails/pick_list/html.html",
    "emails/basket_confirmed/subject.txt",
    "emails/basket_confirmed/text.txt",
    "emails/basket_confirmed/html.html",
    "emails/shortage_refund/subject.txt",
    "emails/shortage_refund/text.txt",
    "emails/shortage_refund/html.html",
    "emails/weight_refund/subject.txt",
    "emails/weight_refund/text.txt",
    "emails/weight_refund/html.html",
    "emails/news/subject.txt",
    "emails/news/text.txt",
    "emails/news/html.html",
    "emails/producer_request/subject.txt",
    "emails/producer_request/text.txt",
    "emails/producer_request/html.html",
    "emails/producer_approved/subject.txt",
    "emails/producer_approved/text.txt",
    "emails/producer_approved/html.html",
    "emails/password_reset/subject.txt",
    "emails/password_reset/text.txt",
    "emails/password_reset/html.html",
    "emails/confirm_email/subject.txt",
    "emails/confirm_email/text.txt",
    "emails/confirm_email/html.html",
];

/// A rendered message.
pub struct Rendered {
    pub unsubscribe: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mail templates, one set per language.
pub struct MailViews {
    en: Tera,
    fr: Tera,
}

impl MailViews {
    pub fn load() -> tera::Result<MailViews> {
        let (en, fr) = i18n::tera::per_language(TEMPLATES)?;
        Ok(MailViews { en, fr })
    }

    fn part(
        &self,
        lang: Locale,
        template: Template,
        part: &str,
        c: &tera::Context,
    ) -> AppResult<String> {
        let tera = match lang {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        };
        Ok(tera.render(&format!("emails/{}/{part}", template.name()), c)?)
    }

    /// Renders `template` with `payload`; `unsubscribe` is the link that stops this kind of mail
    /// for its reader, empty for the account's own mails.
    pub fn render(
        &self,
        template: Template,
        lang: Locale,
        payload: serde_json::Value,
        base_url: &str,
        unsubscribe: String,
    ) -> AppResult<Rendered> {
        let mut c = tera::Context::from_value(payload)?;
        c.insert("base_url", base_url);
        if !unsubscribe.is_empty() {
            c.insert("unsubscribe_url", &unsubscribe);
        }
        let text = self.part(lang, template, "text.txt", &c)?;
        let text = if unsubscribe.is_empty() {
            format!("{}\n", text.trim_end())
        } else {
            format!(
                "{}\n\n-- \n{} {unsubscribe}\n",
                text.trim_end(),
                i18n::t(lang, "mail.unsubscribe")
            )
        };
        Ok(Rendered {
            subject: self
                .part(lang, template, "subject.txt", &c)?
                .trim()
                .to_owned(),
            text,
            html: self.part(lang, template, "html.html", &c)?,
            unsubscribe,
        })
    }
}
