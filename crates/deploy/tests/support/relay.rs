//! The custom resources' provider behind the patched moto's relay: moto (see
//! `moto_closer_to_aws.py`, point 5) POSTs each custom resource's Delete here, as
//! CloudFormation would send it to the provider, and this runs the real provider binary under
//! the Lambda Runtime API harness with it and answers moto with the provider's response.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::{post, put};
use serde_json::{Value, json};

/// A relay on a loopback port of its own, stopped on drop.
pub struct CustomResourceRelay {
    /// Where moto sends the requests (`MOTO_CUSTOM_RESOURCE_RELAY`).
    pub url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone, Default)]
struct Shared {
    url: Arc<Mutex<String>>,
    moto: Arc<Mutex<Option<String>>>,
    /// Each request received, with the response the provider PUT for it.
    exchanges: Arc<Mutex<Vec<(Value, Value)>>>,
    responses: Arc<Mutex<Vec<Value>>>,
    provider: Arc<tokio::sync::Mutex<Option<super::Provider>>>,
}

impl CustomResourceRelay {
    /// Listens on a free loopback port; requests are served once [`Self::serve_moto`] says
    /// where the provider's AWS calls go.
    pub async fn bind() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared::default();
        *shared.url.lock().unwrap() = url.clone();
        let app = axum::Router::new()
            .route("/", post(relay))
            .route("/response", put(response))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            shared,
            server,
        }
    }

    /// The provider's AWS calls go to moto at `endpoint`, with moto's test credentials.
    pub fn serve_moto(&self, endpoint: &str) {
        *self.shared.moto.lock().unwrap() = Some(endpoint.to_owned());
    }

    /// Every request relayed so far and the provider's response to it.
    pub fn exchanges(&self) -> Vec<(Value, Value)> {
        self.shared.exchanges.lock().unwrap().clone()
    }
}

impl Drop for CustomResourceRelay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The provider's PUT, sent as to a pre-signed S3 URL: JSON with an empty Content-Type.
async fn response(State(shared): State<Shared>, body: axum::body::Bytes) -> Json<Value> {
    let answer = serde_json::from_slice(&body)
        .unwrap_or_else(|err| json!({"Status": "FAILED", "Reason": format!("not JSON: {err}")}));
    shared.responses.lock().unwrap().push(answer);
    Json(json!({}))
}

async fn relay(State(shared): State<Shared>, Json(mut request): Json<Value>) -> Json<Value> {
    request["ResponseURL"] = json!(format!("{}/response", shared.url.lock().unwrap()));
    let mut provider = shared.provider.lock().await;
    if provider.is_none() {
        let endpoint = shared
            .moto
            .lock()
            .unwrap()
            .clone()
            .expect("serve_moto was called before moto sent a request");
        *provider = Some(super::start_provider(&endpoint).await);
    }
    let before = shared.responses.lock().unwrap().len();
    let outcome = provider
        .as_mut()
        .unwrap()
        .process
        .invoke(&request, Duration::from_secs(60))
        .await
        .unwrap();
    let answer = shared
        .responses
        .lock()
        .unwrap()
        .get(before)
        .cloned()
        .unwrap_or_else(
            || json!({"Status": "FAILED", "Reason": format!("no response: {outcome:?}")}),
        );
    shared
        .exchanges
        .lock()
        .unwrap()
        .push((request, answer.clone()));
    Json(answer)
}
