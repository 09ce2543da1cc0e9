//! The archive object for one batch: its key and a lossless JSON body.
//!
//! Key `YYYY-MM-DD/<first sequence number>.json`, dated by the first record's arrival rather
//! than the processing time (the 2015 choice), so a batch retried after midnight overwrites its
//! own object instead of leaving a second copy under the next day.
//!
//! Body `{"Records": [...]}`, one entry per record with its sequence number, partition key,
//! arrival time and data. Data that is UTF-8 is kept as text; anything else as base64, marked by
//! `dataEncoding`, so that every byte survives and the body is always valid JSON (the 2015 body
//! was not, for a payload that was not JSON).

use crate::events::KinesisEventRecord;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One object to put in the archive bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveObject {
    pub key: String,
    pub body: Vec<u8>,
}

/// The archive body, as written and as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveBody<'a> {
    #[serde(rename = "Records", borrow)]
    pub records: Vec<ArchivedRecord<'a>>,
}

/// One record in the archive body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchivedRecord<'a> {
    #[serde(borrow)]
    pub sequence_number: Cow<'a, str>,
    #[serde(borrow)]
    pub partition_key: Cow<'a, str>,
    /// RFC 3339 in UTC with milliseconds.
    pub approximate_arrival_timestamp: String,
    #[serde(borrow)]
    pub data: Cow<'a, str>,
    pub data_encoding: DataEncoding,
}

/// How [`ArchivedRecord::data`] holds the record's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataEncoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "base64")]
    Base64,
}

impl ArchivedRecord<'_> {
    /// The record's original bytes.
    pub fn bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self.data_encoding {
            DataEncoding::Utf8 => Ok(self.data.as_bytes().to_vec()),
            DataEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(&*self.data),
        }
    }
}

/// The object for a batch, or `None` for an empty batch (nothing to keep).
pub fn archive_object(records: &[KinesisEventRecord]) -> Option<ArchiveObject> {
    let first = records.first()?;
    let key = archive_key(
        &first.kinesis.sequence_number,
        first.kinesis.approximate_arrival_timestamp.0,
    );
    let body = ArchiveBody {
        records: records.iter().map(archived_record).collect(),
    };
    // Serialising owned strings and plain structs into a Vec cannot fail.
    let body = serde_json::to_vec(&body).unwrap_or_default();
    Some(ArchiveObject { key, body })
}

/// `YYYY-MM-DD/<sequence number>.json`.
pub fn archive_key(first_sequence_number: &str, first_arrival: DateTime<Utc>) -> String {
    format!(
        "{}/{}.json",
        first_arrival.format("%Y-%m-%d"),
        first_sequence_number
    )
}

fn archived_record(record: &KinesisEventRecord) -> ArchivedRecord<'_> {
    let kinesis = &record.kinesis;
    let (data, data_encoding) = match std::str::from_utf8(&kinesis.data.0) {
        Ok(text) => (Cow::Borrowed(text), DataEncoding::Utf8),
        Err(_) => (
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(&kinesis.data.0)),
            DataEncoding::Base64,
        ),
    };
    ArchivedRecord {
        sequence_number: Cow::Borrowed(&kinesis.sequence_number),
        partition_key: Cow::Borrowed(&kinesis.partition_key),
        approximate_arrival_timestamp: kinesis
            .approximate_arrival_timestamp
            .0
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        data,
        data_encoding,
    }
}
