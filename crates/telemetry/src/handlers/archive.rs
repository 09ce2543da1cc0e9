use super::retry_from;
use crate::archive::archive_object;
use crate::events::{KinesisEvent, KinesisEventResponse};
use crate::ports::Archive;

/// Archives the whole batch as one object. If the archive refuses it, the batch is reported
/// failed from its first record, so that Lambda delivers it again and the same key is written.
pub async fn archive_batch<A: Archive>(archive: &A, event: &KinesisEvent) -> KinesisEventResponse {
    let Some(object) = archive_object(&event.records) else {
        return KinesisEventResponse::default();
    };
    match archive.put(&object).await {
        Ok(()) => {
            tracing::info!(key = %object.key, records = event.records.len(), bytes = object.body.len(), "batch archived");
            KinesisEventResponse::default()
        }
        Err(err) => {
            let first = event
                .records
                .first()
                .map(|r| r.kinesis.sequence_number.as_str());
            tracing::error!(key = %object.key, error = %err, retry_from = first, "batch not archived");
            retry_from(first)
        }
    }
}
