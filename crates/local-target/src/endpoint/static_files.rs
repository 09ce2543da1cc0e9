//! The test page as static files, with `index.html` at `/`.
//!
//! `config.js` holds the device's secret key, so it goes only to a page of this machine: the
//! peer must be loopback, the `Host` must be a loopback name of this endpoint (a DNS-rebound
//! name of another site is not), and a browser must not be loading it for another site
//! (`Sec-Fetch-Site`), since any web page could otherwise include it with a `<script>` tag.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

const SECRET_FILE: &str = "config.js";

#[derive(Clone, Debug)]
pub(crate) struct StaticFiles {
    files: ServeDir,
    dir: PathBuf,
    port: u16,
}

impl StaticFiles {
    pub fn new(dir: PathBuf, local: SocketAddr) -> Self {
        Self {
            files: ServeDir::new(&dir),
            dir,
            port: local.port(),
        }
    }

    pub async fn serve(&self, peer: SocketAddr, request: Request) -> Response {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return plain(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not allowed on {}: the test page is read with GET or HEAD, the \
                     Kinesis API is POST /, Lambda Invoke is POST \
                     /2015-03-31/functions/NAME/invocations.",
                    request.method(),
                    request.uri().path()
                ),
            );
        }
        // ServeDir decodes the path, so the check must see the decoded one too: otherwise
        // `/%63onfig.js` would reach the secret unguarded.
        let decoded = percent_encoding::percent_decode_str(request.uri().path())
            .decode_utf8_lossy()
            .into_owned();
        let segments: Vec<&str> = decoded
            .split(['/', '\\'])
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if segments
            .last()
            .is_some_and(|last| last.eq_ignore_ascii_case(SECRET_FILE))
        {
            // Only plain data crosses the await below: the request's body is not `Sync`.
            let allowed = {
                let header = |name: &str| {
                    request
                        .headers()
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                };
                may_read_secret_config(
                    peer.ip(),
                    header("host"),
                    header("sec-fetch-site"),
                    self.port,
                )
            };
            if !allowed {
                tracing::warn!(%peer, "refused config.js (it holds the device secret)");
            }
            let head = request.method() == Method::HEAD;
            return self.secret_config(allowed, head, &segments).await;
        }
        match self.files.clone().try_call(request).await {
            Ok(response) => response.map(Body::new),
            Err(err) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the test page could not be read: {err}"),
            ),
        }
    }

    async fn secret_config(&self, allowed: bool, head: bool, segments: &[&str]) -> Response {
        if !allowed {
            return plain(
                StatusCode::FORBIDDEN,
                "config.js holds the device's secret key: it is served only to pages of this \
                 machine, opened from http://127.0.0.1:<port>/ or from the file itself.",
            );
        }
        if segments != [SECRET_FILE] {
            return plain(StatusCode::NOT_FOUND, "not found");
        }
        let text = match tokio::fs::read(self.dir.join(SECRET_FILE)).await {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return plain(
                    StatusCode::NOT_FOUND,
                    "config.js is not written yet: the local target writes it once it has started; \
                     reload in a moment.",
                );
            }
            Err(err) => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("config.js could not be read: {err}"),
                );
            }
        };
        let body = if head {
            Body::empty()
        } else {
            Body::from(text)
        };
        let mut response = (StatusCode::OK, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Whether a request for `config.js` may have it: from a loopback peer, addressed to this
/// endpoint (`port`) by a loopback name, not loaded by a browser on behalf of another site.
pub fn may_read_secret_config(
    peer: IpAddr,
    host: Option<&str>,
    sec_fetch_site: Option<&str>,
    port: u16,
) -> bool {
    let loopback_peer = peer.to_canonical().is_loopback();
    let loopback_host = host.is_some_and(|host| {
        ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")))
    });
    let own_page = sec_fetch_site.is_none_or(|site| matches!(site, "same-origin" | "none"));
    loopback_peer && loopback_host && own_page
}

fn plain(status: StatusCode, message: impl Into<String>) -> Response {
    let mut response = (status, message.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn a_loopback_page_of_this_endpoint_may_read_the_secret() {
        assert!(may_read_secret_config(
            LOOPBACK,
            Some("127.0.0.1:4567"),
            None,
            4567
        ));
        assert!(may_read_secret_config(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            Some("[::1]:4567"),
            Some("same-origin"),
            4567
        ));
        assert!(may_read_secret_config(
            LOOPBACK,
            Some("LOCALHOST:4567"),
            Some("none"),
            4567
        ));
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        assert!(may_read_secret_config(
            mapped,
            Some("localhost:4567"),
            None,
            4567
        ));
    }

    #[test]
    fn another_machine_may_not() {
        for peer in [
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V6("fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED)),
        ] {
            assert!(
                !may_read_secret_config(peer, Some("127.0.0.1:4567"), None, 4567),
                "{peer}"
            );
        }
    }

    #[test]
    fn another_site_may_not_even_through_a_loopback_browser() {
        // A page of another site including <script src="http://127.0.0.1:4567/config.js">.
        assert!(!may_read_secret_config(
            LOOPBACK,
            Some("127.0.0.1:4567"),
            Some("cross-site"),
            4567
        ));
        assert!(!may_read_secret_config(
            LOOPBACK,
            Some("127.0.0.1:4567"),
            Some("same-site"),
            4567
        ));
        // A DNS-rebound name, or another port.
        assert!(!may_read_secret_config(
            LOOPBACK,
            Some("evil.example:4567"),
            None,
            4567
        ));
        assert!(!may_read_secret_config(
            LOOPBACK,
            Some("127.0.0.1:80"),
            None,
            4567
        ));
        assert!(!may_read_secret_config(LOOPBACK, None, None, 4567));
    }
}
