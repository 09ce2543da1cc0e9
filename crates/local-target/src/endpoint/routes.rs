//! Which request goes where, as axum routes: `POST /` is Kinesis, a path under a Lambda API
//! version (`/2015-03-31/...`, a date) is Lambda, the rest is the test page. Each API is a
//! router of its own behind one authentication middleware, so no API route is reached
//! unsigned. Also the body cap, CORS (any origin for the signed API calls, as AWS; the page's
//! own origins for its files), and a request id on every response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, post};
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::EndpointSettings;
use super::auth::Caller;
use super::auth::{Principal, Verifier};
use super::errors::{Api, ApiError};
use super::kinesis;
use super::lambda::{self, InvokeQuery, Place};
use super::static_files::StaticFiles;
use super::{cloudwatch, dynamodb, s3, sqs};
use crate::device_api::DeviceApi;

/// A `PutRecords` call of 5 MiB base64-encodes to 6.7 MiB; the rest is JSON around it.
pub const MAX_BODY: usize = 7 * 1024 * 1024;

/// Lambda Invoke; `{name}` is the function's name or ARN, percent-encoded by the client.
const INVOKE: &str = "/2015-03-31/functions/{name}/invocations";

struct Shared<A> {
    api: Arc<A>,
    settings: EndpointSettings,
    files: StaticFiles,
}

pub(super) fn router<A: DeviceApi>(
    settings: EndpointSettings,
    api: Arc<A>,
    local: SocketAddr,
) -> Router {
    let mut verifier = Verifier::new(settings.key.clone(), settings.region.clone());
    if let Some(operator) = &settings.operator_key {
        verifier = verifier.with_operator(operator.clone());
    }
    let shared = Arc::new(Shared {
        files: StaticFiles::new(settings.testpage_dir.clone(), local),
        api,
        settings,
    });
    let authenticated = |service: Service| {
        middleware::from_fn_with_state((verifier.clone(), service), authenticate)
    };
    let kinesis = Router::new()
        .route("/", post(kinesis::<A>))
        .layer(authenticated(Service::KINESIS))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared.clone());
    let json_api = |service: Service| {
        Router::new()
            .route("/", post(owner_json::<A>))
            .layer(Extension(service))
            .layer(authenticated(service))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone())
    };
    let json_apis = [Service::DYNAMODB, Service::SQS, Service::CLOUDWATCH]
        .map(|service| (service, json_api(service)));
    let cloudwatch_query = json_api(Service::CLOUDWATCH_QUERY);
    // The JSON protocols share `POST /`; `X-Amz-Target` names the service, and the request
    // must then be signed for that service. A form without one is CloudWatch's query protocol.
    // Anything else is Kinesis', which answers an unknown target as Kinesis does.
    let by_target = move |request: Request| {
        let headers = request.headers();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        let target = headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok());
        let router = match target {
            // The query protocol names its operation in the form, not in a header.
            None if is_form => cloudwatch_query.clone(),
            Some(target) => json_apis
                .iter()
                .find(|(service, _)| target.starts_with(service.target_prefix))
                .map_or_else(|| kinesis.clone(), |(_, router)| router.clone()),
            None => kinesis.clone(),
        };
        async move {
            let Ok(response) = router.oneshot(request).await;
            response
        }
    };
    let lambda = Router::new()
        .route(INVOKE, post(invoke::<A>).fallback(lambda_denied::<A>))
        .route("/{version}/{*operation}", any(lambda_denied::<A>))
        .layer(authenticated(Service::LAMBDA))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared.clone());
    // A two-segment path is Lambda's if its first segment is an API version, else the page's.
    let versioned = move |path: Result<Path<(String, String)>, PathRejection>,
                          State(shared): State<Arc<Shared<A>>>,
                          ConnectInfo(peer): ConnectInfo<SocketAddr>,
                          request: Request| {
        let lambda = lambda.clone();
        async move {
            match path {
                Ok(Path((version, _))) if is_api_version(&version) => {
                    let Ok(response) = lambda.oneshot(request).await;
                    response
                }
                _ => shared.files.serve(peer, request).await,
            }
        }
    };
    let s3 = Router::new()
        .fallback(s3::<A>)
        .layer(authenticated(Service::S3))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared.clone());
    let bucket = shared
        .settings
        .owner
        .as_ref()
        .map(|owner| owner.bucket_name().to_owned());
    Router::new()
        .route("/", post(by_target).fallback(page::<A>))
        .route("/{version}/{*operation}", any(versioned))
        .fallback(page::<A>)
        .with_state(shared)
        .layer(middleware::from_fn_with_state((s3, bucket), to_s3))
        .layer(cors(local))
        .layer(middleware::from_fn(with_request_id))
}

