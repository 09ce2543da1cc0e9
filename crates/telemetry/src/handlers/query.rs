use crate::item::SensorItem;
use crate::ports::{PortError, ReadingStore};
use crate::query::{InvalidQuery, QueryRequest, QueryResponse};
use serde_json::Value;

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("invalid request: {0}")]
    Invalid(#[from] InvalidQuery),
    #[error("the reading store is unavailable: {0}")]
    Store(#[from] PortError),
}

impl QueryError {
    /// The error type a caller sees (Lambda's `errorType`).
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "InvalidRequest",
            Self::Store(_) => "StoreUnavailable",
        }
    }
}

/// Answers one query request.
pub async fn answer_query<S: ReadingStore>(
    store: &S,
    request: &Value,
) -> Result<QueryResponse, QueryError> {
    let request = QueryRequest::from_json(request)?;
    let items = match request.store_query() {
        Some(query) => store
            .newest_readings(&query)
            .await?
            .into_iter()
            .map(SensorItem::from)
            .collect(),
        None => Vec::new(),
    };
    Ok(request.response(items))
}
