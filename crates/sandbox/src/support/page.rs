//! The payer pages: one HTML skeleton, one escaping rule and one form handler for every
//! provider's page.
//!
//! Each emulated provider serves the page its payer would see (Payconiq's checkout, Fintecture's
//! Connect page, Banq's payment link, Paylican's payment page, and the sandbox's stand-in for a
//! HUB2 merchant's payer page). They are plain server-rendered HTML: no script, one form `POST`
//! per button, and a `303 See Other` to wherever the provider sends the payer afterwards (the
//! merchant's return URL, or the page itself, which then says how the payment ended).
//!
//! Every value shown goes through [`escape`]: a page builder only takes text, never HTML, so a
//! merchant's description or reference cannot inject markup. Elements a person (or a browser
//! test) acts on have stable ids: `pay`, `fail`, `cancel` (buttons), `code` and `otp` (the
//! one-time-code input and its button), `status` (the payment's raw status), `outcome` (the
//! heading of a completion page), `return` (a link back to the merchant).
//!
//! A page's form is answered the same way everywhere ([`HostedPage::answer`]): the payer's action
//! is run, then a `303` to wherever the provider sends the payer; a wrong one-time code shows the
//! page again with a notice (`422`); any other refusal is a page saying why, with a link back.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::{ControlError, PayerAction};

/// A provider's hosted payer page, as the shared answers need it.
#[derive(Debug, Clone)]
pub(crate) struct HostedPage {
    /// The provider's name at the top of the page (`"Payconiq by Bancontact"`).
    pub(crate) provider: &'static str,
    /// What the page is about, for the page answering an unknown id (`"payment link"`).
    pub(crate) what: &'static str,
    /// The page's own URL, where a refusal links back to.
    pub(crate) url: String,
}

impl HostedPage {
    /// The page for an id that names nothing.
    pub(crate) fn not_found(&self) -> Response {
        not_found(self.provider, self.what)
    }

    /// The payer action the page's form asks for: `action` = `pay`, `fail`, `cancel`, or `otp`
    /// with the typed `code` (`None`: answer [`bad_form`](Self::bad_form)).
    pub(crate) fn requested_action(&self, body: &[u8]) -> Option<PayerAction> {
        form_fields(body).as_ref().and_then(form_action)
    }

    /// The page answering a form the page itself did not send.
    pub(crate) fn bad_form(&self) -> Response {
        bad_form(
            self.provider,
            "action=pay, fail, cancel, or otp with a code",
        )
    }

    /// How the page answers the payer's action once it ran: `after()` when it was applied (a
    /// redirect to wherever the provider sends the payer); a wrong one-time code shows the page
    /// again (`view` with a notice), `422`; any other refusal is the [`refused`] page.
    pub(crate) fn answer<T>(
        &self,
        outcome: Result<T, ControlError>,
        view: impl FnOnce(Option<&str>) -> Option<Page>,
        after: impl FnOnce() -> Response,
    ) -> Response {
        match outcome {
            Ok(_) => after(),
            Err(ControlError::WrongOtp) => match view(Some("Wrong one-time code: try again.")) {
                Some(page) => page.status(StatusCode::UNPROCESSABLE_ENTITY).render(),
                None => self.not_found(),
            },
            Err(e) => refused(self.provider, &e, &self.url),
        }
    }
}

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by their character references: safe inside an
/// element and inside a double- or single-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A submit button of a form: `name=value` is sent when it is clicked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Button<'a> {
    /// The element id (`pay`).
    pub(crate) id: &'a str,
    /// The text on the button.
    pub(crate) label: &'a str,
    /// The field the button submits, if any (`("action", "pay")`).
    pub(crate) field: Option<(&'a str, &'a str)>,
}

impl<'a> Button<'a> {
    /// A button that submits nothing of its own.
    pub(crate) fn new(id: &'a str, label: &'a str) -> Button<'a> {
        Button {
            id,
            label,
            field: None,
        }
    }

    /// The button also submits `name=value`.
    pub(crate) fn sends(mut self, name: &'a str, value: &'a str) -> Button<'a> {
        self.field = Some((name, value));
        self
    }
}

/// A text input of a form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Input<'a> {
    /// Field name, also the element id.
    pub(crate) name: &'a str,
    /// The label shown before it.
    pub(crate) label: &'a str,
    /// Its initial value.
    pub(crate) value: &'a str,
}

/// A payer page under construction: a provider's heading, then sections in order.
#[derive(Debug)]
pub(crate) struct Page {
    status: StatusCode,
    title: String,
    provider: &'static str,
    body: String,
}

