//! The payment-page URL: encoding of each segment and of the nested `redirect_uri`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use payments_paylican::PaylicanConfig;
use payments_paylican::payment_page::PaymentPage;
use proptest::prelude::*;

fn page() -> PaymentPage {
    PaylicanConfig::new("https://sso.example", "https://pay.example", "u", "p")
        .payment_page()
        .unwrap()
}

/// What Keycloak sees: the decoded query parameters.
fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// What the payment gateway sees: the decoded path segments of the redirect URI.
fn decoded_segments(redirect_uri: &str) -> Vec<String> {
    let url = url::Url::parse(redirect_uri).unwrap();
    url.path_segments()
        .unwrap()
        .map(|s| {
            let bytes: Vec<u8> = {
                let mut out = Vec::new();
                let b = s.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                out
            };
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[test]
fn the_documented_url_is_built_from_the_configuration() {
    assert_eq!(
        page().url("XYZ", "REF-1234", "XYZ2024-ade08").unwrap(),
        "https://sso.example/auth/realms/PGW/protocol/openid-connect/auth\
         ?client_id=invoice-system-client\
         &redirect_uri=https%3A%2F%2Fpay.example%2Fapi%2Fv1%2Fpay%2FXYZ%2FREF-1234%2FXYZ2024-ade08"
    );
    let production =
        PaylicanConfig::new("https://sso.example/", "https://pay.example/gw/", "u", "p")
            .client_id("payment_adapter_client")
            .openid_code_flow()
            .payment_page()
            .unwrap();
    let url = production.url("XYZ", "REF-1234", "XYZ2024-ade08").unwrap();
    assert_eq!(
        query(&url),
        [
            (
                "client_id".to_string(),
                "payment_adapter_client".to_string()
            ),
            (
                "redirect_uri".into(),
                "https://pay.example/gw/api/v1/pay/XYZ/REF-1234/XYZ2024-ade08".into()
            ),
            ("response_type".into(), "code".into()),
            ("scope".into(), "openid".into()),
        ]
    );
    insta::assert_snapshot!("payment_page_url_production", url);
}

#[test]
fn characters_that_need_encoding_are_encoded_once_per_level() {
    let url = page()
        .url("Type A/B", "REF#1?x=1&y=2;jsessionid=3", "INV 100%+é")
        .unwrap();
    insta::assert_snapshot!("payment_page_url_encoded", url);
    // Nothing of the segments leaks into Keycloak's own query.
    let q = query(&url);
    assert_eq!(q.len(), 2, "{q:?}");
    let redirect = &q[1].1;
    assert_eq!(
        redirect,
        "https://pay.example/api/v1/pay/Type%20A%2FB/REF%231%3Fx%3D1%26y%3D2%3Bjsessionid%3D3/INV%20100%25%2B%C3%A9"
    );
    assert_eq!(
        decoded_segments(redirect),
        [
            "api",
            "v1",
            "pay",
            "Type A/B",
            "REF#1?x=1&y=2;jsessionid=3",
            "INV 100%+é"
        ]
    );
}

#[test]
fn segments_that_would_change_the_path_are_refused() {
    for (t, r, i) in [
        ("..", "R", "I"),
        ("T", ".", "I"),
        ("T", "R", ""),
        ("T", "R\n", "I"),
    ] {
        assert!(page().url(t, r, i).is_err(), "{t:?} {r:?} {i:?}");
    }
}

proptest! {
    #[test]
    fn any_segment_round_trips(
        t in "\\PC{1,20}",
        r in "\\PC{1,40}",
        i in "[ -~]{1,30}",
    ) {
        prop_assume!(![&t, &r, &i].iter().any(|s| s.as_str() == "." || s.as_str() == ".."));
        let url = page().url(&t, &r, &i).unwrap();
        let q = query(&url);
        prop_assert_eq!(q.len(), 2);
        prop_assert_eq!(&q[0], &("client_id".to_string(), "invoice-system-client".to_string()));
        let segments = decoded_segments(&q[1].1);
        prop_assert_eq!(segments, vec!["api".to_string(), "v1".into(), "pay".into(), t, r, i]);
    }
}

/// The token endpoint as the `url` crate builds it (what this crate did before it built URLs
/// without a URL parser in the webhook-only build).
fn token_url_by_a_url_parser(keycloak: &str, context: &str, realm: &str) -> String {
    let mut url = url::Url::parse(keycloak).unwrap();
    {
        let mut path = url.path_segments_mut().unwrap();
        path.pop_if_empty();
        for segment in context.split('/').filter(|s| !s.is_empty()) {
            path.push(segment);
        }
        path.extend(["realms", realm, "protocol", "openid-connect", "token"]);
    }
    url.into()
}

/// The payment-page URL as the `url` crate builds it.
fn page_url_by_a_url_parser(authorize: &str, client_id: &str, redirect_uri: &str) -> String {
    let mut url = url::Url::parse(authorize).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri);
    url.into()
}

proptest! {
    #[test]
    fn keycloak_urls_are_built_as_a_url_parser_builds_them(
        base in "(https://sso\\.example|http://127\\.0\\.0\\.1:8080|https://sso\\.example/kc/?)",
        context in "[ -~]{0,12}",
        realm in "\\PC{1,16}",
        client_id in "\\PC{1,16}",
    ) {
        prop_assume!(!context.contains(['?', '#']));
        let config = PaylicanConfig::new(base.as_str(), "https://pay.example/gw", "u", "p")
            .keycloak_context_path(context.as_str())
            .realm(realm.as_str())
            .client_id(client_id.as_str());
        prop_assert_eq!(
            config.effective_token_url().unwrap(),
            token_url_by_a_url_parser(&base, &context, &realm)
        );
        let page = config.payment_page().unwrap();
        let authorize = config.openid_connect_url().unwrap() + "/auth";
        let redirect = page.redirect_uri("XYZ", "REF 1/2", "INV-1").unwrap();
        prop_assert_eq!(
            page.url("XYZ", "REF 1/2", "INV-1").unwrap(),
            page_url_by_a_url_parser(&authorize, &client_id, &redirect)
        );
    }
}
