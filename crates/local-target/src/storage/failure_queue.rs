//! The consumers' failure queues, as SQS keeps them: one message per batch a consumer gave up
//! on, holding what Lambda's on-failure destination sends (see
//! [`crate::consumers::failure_record`]). They live in the stream's file, so that a batch's
//! message is written in the transaction that moves the checkpoint past it: a batch is either
//! still to be delivered or in its queue, never neither.
//!
//! Receiving follows SQS ("Amazon SQS visibility timeout", SQS Developer Guide): a received
//! message is hidden for its visibility timeout and then visible again; each receipt gets a new
//! receipt handle, and only the newest one deletes the message ("DeleteMessage", SQS API
//! Reference: an older handle succeeds without deleting it).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

pub(crate) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS failure_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,
        body TEXT NOT NULL, sent_ms INTEGER NOT NULL, visible_ms INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER,
        receipt TEXT NOT NULL DEFAULT '');
    CREATE INDEX IF NOT EXISTS failure_messages_by_queue ON failure_messages (queue, visible_ms);
";

/// How long a message is kept, received or not: the failure queues' `MessageRetentionPeriod`,
/// 14 days, as the stack declares them.
pub const RETENTION_MS: i64 = 14 * 24 * 3_600_000;

/// One message as a receiver gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    /// Names this receipt; the newest one deletes the message.
    pub receipt_handle: String,
    pub body: String,
    pub sent_ms: i64,
    /// Receipts so far, this one included.
    pub receive_count: u32,
    pub first_receive_ms: i64,
}

/// A queue's messages by state: SQS' `ApproximateNumberOfMessages` and
/// `ApproximateNumberOfMessagesNotVisible`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
}

/// What a delete found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The handle was the message's newest, or the message was already gone: both succeed.
    Done,
    /// The message was received again since; SQS answers success and keeps it.
    Stale,
    /// The text is no receipt handle this queue ever gave.
    Invalid,
}

/// Adds a message to `queue`, visible at once.
pub(crate) fn send(
    transaction: &Transaction<'_>,
    queue: &str,
    body: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let message_id = crate::ids::random_uuid();
    transaction.execute(
        "INSERT INTO failure_messages (queue, message_id, body, sent_ms, visible_ms)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![queue, message_id, body, now_ms],
    )?;
    Ok(())
}

/// Receives up to `max` visible messages of `queue`, oldest first, hiding each until
/// `now_ms + visibility_ms`.
pub(crate) fn receive(
    connection: &mut Connection,
    queue: &str,
    max: usize,
    visibility_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<Vec<ReceivedMessage>> {
    let transaction = connection.transaction()?;
    let mut received = Vec::new();
    {
        let mut visible = transaction.prepare_cached(
            "SELECT id, message_id, body, sent_ms, receive_count, first_receive_ms
             FROM failure_messages WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = visible.query_map(params![queue, now_ms, max as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, u32>(4)?,
                row.get::<_, Option<i64>>(5)?,
            ))
        })?;
        let mut hide = transaction.prepare_cached(
            "UPDATE failure_messages SET visible_ms = ?2, receive_count = ?3,
                 first_receive_ms = ?4, receipt = ?5 WHERE id = ?1",
        )?;
        for row in rows.collect::<rusqlite::Result<Vec<_>>>()? {
            let (id, message_id, body, sent_ms, count, first) = row;
            let token = format!("{:032x}", fastrand::u128(..));
            let first_receive_ms = first.unwrap_or(now_ms);
            hide.execute(params![
                id,
                now_ms + visibility_ms,
                count + 1,
                first_receive_ms,
                token
            ])?;
            received.push(ReceivedMessage {
                message_id,
                receipt_handle: format!("{id}-{token}"),
                body,
                sent_ms,
                receive_count: count + 1,
                first_receive_ms,
            });
        }
    }
    transaction.commit()?;
    Ok(received)
}

