#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The paging token's invariants on generated tokens, at the scale of the ordinary test run
//! (fuzz/fuzz_targets/paging_token.rs checks them at a far larger one), against a table holding
//! three sensors' readings at the same instants: a forged, crafted or mutated token is
//! refused with `BadToken` or `TokenMismatch` unless it names the request's own sensor and
//! range, and every answer holds only that sensor's readings inside that range, older than the
//! token's position.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};
use support::MemoryStore;
use telemetry::Timestamp;
use telemetry::handlers::{QueryError, answer_query};
use telemetry::query::{InvalidQuery, QueryResponse};

const SENSORS: [&str; 3] = ["sensor-a", "sensor-b", "sensor-a2"];

fn minute(m: u8) -> Timestamp {
    Timestamp::parse("2026-11-27T12:00:00Z")
        .unwrap()
        .offset_millis(i64::from(m) * 60_000)
        .unwrap()
}

fn table() -> MemoryStore {
    let store = MemoryStore::default();
    let mut items = store.items.lock().unwrap();
    for (n, sensor) in SENSORS.iter().enumerate() {
        for m in 0..30 {
            items.insert(
                (sensor.to_string(), minute(m)),
                (n * 100 + usize::from(m)) as f64,
            );
        }
    }
    drop(items);
    store
}

/// A query: sensor and range as text, `from` no later than `to`.
#[derive(Clone, Debug, PartialEq)]
struct Query {
    sensor: String,
    from: Option<String>,
    to: Option<String>,
}

fn query() -> impl Strategy<Value = Query> {
    (
        0..SENSORS.len(),
        prop::option::of(0u8..35),
        prop::option::of(0u8..35),
    )
        .prop_map(|(sensor, from, to)| {
            let (from, to) = match (from, to) {
                (Some(f), Some(t)) if f > t => (Some(t), Some(f)),
                range => range,
            };
            Query {
                sensor: SENSORS[sensor].to_owned(),
                from: from.map(|m| minute(m).to_text()),
                to: to.map(|m| minute(m).to_text()),
            }
        })
}

impl Query {
    fn request(&self, limit: usize, next: Option<&str>) -> Value {
        let mut request = json!({"operation": "query", "sensorid": self.sensor, "limit": limit});
        if let Some(from) = &self.from {
            request["from"] = json!(from);
        }
        if let Some(to) = &self.to {
            request["to"] = json!(to);
        }
        if let Some(next) = next {
            request["next"] = json!(next);
        }
        request
    }

    /// A token's text in the API's format, naming this query and a position.
    fn token(&self, after: Timestamp) -> String {
        let mut token = json!({"s": self.sensor, "a": after.to_text()});
        if let Some(from) = &self.from {
            token["f"] = json!(from);
        }
        if let Some(to) = &self.to {
            token["t"] = json!(to);
        }
        URL_SAFE_NO_PAD.encode(token.to_string())
    }
}

/// The query and position a token names, read independently of the API.
fn names(token: &str) -> Option<(Query, Timestamp)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let Value::Object(fields) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    let time = |field: &str| -> Option<Option<String>> {
        match fields.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(Timestamp::parse(s).ok()?.to_text())),
            Some(_) => None,
        }
    };
    let sensor = fields.get("s")?.as_str()?.to_owned();
    let after = Timestamp::parse(fields.get("a")?.as_str()?).ok()?;
    Some((
        Query {
            sensor,
            from: time("f")?,
            to: time("t")?,
        },
        after,
    ))
}

fn ask(store: &MemoryStore, request: &Value) -> Result<QueryResponse, QueryError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(answer_query(store, request))
}

/// Only the query's sensor, inside its range, older than `after`, newest first.
fn confined(
    query: &Query,
    after: Option<Timestamp>,
    page: &QueryResponse,
) -> Result<(), TestCaseError> {
    let from = query.from.as_deref().map(|t| Timestamp::parse(t).unwrap());
    let to = query.to.as_deref().map(|t| Timestamp::parse(t).unwrap());
    for item in &page.items {
        prop_assert_eq!(&item.sensor_id, &query.sensor, "another sensor's reading");
        prop_assert!(from.is_none_or(|from| item.timestamp >= from));
        prop_assert!(to.is_none_or(|to| item.timestamp <= to));
        prop_assert!(after.is_none_or(|after| item.timestamp < after));
    }
    prop_assert!(
        page.items
            .windows(2)
            .all(|w| w[0].timestamp > w[1].timestamp)
    );
    Ok(())
}

/// Tokens a caller could forge: any text, any bytes in the token's encoding, a token for
/// another (or this) query, a genuine one with bytes changed.
#[derive(Clone, Debug)]
enum Forged {
    Text(String),
    Bytes(Vec<u8>),
    For(Query, u8),
    Mutated(Vec<(usize, u8)>),
}

fn forged() -> impl Strategy<Value = Forged> {
    prop_oneof![
        "\\PC{0,40}".prop_map(Forged::Text),
        prop::collection::vec(any::<u8>(), 0..60).prop_map(Forged::Bytes),
        (query(), 0u8..35).prop_map(|(q, m)| Forged::For(q, m)),
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..4).prop_map(Forged::Mutated),
    ]
}

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    #[test]
    fn a_forged_token_never_shows_another_query_s_readings(
        query in query(),
        limit in 1usize..12,
        forged in forged(),
    ) {
        let store = table();
        let first = ask(&store, &query.request(limit, None)).unwrap();
        confined(&query, None, &first)?;
        let token = match forged {
            Forged::Text(text) => text,
            Forged::Bytes(bytes) => URL_SAFE_NO_PAD.encode(bytes),
            Forged::For(other, m) => other.token(minute(m)),
            Forged::Mutated(edits) => {
                let Some(genuine) = &first.next_token else { return Ok(()) };
                let mut bytes = genuine.clone().into_bytes();
                for (at, byte) in edits {
                    let at = at % bytes.len();
                    bytes[at] = byte;
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        match (names(&token), ask(&store, &query.request(limit, Some(&token)))) {
            (Some((own, after)), Ok(page)) if own == query => confined(&query, Some(after), &page)?,
            (named, Ok(page)) => prop_assert!(false, "a token for {named:?} answered {query:?}: {page:?}"),
            (_, Err(QueryError::Invalid(InvalidQuery::BadToken | InvalidQuery::TokenMismatch))) => {}
            (_, Err(other)) => prop_assert!(false, "refused with {other:?}"),
        }
    }

    #[test]
    fn a_genuine_token_pages_its_own_query_only(
        query in query(),
        other in query(),
        limit in 1usize..12,
    ) {
        let store = table();
        let first = ask(&store, &query.request(limit, None)).unwrap();
        let Some(token) = &first.next_token else { return Ok(()) };
        let next = ask(&store, &query.request(limit, Some(token))).unwrap();
        confined(&query, first.items.last().map(|i| i.timestamp), &next)?;
        if other != query {
            prop_assert!(matches!(
                ask(&store, &other.request(limit, Some(token))),
                Err(QueryError::Invalid(InvalidQuery::TokenMismatch))
            ));
        }
    }
}
