//! A payer's browser without a browser: opens a sandbox page, finds the form of a button by its
//! `id` and submits it as a browser would (its hidden fields, plus what the payer types), without
//! following redirects so that a test sees where the page sends the payer.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use reqwest::Url;

/// A page as the payer's browser received it.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) url: String,
    pub(crate) content_type: String,
    pub(crate) html: String,
}

/// What submitting a form answered.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// `Location` of a redirect.
    pub(crate) location: Option<String>,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// GETs `url` (no redirect followed).
pub(crate) async fn open(url: &str) -> Page {
    let response = browser().get(url).send().await.unwrap();
    Page {
        status: response.status().as_u16(),
        url: url.to_owned(),
        content_type: content_type(&response),
        html: response.text().await.unwrap(),
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the tag `tag` (`name="value"`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag.get(start..)?.find('"')?;
    Some(unescape(tag.get(start..end)?))
}

/// A form found on a page.
#[derive(Debug, Clone)]
pub(crate) struct Form {
    pub(crate) method: String,
    pub(crate) action: String,
    pub(crate) fields: Vec<(String, String)>,
}

impl Page {
    /// Whether the page has an element with this `id`.
    pub(crate) fn has(&self, id: &str) -> bool {
        self.html.contains(&format!(" id=\"{id}\""))
    }

    /// The form holding the element with `id` (a button), with the button's own name/value.
    pub(crate) fn form_of(&self, id: &str) -> Form {
        let html = &self.html;
        let at = html
            .find(&format!(" id=\"{id}\""))
            .unwrap_or_else(|| panic!("no element #{id} on {}:\n{html}", self.url));
        let start = html[..at]
            .rfind("<form")
            .unwrap_or_else(|| panic!("#{id} is in no form:\n{html}"));
        let end = at + html[at..].find("</form>").expect("an unclosed form");
        let form = &html[start..end];
        let open_tag = &form[..form.find('>').unwrap()];
        let method = attribute(open_tag, "method").unwrap_or_else(|| "get".into());
        let action = attribute(open_tag, "action").unwrap_or_default();
        let action = Url::parse(&self.url)
            .unwrap()
            .join(&action)
            .unwrap()
            .to_string();
        let mut fields = Vec::new();
        for piece in form.split("<input").skip(1) {
            let tag = &piece[..piece.find('>').unwrap()];
            if let Some(name) = attribute(tag, "name") {
                fields.push((name, attribute(tag, "value").unwrap_or_default()));
            }
        }
        // The element clicked: a submit button sends its own name and value.
        let button = &html[html[..at].rfind('<').unwrap()..];
        let button = &button[..button.find('>').unwrap()];
        if let (Some(name), Some(value)) = (attribute(button, "name"), attribute(button, "value")) {
            fields.push((name, value));
        }
        Form {
            method,
            action,
            fields,
        }
    }

    /// Clicks the button `id`, after typing `typed` into the form's inputs.
    pub(crate) async fn click(&self, id: &str, typed: &[(&str, &str)]) -> Answer {
        let mut form = self.form_of(id);
        for (name, value) in typed {
            match form.fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = (*value).to_owned(),
                None => panic!("no input `{name}` in the form of #{id}: {form:?}"),
            }
        }
        assert_eq!(form.method, "post", "{form:?}");
        let mut encoder = Url::parse("http://form.invalid/").unwrap();
        encoder.query_pairs_mut().extend_pairs(&form.fields);
        let response = browser()
            .post(&form.action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encoder.query().unwrap_or_default().to_owned())
            .send()
            .await
            .unwrap();
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            content_type: content_type(&response),
            body: response.text().await.unwrap(),
        }
    }
}

impl Answer {
    /// The redirect target (a 303, as after a form POST).
    pub(crate) fn redirected_to(&self) -> String {
        assert_eq!(self.status, 303, "{self:?}");
        self.location.clone().expect("a Location")
    }

    /// Follows the redirect (resolved against `base`) to the page it names.
    pub(crate) async fn follow(&self, base: &str) -> Page {
        let location = self.redirected_to();
        let url = Url::parse(base).unwrap().join(&location).unwrap();
        open(url.as_str()).await
    }
}