/// Whether a path's first segment is a Lambda API version: every Lambda REST path starts
/// with one, a date such as `2015-03-31`. A folder of the page is never named like one.
fn is_api_version(segment: &str) -> bool {
    segment.len() == 10 && chrono::NaiveDate::parse_from_str(segment, "%Y-%m-%d").is_ok()
}

/// CORS. AWS answers a signed call to Kinesis or Lambda from a page of any origin: the signature,
/// not the origin, is what admits it (the SDK for JavaScript's guide, "Cross-origin resource
/// sharing (CORS)", https://docs.aws.amazon.com/sdk-for-javascript/v2/developer-guide/cors.html:
/// only Amazon S3 needs a CORS configuration; Amazon EC2's "Cross-origin resource sharing support",
/// https://docs.aws.amazon.com/ec2/latest/devguide/cors-support.html: CORS is enabled with no
/// configuration and requests must still be signed). So does this endpoint on its API routes,
/// and a device page served from anywhere (the 2015 page from `python -m http.server`) works.
/// The page's own files keep the narrow list, a file (`Origin: null`) or this endpoint's
/// origins, and `config.js` keeps its own guard besides (see `static_files`).
fn cors(local: SocketAddr) -> CorsLayer {
    let port = local.port();
    let page_origins: Vec<HeaderValue> = std::iter::once("null".to_owned())
        .chain(
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|host| format!("http://{host}:{port}")),
        )
        .filter_map(|origin| HeaderValue::from_str(&origin).ok())
        .collect();
    let allowed = move |origin: &HeaderValue, request: &axum::http::request::Parts| {
        is_api_call(request) || page_origins.contains(origin)
    };
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(allowed))
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

/// Whether a request (or the preflight asking for it) is a call to one of the APIs: a POST to `/`
/// (Kinesis), or anything under a Lambda API version.
fn is_api_call(request: &axum::http::request::Parts) -> bool {
    let path = request.uri.path();
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if is_api_version(first) {
        return true;
    }
    let method = if request.method == Method::OPTIONS {
        request
            .headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<Method>().ok())
    } else {
        Some(request.method.clone())
    };
    path == "/" && method == Some(Method::POST)
}

async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request_id();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    let mut response = next.run(request).await;
    tracing::debug!(?peer, %method, %path, status = response.status().as_u16(), request_id = id.to_str().unwrap_or_default(), "request");
    response.headers_mut().insert("x-amzn-RequestId", id);
    response
}

fn request_id() -> HeaderValue {
    HeaderValue::from_str(&crate::ids::random_uuid()).unwrap_or(HeaderValue::from_static("0"))
}

/// What a request must be signed for, the error shape of its API, and (for the JSON protocols
/// on `POST /`) the `X-Amz-Target` prefix that names it.
#[derive(Clone, Copy, Debug)]
struct Service {
    name: &'static str,
    api: Api,
    target_prefix: &'static str,
}

impl Service {
    const KINESIS: Self = Self {
        name: "kinesis",
        api: Api::Kinesis,
        target_prefix: "",
    };
    const LAMBDA: Self = Self {
        name: "lambda",
        api: Api::Lambda,
        target_prefix: "",
    };
    const S3: Self = Self {
        name: "s3",
        api: Api::S3,
        target_prefix: "",
    };
    const DYNAMODB: Self = Self {
        name: "dynamodb",
        api: Api::DynamoDb,
        target_prefix: dynamodb::TARGET_PREFIX,
    };
    const SQS: Self = Self {
        name: "sqs",
        api: Api::Sqs,
        target_prefix: sqs::TARGET_PREFIX,
    };
    /// CloudWatch signs as its endpoint prefix, `monitoring`.
    const CLOUDWATCH: Self = Self {
        name: "monitoring",
        api: Api::CloudWatch,
        target_prefix: cloudwatch::TARGET_PREFIX,
    };
    const CLOUDWATCH_QUERY: Self = Self {
        name: "monitoring",
        api: Api::CloudWatchQuery,
        target_prefix: "",
    };
}

