//! The query API's paging token, which a caller can forge, against a table holding readings of
//! three sensors at the same instants.
//!
//! - A token is refused (`BadToken` or `TokenMismatch`, nothing else, since the rest of each
//!   request is valid) unless it names the request's own sensor and range: such a token is one
//!   the caller could have been given, so answering it shows nothing the caller may not see.
//! - Whatever the token, an answer holds only the asked sensor's readings, inside the asked
//!   range, older than the token's position, newest first.
//! - A genuine token, taken from a first page, is answered with the next page for its own
//!   query and refused for another sensor or range.
#![no_main]

use std::collections::BTreeMap;
use std::sync::Mutex;

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use telemetry::handlers::{QueryError, answer_query};
use telemetry::ports::{PortError, ReadingStore};
use telemetry::query::{InvalidQuery, StoreQuery};
use telemetry::{Reading, Timestamp};

const SENSORS: [&str; 3] = ["sensor-a", "sensor-b", "sensor-a2"];
/// Readings per sensor, one a minute from [`START`].
const READINGS: i64 = 40;
const START: &str = "2026-11-27T12:00:00.000Z";

#[derive(Arbitrary, Debug)]
struct Input {
    sensor: u8,
    /// Minutes after [`START`], if the request names a start.
    from: Option<u8>,
    /// Minutes after [`START`], if the request names an end.
    to: Option<u8>,
    limit: u8,
    token: Token,
}

#[derive(Arbitrary, Debug)]
enum Token {
    /// Any text at all.
    Forged(String),
    /// Any bytes, base64 encoded as the API encodes its tokens.
    Encoded(Vec<u8>),
    /// A token's JSON with chosen fields, for another query or this one.
    Crafted {
        sensor: u8,
        from: Option<u8>,
        to: Option<u8>,
        after: u8,
    },
    /// A genuine token of this query with bytes of its text changed.
    Mutated(Vec<(u8, u8)>),
}

struct Table(Mutex<BTreeMap<(String, Timestamp), f64>>);

impl ReadingStore for Table {
    async fn put_readings(
        &self,
        _: &[Reading],
        _: std::time::Instant,
    ) -> Result<(), telemetry::ports::PartialWrite> {
        Ok(())
    }

    async fn newest_readings(&self, query: &StoreQuery) -> Result<Vec<Reading>, PortError> {
        let items = self.0.lock().unwrap();
        let range =
            (query.sensor_id.clone(), query.oldest)..=(query.sensor_id.clone(), query.newest);
        Ok(items
            .range(range)
            .rev()
            .take(query.limit)
            .map(|((id, ts), v)| Reading {
                sensor_id: id.clone(),
                timestamp: *ts,
                value: *v,
            })
            .collect())
    }
}

fn table() -> &'static Table {
    static TABLE: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut items = BTreeMap::new();
        for (n, sensor) in SENSORS.iter().enumerate() {
            for minute in 0..READINGS {
                items.insert(
                    (sensor.to_string(), minute_ts(minute)),
                    (n as i64 * 1000 + minute) as f64,
                );
            }
        }
        Table(Mutex::new(items))
    })
}

fn minute_ts(minute: i64) -> Timestamp {
    Timestamp::parse(START)
        .unwrap()
        .offset_millis(minute * 60_000)
        .unwrap()
}

/// A request's query: the sensor and the range, as text.
#[derive(Clone, Debug, PartialEq)]
struct Query {
    sensor: String,
    from: Option<String>,
    to: Option<String>,
}

impl Query {
    fn new(sensor: u8, from: Option<u8>, to: Option<u8>) -> Self {
        let at = |m: u8| minute_ts(i64::from(m % 50)).to_text();
        let (from, to) = match (from.map(at), to.map(at)) {
            (Some(f), Some(t)) if f > t => (Some(t), Some(f)),
            range => range,
        };
        Self {
            sensor: SENSORS[usize::from(sensor) % SENSORS.len()].to_owned(),
            from,
            to,
        }
    }

