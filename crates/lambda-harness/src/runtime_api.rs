//! The Lambda Runtime API, as much of it as a function uses: `GET /next`, `POST
//! /{id}/response`, `POST /{id}/error`, `POST /init/error`.

use crate::HarnessError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The function's response document.
    Response(Value),
    /// The error document (`errorType`, `errorMessage`) and the `Lambda-Runtime-Function-Error-Type` header.
    Error {
        body: Value,
        error_type: Option<String>,
    },
}

struct Queued {
    request_id: String,
    payload: Vec<u8>,
    deadline_ms: u128,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Queued>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    first_poll: Mutex<Option<Instant>>,
    polls: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A Runtime API on a free loopback port; it stops when dropped.
#[derive(Debug)]
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<SharedHandle>,
    server: tokio::task::JoinHandle<()>,
}

/// Keeps [`Shared`] out of the public Debug output.
struct SharedHandle(Shared);

impl std::fmt::Debug for SharedHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuntimeApiState")
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

impl RuntimeApi {
    pub async fn start() -> Result<Self, HarnessError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(HarnessError::Bind)?;
        let addr = listener.local_addr().map_err(HarnessError::Bind)?;
        let shared = Arc::new(SharedHandle(Shared::default()));
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Ends when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an invocation with the given time limit; the receiver yields its outcome.
    pub fn enqueue(
        &self,
        payload: &Value,
        timeout: Duration,
    ) -> (String, oneshot::Receiver<Outcome>) {
        let request_id = format!("req-{:08}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed));
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.0.waiting).insert(request_id.clone(), tx);
        lock(&self.shared.0.queue).push_back(Queued {
            request_id: request_id.clone(),
            payload: serde_json::to_vec(payload).unwrap_or_default(),
            deadline_ms,
        });
        self.shared.0.queued.notify_one();
        (request_id, rx)
    }

    /// When the function first asked for work, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.shared.0.first_poll)
    }

    /// The init error the function reported, if any.
    pub fn init_error(&self) -> Option<Value> {
        lock(&self.shared.0.init_error).clone()
    }
}

async fn next(State(shared): State<Arc<SharedHandle>>) -> impl IntoResponse {
    let shared = &shared.0;
    if shared.polls.fetch_add(1, Ordering::Relaxed) == 0 {
        *lock(&shared.first_poll) = Some(Instant::now());
    }
    loop {
        let notified = shared.queued.notified();
        if let Some(queued) = lock(&shared.queue).pop_front() {
            let mut headers = HeaderMap::new();
            let mut set = |name: &'static str, value: String| {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            };
            set("lambda-runtime-aws-request-id", queued.request_id);
            set("lambda-runtime-deadline-ms", queued.deadline_ms.to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:under-test".into(),
            );
            set(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".into(),
            );
            set("content-type", "application/json".into());
            return (headers, queued.payload);
        }
        notified.await;
    }
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.waiting).remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<SharedHandle>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared.0, &id, Outcome::Response(json_or_text(&body)))
}

async fn error(
    State(shared): State<Arc<SharedHandle>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    finish(
        &shared.0,
        &id,
        Outcome::Error {
            body: json_or_text(&body),
            error_type,
        },
    )
}

async fn init_error(State(shared): State<Arc<SharedHandle>>, body: Bytes) -> StatusCode {
    *lock(&shared.0.init_error) = Some(json_or_text(&body));
    StatusCode::ACCEPTED
}