/// The one check in front of every API route: the body is read (at most [`MAX_BODY`]) and the
/// request's SigV4 signature verified over it before any handler runs. The handlers then read
/// the body from memory.
async fn authenticate(
    State((verifier, service)): State<(Verifier, Service)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let checked = async {
        let body = read_body(&parts.headers, body).await?;
        let principal = verifier
            .verify(&parts, &body, service.name, SystemTime::now())
            .inspect_err(|error| {
                tracing::warn!(code = error.code, message = %error.message, path = %parts.uri.path(), "refused an unauthenticated request");
            })?;
        Ok::<_, ApiError>((body, principal))
    }
    .await;
    match checked {
        Ok((body, principal)) => {
            // The handlers learn whose key signed from here, and only from here.
            parts.extensions.insert(principal);
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(error) => error.render(service.api),
    }
}

async fn kinesis<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = shared.caller(principal);
    let result = async {
        let target = headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok());
        let operation = kinesis::operation(target, caller, &shared.api.stream())?;
        kinesis::handle(shared.api.as_ref(), operation, caller, &body).await
    }
    .await;
    result.unwrap_or_else(|error| error.render(Api::Kinesis))
}

/// The owner's JSON-protocol APIs: DynamoDB, SQS and CloudWatch, told apart by `X-Amz-Target`
/// (the router put the service in the request).
async fn owner_json<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    Extension(principal): Extension<Principal>,
    Extension(service): Extension<Service>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = shared.caller(principal);
    let owner = shared.settings.owner.clone();
    // The router chose this API by the prefix, so the rest is the operation.
    let operation = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .and_then(|target| target.strip_prefix(service.target_prefix))
        .unwrap_or_default();
    let answer = match service.api {
        Api::Sqs => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("127.0.0.1");
            let place = sqs::Place {
                host,
                region: &shared.settings.region,
            };
            sqs::handle(owner, caller, place, operation, &body).await
        }
        Api::CloudWatch => cloudwatch::handle(owner, caller, operation, &body).await,
        Api::CloudWatchQuery => cloudwatch::handle_query(owner, caller, &body).await,
        _ => dynamodb::handle(owner, caller, operation, &body).await,
    };
    answer.unwrap_or_else(|error| error.render(service.api))
}

/// A request signed for S3 (its credential scope names `s3`) is S3's, whatever its path: S3
/// paths are bucket names and keys, which the page's paths could be too. So is any request
/// under the archive bucket's name (its path's first segment, or its host's first label,
/// virtual-host style), signed or not: S3 denies an anonymous one to a private
/// bucket, a 403 (Amazon S3 User Guide, "Troubleshoot access denied (403 Forbidden) errors in
/// Amazon S3": no policy allows it), and so does this, where the page would answer 404.
async fn to_s3(
    State((s3, bucket)): State<(Router, Option<String>)>,
    request: Request,
    next: Next,
) -> Response {
    let signed_for_s3 = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| super::auth::parse_authorization(value).ok())
        .is_some_and(|auth| auth.service == "s3");
    let in_bucket = bucket.is_some_and(|bucket| {
        let first = request
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .next();
        first == Some(bucket.as_str())
            || s3::virtual_host_bucket(request.headers()) == Some(bucket.as_str())
    });
    if signed_for_s3 || in_bucket {
        let Ok(response) = s3.oneshot(request).await;
        response
    } else {
        next.run(request).await
    }
}

async fn s3<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    Extension(principal): Extension<Principal>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = shared.caller(principal);
    let answer = s3::handle(
        shared.settings.owner.clone(),
        caller,
        &method,
        &uri,
        &headers,
    )
    .await;
    let mut response = answer.unwrap_or_else(|error| error.render(Api::S3));
    if method == Method::HEAD {
        // A HEAD answer has headers only, errors included.
        *response.body_mut() = Body::empty();
    }
    response
}