/// Deletes the message `receipt_handle` names, if it is the newest receipt's.
pub(crate) fn delete(
    connection: &Connection,
    queue: &str,
    receipt_handle: &str,
) -> rusqlite::Result<Deleted> {
    let Some((id, token)) = receipt_handle
        .split_once('-')
        .and_then(|(id, token)| Some((id.parse::<i64>().ok()?, token)))
        .filter(|(_, token)| token.len() == 32)
    else {
        return Ok(Deleted::Invalid);
    };
    let stored: Option<(String, String)> = connection
        .query_row(
            "SELECT queue, receipt FROM failure_messages WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match stored {
        None => Ok(Deleted::Done),
        Some((owner, _)) if owner != queue => Ok(Deleted::Invalid),
        Some((_, newest)) if newest == token => {
            connection.execute("DELETE FROM failure_messages WHERE id = ?1", [id])?;
            Ok(Deleted::Done)
        }
        Some(_) => Ok(Deleted::Stale),
    }
}

/// Removes the messages older than [`RETENTION_MS`], as SQS does.
pub(crate) fn expire(connection: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    connection.execute(
        "DELETE FROM failure_messages WHERE sent_ms < ?1",
        [now_ms - RETENTION_MS],
    )
}

/// How many of `queue`'s messages are visible and how many are hidden at `now_ms`.
pub(crate) fn depth(
    connection: &Connection,
    queue: &str,
    now_ms: i64,
) -> rusqlite::Result<QueueDepth> {
    connection
        .prepare_cached(
            "SELECT COALESCE(SUM(visible_ms <= ?2), 0), COALESCE(SUM(visible_ms > ?2), 0)
             FROM failure_messages WHERE queue = ?1",
        )?
        .query_row(params![queue, now_ms], |row| {
            Ok(QueueDepth {
                visible: row.get(0)?,
                in_flight: row.get(1)?,
            })
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn queue() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        let transaction = connection.transaction().unwrap();
        send(&transaction, "q", "first", 1_000).unwrap();
        send(&transaction, "q", "second", 1_001).unwrap();
        send(&transaction, "other", "elsewhere", 1_002).unwrap();
        transaction.commit().unwrap();
        connection
    }

    #[test]
    fn a_received_message_hides_for_its_visibility_timeout_then_comes_back() {
        let mut connection = queue();
        let first = receive(&mut connection, "q", 1, 30_000, 2_000).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].body.as_str(), first[0].receive_count),
            ("first", 1)
        );
        assert_eq!(
            depth(&connection, "q", 2_000).unwrap(),
            QueueDepth {
                visible: 1,
                in_flight: 1
            }
        );
        let rest = receive(&mut connection, "q", 10, 30_000, 3_000).unwrap();
        assert_eq!(
            rest.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["second"]
        );
        assert!(
            receive(&mut connection, "q", 10, 30_000, 31_999)
                .unwrap()
                .is_empty()
        );
        let again = receive(&mut connection, "q", 10, 30_000, 32_000).unwrap();
        assert_eq!(again[0].message_id, first[0].message_id);
        assert_eq!(
            (again[0].receive_count, again[0].first_receive_ms),
            (2, 2_000)
        );
        assert_ne!(again[0].receipt_handle, first[0].receipt_handle);
    }

    #[test]
    fn only_the_newest_receipt_handle_deletes() {
        let mut connection = queue();
        let old = receive(&mut connection, "q", 1, 0, 2_000)
            .unwrap()
            .remove(0);
        let new = receive(&mut connection, "q", 1, 0, 2_001)
            .unwrap()
            .remove(0);
        assert_eq!(
            delete(&connection, "q", &old.receipt_handle).unwrap(),
            Deleted::Stale
        );
        assert_eq!(
            delete(&connection, "other", &new.receipt_handle).unwrap(),
            Deleted::Invalid
        );
        assert_eq!(depth(&connection, "q", 3_000).unwrap().visible, 2);
        assert_eq!(
            delete(&connection, "q", &new.receipt_handle).unwrap(),
            Deleted::Done
        );
        assert_eq!(depth(&connection, "q", 3_000).unwrap().visible, 1);
        assert_eq!(
            delete(&connection, "q", &new.receipt_handle).unwrap(),
            Deleted::Done
        );
        assert_eq!(expire(&connection, 1_000 + RETENTION_MS).unwrap(), 0);
        assert_eq!(expire(&connection, 1_003 + RETENTION_MS).unwrap(), 2);
        for garbage in ["", "x", "1-short", "a-0123456789abcdef0123456789abcdef"] {
            assert_eq!(delete(&connection, "q", garbage).unwrap(), Deleted::Invalid);
        }
    }
}
