//! The browser's side of the endpoint on a real loopback socket: CORS for the test page, the
//! page's files, and `config.js` (the device secret) only to this machine's pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::SystemTime;

use support::*;

#[tokio::test]
async fn a_preflight_from_a_file_page_is_answered() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}/", endpoint.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent",
            )
            .send()
    };
    let response = preflight("null").await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "null");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "authorization",
        "x-amz-date",
        "x-amz-target",
        "x-amz-invocation-type",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );

    // Another site gets no permission.
    let response = preflight("https://evil.example").await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // An actual answer exposes the headers the page reads.
    let response = Raw::invoke(FUNCTION, b"{}")
        .header("origin", "null")
        .signed(&endpoint.url, SECRET, "lambda", SystemTime::now())
        .send(&endpoint.url)
        .await;
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for name in [
        "x-amz-function-error",
        "x-amzn-requestid",
        "x-amzn-errortype",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn the_test_page_is_served_and_config_js_only_to_this_machines_pages() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let index = client
        .get(format!("{}/", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    assert_eq!(index.text().await.unwrap(), "<h1>test page</h1>");

    let config = client
        .get(format!("{}/config.js", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(config.status(), 200);
    assert_eq!(config.headers()["cache-control"], "no-store");
    assert!(config.text().await.unwrap().contains(SECRET));

    // A page of another site including it with <script src>, under any spelling of the path.
    for path in ["/config.js", "/%63onfig.js", "/./config.js", "//config.js"] {
        let refused = client
            .get(format!("{}{path}", endpoint.url))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        assert!(!refused.text().await.unwrap().contains(SECRET));
    }
    // A DNS-rebound name of another site.
    let refused = client
        .get(format!("{}/config.js", endpoint.url))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let missing = client
        .get(format!("{}/nothing-here.html", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let wrong_method = client
        .delete(format!("{}/index.html", endpoint.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
}