async fn invoke<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    function: Result<Path<FunctionPath>, PathRejection>,
    query: Result<Query<InvokeQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let Path(FunctionPath { name: function }) = function.map_err(|rejection| {
            ApiError::bad_request(
                "InvalidParameterValueException",
                format!("The function name could not be read: {rejection}"),
            )
        })?;
        let Query(query) = query.map_err(|rejection| {
            ApiError::bad_request(
                "InvalidParameterValueException",
                format!("The query string could not be read: {rejection}"),
            )
        })?;
        let place = Place {
            region: &shared.settings.region,
            account_id: &shared.settings.account_id,
        };
        lambda::invoke(
            shared.api.as_ref(),
            place,
            &function,
            query,
            &headers,
            &body,
        )
        .await
    }
    .await;
    result.unwrap_or_else(|error| error.render(Api::Lambda))
}

/// The parameters of [`INVOKE`]. A struct, not a `String`: the router that handed the request
/// on adds its own parameters, which this ignores.
#[derive(Debug, serde::Deserialize)]
struct FunctionPath {
    name: String,
}

/// Every Lambda operation but Invoke (and Invoke with another method).
async fn lambda_denied<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    Extension(principal): Extension<Principal>,
    method: Method,
    uri: Uri,
) -> Response {
    let caller = shared.caller(principal);
    let error = match principal {
        Principal::Device => ApiError::forbidden(
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: {method} {}: the device key may only \
                 invoke the query function {}.",
                caller.access_key_id,
                uri.path(),
                shared.api.query_function_name()
            ),
        ),
        Principal::Operator => ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!(
                "The local target does not implement {method} {}: its Lambda API serves \
                 Invoke of the query function {}.",
                uri.path(),
                shared.api.query_function_name()
            ),
        ),
    };
    error.render(Api::Lambda)
}

async fn page<A: DeviceApi>(
    State(shared): State<Arc<Shared<A>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    shared.files.serve(peer, request).await
}

impl<A> Shared<A> {
    fn caller(&self, principal: Principal) -> Caller<'_> {
        let key = match (principal, &self.settings.operator_key) {
            (Principal::Operator, Some(operator)) => operator,
            _ => &self.settings.key,
        };
        Caller {
            principal,
            access_key_id: key.access_key_id(),
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
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn api_versions_are_dates() {
        assert!(is_api_version("2015-03-31"));
        assert!(is_api_version("2017-03-31"));
        assert!(!is_api_version("index.html"));
        assert!(!is_api_version("css"));
        assert!(!is_api_version("2015-13-31"));
        assert!(!is_api_version("2015-03-31x"));
    }

    #[test]
    fn api_calls_are_told_from_page_requests() {
        let parts = |method: Method, path: &str, requested: Option<&str>| {
            let mut builder = axum::http::Request::builder().method(method).uri(path);
            if let Some(requested) = requested {
                builder = builder.header(header::ACCESS_CONTROL_REQUEST_METHOD, requested);
            }
            builder.body(()).map(|r| r.into_parts().0)
        };
        let api = [
            parts(Method::POST, "/", None),
            parts(Method::OPTIONS, "/", Some("POST")),
            parts(
                Method::POST,
                "/2015-03-31/functions/demo-IoTAPI/invocations",
                None,
            ),
            parts(
                Method::OPTIONS,
                "/2015-03-31/functions/x/invocations",
                Some("POST"),
            ),
            parts(Method::GET, "/2015-03-31/functions", None),
        ];
        for request in api {
            let request = request.unwrap();
            assert!(is_api_call(&request), "{} {}", request.method, request.uri);
        }
        let page = [
            parts(Method::GET, "/", None),
            parts(Method::GET, "/config.js", None),
            parts(Method::OPTIONS, "/config.js", Some("GET")),
            parts(Method::OPTIONS, "/", Some("GET")),
            parts(Method::POST, "/config.js", None),
            parts(Method::GET, "/css/2015-03-31", None),
        ];
        for request in page {
            let request = request.unwrap();
            assert!(!is_api_call(&request), "{} {}", request.method, request.uri);
        }
    }

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
