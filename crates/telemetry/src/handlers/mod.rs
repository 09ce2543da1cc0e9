//! The three handler cores, generic over the [`crate::ports`]. The Lambda binaries and the local
//! target's pollers call these same functions.

mod archive;
mod query;
mod write;

pub use archive::archive_batch;
pub use query::{QueryError, answer_query};
pub use write::{WriteReport, decode_batch, write_batch};

use crate::events::KinesisEventResponse;

/// A response asking Lambda to retry the batch from the record with this sequence number.
fn retry_from(sequence_number: Option<&str>) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    if let Some(sequence_number) = sequence_number {
        response.add_failure(sequence_number);
    }
    response
}
