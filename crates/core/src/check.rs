//! Input checks shared by provider crates, run before anything is sent.

use crate::Error;

/// Checks that `value` is an absolute http(s) URL with a host and no whitespace or control
/// characters. With `https_only_in: Some(environment)`, plain http is refused with
/// "must be https in {environment}" (e.g. callback URLs in production).
pub fn http_url(field: &str, value: &str, https_only_in: Option<&str>) -> Result<(), Error> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(Error::invalid(field, "not an absolute URL"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(Error::invalid(field, "must be an http(s) URL"));
    }
    if let Some(environment) = https_only_in
        && scheme != "https"
    {
        return Err(Error::invalid(
            field,
            format!("must be https in {environment}"),
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(field, "not a valid URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<(), Error>) -> String {
        match result {
            Err(Error::InvalidInput { reason, .. }) => reason,
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn http_urls_are_checked() {
        assert!(http_url("u", "https://shop.example/cb?x=1", Some("production")).is_ok());
        assert!(http_url("u", "http://localhost:8080/cb", None).is_ok());
        assert_eq!(
            reason(http_url("u", "http://shop.example/cb", Some("live"))),
            "must be https in live"
        );
        assert_eq!(
            reason(http_url("u", "shop.example", None)),
            "not an absolute URL"
        );
        assert_eq!(
            reason(http_url("u", "ftp://shop.example", None)),
            "must be an http(s) URL"
        );
        assert_eq!(
            reason(http_url("u", "https:///path", None)),
            "not a valid URL"
        );
        assert_eq!(
            reason(http_url("u", "https://shop.example/a b", None)),
            "not a valid URL"
        );
    }
}
