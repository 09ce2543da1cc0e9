//! The browser's side of the endpoint on a real loopback socket: CORS (any origin for the
//! signed API calls, as AWS; only this machine's pages for the page's files), the page's files,
//! and `config.js` (the device secret) only to this machine's pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::SystemTime;

use support::*;

#[tokio::test]
async fn a_preflight_for_an_api_call_is_answered_for_any_origin() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let preflight = |path: &str, origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", endpoint.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent",
            )
            .send()
    };
    // A file page, this endpoint's page, another loopback server's page, any site's page: the
    // signature decides, as on AWS.
    let invoke = format!("/2015-03-31/functions/{FUNCTION}/invocations");
    for origin in ["null", "http://127.0.0.1:8000", "https://evil.example"] {
        for path in ["/", invoke.as_str()] {
            let response = preflight(path, origin).await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            let headers = response.headers();
            assert_eq!(headers["access-control-allow-origin"], origin, "{path}");
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
        }
    }

    // An actual answer, to another origin, exposes the headers the page reads.
    let response = Raw::invoke(FUNCTION, b"{}")
        .header("origin", "http://127.0.0.1:8000")
        .signed(&endpoint.url, SECRET, "lambda", SystemTime::now())
        .send(&endpoint.url)
        .await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://127.0.0.1:8000"
    );
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
    // Unsigned, the same call from anywhere is refused: CORS lets the answer be read, not the
    // call be made.
    let unsigned = Raw::invoke(FUNCTION, b"{}")
        .header("origin", "https://evil.example")
        .send(&endpoint.url)
        .await;
    assert_eq!(unsigned.status(), 403);
}

#[tokio::test]
async fn the_pages_files_are_shared_only_with_this_machines_pages() {
    let endpoint = Endpoint::start().await;
    let client = reqwest::Client::new();
    let get = |path: &'static str, origin: String| {
        client
            .get(format!("{}{path}", endpoint.url))
            .header("origin", origin)
            .send()
    };
    for path in ["/", "/config.js"] {
        for own in ["null".to_owned(), endpoint.url.clone()] {
            let response = get(path, own.clone()).await.unwrap();
            assert_eq!(
                response.headers()["access-control-allow-origin"],
                own.as_str(),
                "{path}"
            );
        }
        for origin in ["http://127.0.0.1:8000", "https://evil.example"] {
            let other = get(path, origin.to_owned()).await.unwrap();
            assert!(
                !other.headers().contains_key("access-control-allow-origin"),
                "{path} for {origin}"
            );
        }
    }
    // Nor does a preflight for reading config.js succeed from elsewhere.
    let preflight = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/config.js", endpoint.url),
        )
        .header("origin", "http://127.0.0.1:8000")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "x-requested-with")
        .send()
        .await
        .unwrap();
    assert!(
        !preflight
            .headers()
            .contains_key("access-control-allow-origin")
    );
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