    fn request(&self, limit: usize, next: Option<&str>) -> Value {
        let mut request = json!({"operation": "query", "sensorid": self.sensor, "limit": limit});
        for (field, value) in [("from", &self.from), ("to", &self.to)] {
            if let Some(value) = value {
                request[field] = json!(value);
            }
        }
        if let Some(next) = next {
            request["next"] = json!(next);
        }
        request
    }
}

/// The query and position a token text names, read independently of the API's own reading:
/// `None` if it is not a token the API's format can hold.
fn names(token: &str) -> Option<(Query, Timestamp)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let Value::Object(fields) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    let text = |field: &str| -> Option<Option<String>> {
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
            from: text("f")?,
            to: text("t")?,
        },
        after,
    ))
}

fn ask(request: &Value) -> Result<telemetry::query::QueryResponse, QueryError> {
    iot_fuzz::runtime().block_on(answer_query(table(), request))
}

fuzz_target!(|input: Input| {
    let query = Query::new(input.sensor, input.from, input.to);
    let limit = usize::from(input.limit % 25) + 1;

    let first = ask(&query.request(limit, None)).unwrap();
    check_page(&query, None, &first);

    let token = match input.token {
        Token::Forged(text) => text,
        Token::Encoded(bytes) => URL_SAFE_NO_PAD.encode(bytes),
        Token::Crafted {
            sensor,
            from,
            to,
            after,
        } => {
            let other = Query::new(sensor, from, to);
            let mut token =
                json!({"s": other.sensor, "a": minute_ts(i64::from(after % 50)).to_text()});
            if let Some(from) = other.from {
                token["f"] = json!(from);
            }
            if let Some(to) = other.to {
                token["t"] = json!(to);
            }
            URL_SAFE_NO_PAD.encode(token.to_string())
        }
        Token::Mutated(edits) => {
            let Some(genuine) = &first.next_token else {
                return;
            };
            let mut bytes = genuine.clone().into_bytes();
            for (at, byte) in edits {
                let at = usize::from(at) % bytes.len();
                bytes[at] = byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };

    let named = names(&token);
    let answer = ask(&query.request(limit, Some(&token)));
    match (&named, answer) {
        (Some((own, after)), Ok(page)) if *own == query => check_page(&query, Some(*after), &page),
        (_, Ok(page)) => panic!("a token for {named:?} was answered for {query:?}: {page:?}"),
        // A token naming this query may still be refused: serde refuses a repeated field
        // that `Value` reads as the last one.
        (_, Err(QueryError::Invalid(InvalidQuery::BadToken | InvalidQuery::TokenMismatch))) => {}
        (_, Err(other)) => {
            panic!("a token was refused with {other:?}, not BadToken or TokenMismatch")
        }
    }

    // The genuine token of the first page: the next page for its own query, refused elsewhere.
    if let Some(genuine) = &first.next_token {
        let next = ask(&query.request(limit, Some(genuine))).unwrap();
        let last = first.items.last().unwrap().timestamp;
        check_page(&query, Some(last), &next);
        let other = Query {
            sensor: SENSORS
                [(SENSORS.iter().position(|s| *s == query.sensor).unwrap() + 1) % SENSORS.len()]
            .to_owned(),
            ..query.clone()
        };
        assert!(matches!(
            ask(&other.request(limit, Some(genuine))),
            Err(QueryError::Invalid(InvalidQuery::TokenMismatch))
        ));
    }
});

/// Only the query's sensor, inside its range, older than `after`, newest first.
fn check_page(query: &Query, after: Option<Timestamp>, page: &telemetry::query::QueryResponse) {
    assert_eq!(page.count, page.items.len());
    let from = query.from.as_deref().map(|t| Timestamp::parse(t).unwrap());
    let to = query.to.as_deref().map(|t| Timestamp::parse(t).unwrap());
    for item in &page.items {
        assert_eq!(item.sensor_id, query.sensor, "another sensor's reading");
        assert!(
            from.is_none_or(|from| item.timestamp >= from),
            "before the range"
        );
        assert!(to.is_none_or(|to| item.timestamp <= to), "after the range");
        assert!(
            after.is_none_or(|after| item.timestamp < after),
            "not older than the token"
        );
    }
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].timestamp > w[1].timestamp),
        "not newest first"
    );
}
