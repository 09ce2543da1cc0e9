//! Which request goes where: `POST /` is Kinesis, a `/YYYY-MM-DD/...` path is Lambda, the
//! rest is the test page. Also the body cap, CORS for the page, and a request id on every
//! response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::EndpointSettings;
use super::auth::Verifier;
use super::errors::{Api, ApiError};
use super::kinesis::{self, Caller};
use super::lambda::{self, Place};
use super::static_files::StaticFiles;
use crate::device_api::DeviceApi;

/// A `PutRecords` call of 5 MiB base64-encodes to 6.7 MiB; the rest is JSON around it.
pub const MAX_BODY: usize = 7 * 1024 * 1024;

struct Shared<A> {
    api: Arc<A>,
    settings: EndpointSettings,
    verifier: Verifier,
    files: StaticFiles,
}

pub(super) fn router<A: DeviceApi>(
    settings: EndpointSettings,
    api: Arc<A>,
    local: SocketAddr,
) -> Router {
    let shared = Arc::new(Shared {
        verifier: Verifier::new(settings.key.clone(), settings.region.clone()),
        files: StaticFiles::new(settings.testpage_dir.clone(), local),
        api,
        settings,
    });
    Router::new()
        .fallback(dispatch::<A>)
        .with_state(shared)
        .layer(cors(local))
        .layer(middleware::from_fn(with_request_id))
}

/// The page is opened from a file (`Origin: null`) or from this endpoint. Every API call is
/// signed anyway; listing the origins keeps other sites from even reading error answers.
fn cors(local: SocketAddr) -> CorsLayer {
    let port = local.port();
    let origins: Vec<HeaderValue> = std::iter::once("null".to_owned())
        .chain(
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|host| format!("http://{host}:{port}")),
        )
        .filter_map(|origin| HeaderValue::from_str(&origin).ok())
        .collect();
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        .allow_headers(names(&[
            "authorization",
            "content-type",
            "x-amz-date",
            "x-amz-target",
            "x-amz-content-sha256",
            "x-amz-user-agent",
            "x-amz-invocation-type",
            "x-amz-log-type",
            "x-amz-client-context",
        ]))
        .expose_headers(names(&[
            "x-amz-function-error",
            "x-amzn-requestid",
            "x-amzn-errortype",
            "x-amz-executed-version",
        ]))
        .max_age(Duration::from_secs(600))
}

#[derive(Clone, Debug)]
struct RequestId(HeaderValue);

async fn with_request_id(mut request: Request, next: Next) -> Response {
    let id = request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-amzn-RequestId", id);
    response
}

/// A random UUID (version 4 layout), as AWS' request ids look.
fn request_id() -> HeaderValue {
    let bits = fastrand::u128(..) & !(0xf_u128 << 76) & !(0x3_u128 << 62)
        | (0x4_u128 << 76)
        | (0x2_u128 << 62);
    let hex = format!("{bits:032x}");
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0"))
}

async fn dispatch<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let response = if method == Method::POST && path == "/" {
        shared.kinesis(request).await
    } else if lambda::is_lambda_path(&path) {
        shared.lambda(request).await
    } else {
        shared.files.serve(peer, request).await
    };
    tracing::debug!(%peer, %method, %path, status = response.status().as_u16(), %request_id, "request");
    response
}

impl<A: DeviceApi> Shared<A> {
    async fn kinesis(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let result = async {
            let body = read_body(&parts.headers, body).await?;
            self.authenticate(&parts, &body, "kinesis")?;
            let caller = self.caller();
            let target = parts
                .headers
                .get("x-amz-target")
                .and_then(|value| value.to_str().ok());
            let operation = kinesis::operation(target, caller, &self.api.stream())?;
            kinesis::handle(self.api.as_ref(), operation, caller, &body).await
        }
        .await;
        result.unwrap_or_else(|error| error.render(Api::Kinesis))
    }

    async fn lambda(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let result = async {
            let body = read_body(&parts.headers, body).await?;
            self.authenticate(&parts, &body, "lambda")?;
            let Some(function) = lambda::invoked_function(&parts.method, parts.uri.path()) else {
                return Err(ApiError::forbidden(
                    "AccessDeniedException",
                    format!(
                        "User: {} is not authorized to perform: {} {}: the device key may only \
                         invoke the query function {}.",
                        self.settings.key.access_key_id,
                        parts.method,
                        parts.uri.path(),
                        self.api.query_function_name()
                    ),
                ));
            };
            let place = Place {
                region: &self.settings.region,
                account_id: &self.settings.account_id,
            };
            lambda::invoke(
                self.api.as_ref(),
                place,
                &function,
                parts.uri.query(),
                &parts.headers,
                &body,
            )
            .await
        }
        .await;
        result.unwrap_or_else(|error| error.render(Api::Lambda))
    }

    fn authenticate(
        &self,
        parts: &axum::http::request::Parts,
        body: &[u8],
        service: &str,
    ) -> Result<(), ApiError> {
        self.verifier
            .verify(parts, body, service, SystemTime::now())
            .inspect_err(|error| {
                tracing::warn!(code = error.code, message = %error.message, path = %parts.uri.path(), "refused an unauthenticated request");
            })
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            access_key_id: &self.settings.key.access_key_id,
            account_id: &self.settings.account_id,
        }
    }
}

async fn read_body(headers: &axum::http::HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    let too_large = |size: &str| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!(
                "The request body ({size}) exceeds the {MAX_BODY} bytes this endpoint reads: \
                 more than a PutRecords call of 5 MiB, base64-encoded, can be."
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = declared
        && length > MAX_BODY as u64
    {
        return Err(too_large(&format!("{length} bytes")));
    }
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|_| too_large("sent without a length, too long or cut off"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        let id = id.to_str().unwrap_or_default();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        assert_ne!(request_id(), request_id());
    }
}