impl Page {
    /// A page of `provider` (its display name, `"Payconiq"`) titled `title`.
    pub(crate) fn new(provider: &'static str, title: impl Into<String>) -> Page {
        Page {
            status: StatusCode::OK,
            title: title.into(),
            provider,
            body: String::new(),
        }
    }

    /// Answers with `status` instead of 200.
    pub(crate) fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    /// A paragraph of text.
    pub(crate) fn text(mut self, text: &str) -> Page {
        self.body.push_str("<p>");
        self.body.push_str(&escape(text));
        self.body.push_str("</p>");
        self
    }

    /// A notice the payer must read (a refused code, an action that came too late).
    pub(crate) fn notice(mut self, text: &str) -> Page {
        self.body.push_str("<p class=\"notice\" role=\"alert\">");
        self.body.push_str(&escape(text));
        self.body.push_str("</p>");
        self
    }

    /// A table of what is being paid: `(label, value)` rows; the row labelled `Status` gets the
    /// id `status`.
    pub(crate) fn facts(mut self, rows: &[(&str, &str)]) -> Page {
        self.body.push_str("<table>");
        for (label, value) in rows {
            let id = if *label == "Status" {
                " id=\"status\""
            } else {
                ""
            };
            self.body.push_str(&format!(
                "<tr><th>{}</th><td{id}>{}</td></tr>",
                escape(label),
                escape(value)
            ));
        }
        self.body.push_str("</table>");
        self
    }

    /// A form posted to `action` (a URL, relative to the page or absolute), with `hidden`
    /// fields, text `inputs`, and one or more submit `buttons`.
    pub(crate) fn form(
        mut self,
        action: &str,
        hidden: &[(&str, &str)],
        inputs: &[Input<'_>],
        buttons: &[Button<'_>],
    ) -> Page {
        self.body.push_str(&format!(
            "<form method=\"post\" action=\"{}\">",
            escape(action)
        ));
        for (name, value) in hidden {
            self.body.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            ));
        }
        for input in inputs {
            self.body.push_str(&format!(
                "<label>{} <input type=\"text\" name=\"{name}\" id=\"{name}\" value=\"{}\" \
                 autocomplete=\"off\"></label> ",
                escape(input.label),
                escape(input.value),
                name = escape(input.name),
            ));
        }
        for button in buttons {
            let field = button.field.map_or_else(String::new, |(name, value)| {
                format!(" name=\"{}\" value=\"{}\"", escape(name), escape(value))
            });
            self.body.push_str(&format!(
                "<button type=\"submit\" id=\"{}\"{field}>{}</button> ",
                escape(button.id),
                escape(button.label)
            ));
        }
        self.body.push_str("</form>");
        self
    }

    /// The one-time-code step: `asks` (who asks, e.g. "Your bank asks for a one-time code"), the
    /// code the sandbox accepts, and a form posting `code` to `action` with `hidden` fields.
    pub(crate) fn otp_step(self, asks: &str, action: &str, hidden: &[(&str, &str)]) -> Page {
        self.text(&format!(
            "{asks} (the sandbox accepts {}).",
            crate::SANDBOX_OTP
        ))
        .form(
            action,
            hidden,
            &[Input {
                name: "code",
                label: "One-time code",
                value: "",
            }],
            &[Button::new("otp", "Confirm")],
        )
    }

    /// A one-button form posted to `action` (the usual pay / fail / cancel button).
    pub(crate) fn button(self, action: &str, hidden: &[(&str, &str)], button: Button<'_>) -> Page {
        self.form(action, hidden, &[], &[button])
    }

    /// A link with the id `id`.
    pub(crate) fn link(mut self, id: &str, href: &str, label: &str) -> Page {
        self.body.push_str(&format!(
            "<p><a id=\"{}\" href=\"{}\">{}</a></p>",
            escape(id),
            escape(href),
            escape(label)
        ));
        self
    }

    /// The page says how the payment ended: a heading with the id `outcome` naming `status`,
    /// `explanation`, and a link back to the merchant when there is somewhere to go.
    pub(crate) fn outcome(mut self, status: &str, explanation: &str, back: Option<&str>) -> Page {
        self.body.push_str(&format!(
            "<h2 id=\"outcome\">Payment {}</h2>",
            escape(status)
        ));
        self = self.text(explanation);
        match back {
            Some(url) => self.link("return", url, "Return to the merchant"),
            None => self.text(
                "The merchant gave no return URL: you can close this page (the merchant learns \
                 the outcome from the provider's webhook or by fetching the payment).",
            ),
        }
    }

