//! Test utilities, behind the `test-util` feature (as the AWS SDK ships its own): an in-memory
//! [`DeviceApi`] that keeps every call, and [`LoopbackEndpoint`], the endpoint serving a port
//! on a real loopback socket, so the endpoint and its clients are tested without storage
//! behind it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

use crate::device_api::{
    Appended, DeviceApi, FunctionError, NewRecord, PutResult, StreamDescription, StreamUnavailable,
};

/// The endpoint on a free 127.0.0.1 port with `api` behind it, until dropped.
#[derive(Debug)]
pub struct LoopbackEndpoint {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl LoopbackEndpoint {
    /// Binds the port and serves `settings` and `api` on it in a task of the current runtime.
    pub async fn start<A: DeviceApi>(
        settings: crate::endpoint::EndpointSettings,
        api: Arc<A>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::endpoint::serve(
            listener,
            settings,
            api,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Self { url, _stop: stop })
    }
}

/// The port in memory: one stream, one query function, and what each call brought.
///
/// Every record goes to the stream's last shard, with sequence numbers `4963` followed by a
/// 52-digit counter. The query function answers an empty page echoing its payload under
/// `"echo"`, or, without a `sensorid`, the function error `InvalidRequest`.
#[derive(Debug)]
pub struct InMemoryDeviceApi {
    stream: StreamDescription,
    query_function_name: String,
    calls: Mutex<Vec<Vec<NewRecord>>>,
    invocations: Mutex<Vec<Value>>,
    sequence: AtomicU64,
    unavailable: AtomicBool,
}

impl InMemoryDeviceApi {
    /// A port serving `stream` and the query function `query_function_name`.
    pub fn new(stream: StreamDescription, query_function_name: impl Into<String>) -> Self {
        Self {
            stream,
            query_function_name: query_function_name.into(),
            calls: Mutex::default(),
            invocations: Mutex::default(),
            sequence: AtomicU64::new(0),
            unavailable: AtomicBool::new(false),
        }
    }

    /// The records of each `PutRecord`/`PutRecords` call that reached the port, in order.
    pub fn calls(&self) -> Vec<Vec<NewRecord>> {
        lock(&self.calls).clone()
    }

    /// Every record stored, in order.
    pub fn records(&self) -> Vec<NewRecord> {
        lock(&self.calls).iter().flatten().cloned().collect()
    }

    pub fn record_count(&self) -> usize {
        lock(&self.calls).iter().map(Vec::len).sum()
    }

    /// The payload of each query function invocation.
    pub fn invocations(&self) -> Vec<Value> {
        lock(&self.invocations).clone()
    }

    pub fn invocation_count(&self) -> usize {
        lock(&self.invocations).len()
    }

    /// From now on the stream refuses records (`unavailable`) or takes them again.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }
}

/// A test that panicked while holding a lock has failed already; what it left is still read.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DeviceApi for InMemoryDeviceApi {
    fn stream(&self) -> StreamDescription {
        self.stream.clone()
    }

    async fn put_records(
        &self,
        records: Vec<NewRecord>,
    ) -> Result<Vec<PutResult>, StreamUnavailable> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StreamUnavailable("disk full".into()));
        }
        let shard_id = format!("shardId-{:012}", self.stream.shard_count.saturating_sub(1));
        let appended = records
            .iter()
            .map(|_| {
                Ok(Appended {
                    shard_id: shard_id.clone(),
                    sequence_number: format!(
                        "4963{:052}",
                        self.sequence.fetch_add(1, Ordering::SeqCst)
                    ),
                })
            })
            .collect();
        lock(&self.calls).push(records);
        Ok(appended)
    }

    fn query_function_name(&self) -> &str {
        &self.query_function_name
    }

    async fn invoke_query(&self, payload: Value) -> Result<Value, FunctionError> {
        lock(&self.invocations).push(payload.clone());
        if payload.get("sensorid").is_none() {
            return Err(FunctionError {
                error_type: "InvalidRequest".into(),
                error_message: "sensorid is required".into(),
            });
        }
        Ok(json!({"Items": [], "Count": 0, "ScannedCount": 0, "echo": payload}))
    }
}