    /// The finished page.
    pub(crate) fn render(self) -> Response {
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} — {provider} (sandbox)</title><style>{STYLE}</style></head>\
             <body><header>{provider} <small>payments sandbox: nothing here moves real money\
             </small></header><main><h1>{title}</h1>{body}</main></body></html>\n",
            title = escape(&self.title),
            provider = escape(self.provider),
            body = self.body,
        );
        (self.status, Html(html)).into_response()
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        self.render()
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330}\
header{background:#1d2330;color:#fff;padding:.6em 1em;font-weight:600}\
header small{font-weight:400;opacity:.75;margin-left:.5em}\
main{max-width:36em;margin:1.5em auto;padding:0 1em}\
table{border-collapse:collapse;margin:1em 0}th,td{text-align:left;padding:.25em 1em .25em 0}\
form{display:inline-block;margin:.4em .4em .4em 0}button{font-size:1em;padding:.45em 1.1em}\
input{font-size:1em;padding:.35em}.notice{background:#fff3cd;padding:.6em;border-radius:4px}";

/// `303 See Other` to `location` (where a form's `POST` sends the browser); a page saying what
/// went wrong if `location` cannot be a header value.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => Page::new("Sandbox", "Cannot redirect")
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .text(&format!(
                "The redirect target is not a valid URL: {location}"
            ))
            .render(),
    }
}

/// A page for something that does not exist (an unknown payment id in the path).
pub(crate) fn not_found(provider: &'static str, what: &str) -> Response {
    Page::new(provider, "Not found")
        .status(StatusCode::NOT_FOUND)
        .text(&format!("No such {what}."))
        .render()
}

/// The fields of a form `POST` (`application/x-www-form-urlencoded`), decoded strictly; `None`
/// when the body is not a valid form.
pub(crate) fn form_fields(body: &[u8]) -> Option<HashMap<String, String>> {
    super::form_params(std::str::from_utf8(body).ok()?)
}

/// The payer action a page's form asks for: `action` = `pay`, `fail`, `cancel`, or `otp` with
/// the typed `code`.
pub(crate) fn form_action(fields: &HashMap<String, String>) -> Option<PayerAction> {
    Some(match fields.get("action")?.as_str() {
        "pay" => PayerAction::Pay,
        "fail" => PayerAction::Fail,
        "cancel" => PayerAction::Cancel,
        "otp" => PayerAction::SubmitOtp(fields.get("code")?.trim().to_owned()),
        _ => return None,
    })
}

/// The page answering a form the page itself did not send (no valid `action`).
pub(crate) fn bad_form(provider: &'static str, expected: &str) -> Response {
    Page::new(provider, "This form cannot be processed")
        .status(StatusCode::BAD_REQUEST)
        .text(&format!("Expected {expected}."))
        .render()
}

/// The page answering a payer action the payment refused, with a link back to `page_url`
/// (which shows where the payment stands). A wrong one-time code is for each provider's page to
/// answer, with its form again.
pub(crate) fn refused(provider: &'static str, error: &ControlError, page_url: &str) -> Response {
    Page::new(provider, "This payment cannot do that now")
        .status(error.status())
        .notice(&error.to_string())
        .link("back", page_url, "Back to the payment page")
        .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn html(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        String::from_utf8(bytes.to_vec()).unwrap_or_default()
    }

    #[test]
    fn escaping_covers_elements_and_both_attribute_quotes() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("Café €5"), "Café €5");
    }

    #[tokio::test]
    async fn every_value_of_a_page_is_escaped() {
        let evil = "\"><script>alert(1)</script>";
        let page = Page::new("Payconiq", evil)
            .text(evil)
            .notice(evil)
            .facts(&[(evil, evil), ("Status", evil)])
            .form(
                evil,
                &[(evil, evil)],
                &[Input {
                    name: "code",
                    label: evil,
                    value: evil,
                }],
                &[Button::new("pay", evil).sends("action", evil)],
            )
            .link("return", evil, evil)
            .outcome(evil, evil, Some(evil))
            .render();
        assert_eq!(page.status(), StatusCode::OK);
        let html = html(page).await;
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("id=\"status\"") && html.contains("id=\"outcome\""));
        assert!(html.contains("<button type=\"submit\" id=\"pay\" name=\"action\""));
    }

    #[tokio::test]
    async fn redirects_are_303_and_a_bad_target_is_a_page() {
        let ok = see_other("https://shop.example/return?a=1");
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            ok.headers().get(header::LOCATION).map(|v| v.as_bytes()),
            Some(b"https://shop.example/return?a=1".as_slice())
        );
        let bad = see_other("https://shop.example/\n");
        assert_eq!(bad.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(html(bad).await.contains("not a valid URL"));
    }
}
