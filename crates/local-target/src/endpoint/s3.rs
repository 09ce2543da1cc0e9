//! S3 over REST-XML, path-style (`/<bucket>/<key>`) or virtual-host style (`<bucket>.localhost`
//! and `/<key>`), for the owner's reads of the archive:
//! `ListBuckets`, `ListObjectsV2` (prefix, delimiter, max-keys, continuation-token,
//! start-after, encoding-type), `GetObject` (with one `Range`) and `HeadObject`, in S3's
//! shapes (Amazon S3 API Reference, each operation's page). A request comes here when it is
//! signed for `s3`; the keys are exactly the archive's.
//!
//! What this endpoint does not implement is S3's `NotImplemented`, naming it.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::auth::{Caller, Principal};
use super::errors::{ApiError, xml_escape};
use crate::owner_api::{OwnerApi, StoredObject};

const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// ListObjectsV2's page size when `max-keys` is not given, and its most.
const MAX_KEYS: usize = 1000;
/// What `encoding-type=url` leaves as it is: unreserved characters and the key's `/`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

fn not_implemented(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        format!(
            "The local target does not implement {what}: its archive bucket serves \
             ListBuckets, ListObjectsV2, GetObject and HeadObject to the operator key."
        ),
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidArgument", message)
}

/// The bucket a virtual-host-style request names in its host: `<bucket>.localhost`, the
/// loopback names ("localhost" and the names under it resolve to loopback, RFC 6761 6.3) in
/// the place of S3's `<bucket>.s3.<region>.amazonaws.com` ("Virtual hosting of buckets",
/// Amazon S3 User Guide). Path style otherwise.
pub(crate) fn virtual_host_bucket(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name.strip_suffix(".localhost")
        .filter(|bucket| !bucket.is_empty())
}

/// Answers a request already authenticated.
pub(crate) async fn handle(
    owner: Option<Arc<dyn OwnerApi>>,
    caller: Caller<'_>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let owner = owner.ok_or_else(|| not_implemented("S3"))?;
    let path = percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let (bucket, key) = match virtual_host_bucket(headers) {
        Some(bucket) => (bucket.to_owned(), path.trim_start_matches('/').to_owned()),
        None => match path.trim_start_matches('/').split_once('/') {
            None => (path.trim_start_matches('/').to_owned(), String::new()),
            Some((bucket, key)) => (bucket.to_owned(), key.to_owned()),
        },
    };
    let query: Vec<(String, String)> = uri.query().map(url_pairs).unwrap_or_default();
    if caller.principal == Principal::Device {
        let resource = if bucket.is_empty() {
            "*".to_owned()
        } else {
            format!(
                "arn:aws:s3:::{bucket}{}",
                if key.is_empty() {
                    String::new()
                } else {
                    format!("/{key}")
                }
            )
        };
        return Err(ApiError::forbidden(
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: s3 {method} on resource: {resource} \
                 because the device key may only put records on the stream and invoke the \
                 query function; use the operator key to read the archive.",
                caller.access_key_id
            ),
        ));
    }
    if *method != Method::GET && *method != Method::HEAD {
        return Err(not_implemented(format!("{method} {}", uri.path())));
    }
    if bucket.is_empty() {
        allow_query(&query, &[], "ListBuckets")?;
        return Ok(list_buckets(owner.as_ref(), caller));
    }
    if bucket != owner.bucket_name() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            format!("The specified bucket does not exist: {bucket}"),
        ));
    }
    if key.is_empty() {
        if *method == Method::HEAD {
            // HeadBucket: the bucket is there.
            return Ok(StatusCode::OK.into_response());
        }
        let list_type = query.iter().find(|(name, _)| name == "list-type");
        if list_type.map(|(_, value)| value.as_str()) != Some("2") {
            return Err(not_implemented(format!(
                "GET /{bucket}?{} (only ListObjectsV2, list-type=2, lists the bucket)",
                uri.query().unwrap_or_default()
            )));
        }
        return list_objects(owner, &bucket, &query).await;
    }
    allow_query(&query, &["x-id"], "GetObject")?;
    let owner_key = key.clone();
    let found = tokio::task::spawn_blocking(move || owner.get_object(&owner_key))
        .await
        .map_err(|err| internal(err.to_string()))?
        .map_err(|err| internal(err.to_string()))?;
    let Some((object, body)) = found else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            format!("The specified key does not exist: {key}"),
        ));
    };
    get_object(method, headers, &object, body)
}

fn internal(message: String) -> ApiError {
    tracing::error!(error = %message, "an archive read failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
}

/// The query string's pairs, decoded as S3 decodes them (`+` is a space).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn allow_query(
    query: &[(String, String)],
    known: &[&str],
    operation: &str,
) -> Result<(), ApiError> {
    match query
        .iter()
        .find(|(name, _)| !known.contains(&name.as_str()))
    {
        None => Ok(()),
        Some((name, _)) => Err(not_implemented(format!(
            "the parameter {name} of {operation}"
        ))),
    }
}

fn iso8601(time: SystemTime) -> String {
    DateTime::<Utc>::from(time)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn xml(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

fn list_buckets(owner: &dyn OwnerApi, caller: Caller<'_>) -> Response {
    let created = UNIX_EPOCH + std::time::Duration::from_secs_f64(owner.created().max(0.0));
    xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <ListAllMyBucketsResult xmlns=\"{NAMESPACE}\">\
         <Owner><ID>{account}</ID><DisplayName>{account}</DisplayName></Owner>\
         <Buckets><Bucket><Name>{name}</Name><CreationDate>{created}</CreationDate></Bucket></Buckets>\
         </ListAllMyBucketsResult>",
        account = caller.account_id,
        name = xml_escape(owner.bucket_name()),
        created = iso8601(created),
    ))
}

/// One entry of a listing: an object, or a common prefix standing for the keys under it.
#[derive(Debug, PartialEq, Eq)]
enum Entry<'a> {
    Object(&'a StoredObject),
    Prefix(String),
}

/// The entries of one ListObjectsV2 page: keys after `after` under `prefix`, those with the
/// delimiter after the prefix rolled up into their common prefix; and whether more follow.
fn page<'a>(
    objects: &'a [StoredObject],
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max_keys: usize,
) -> (Vec<Entry<'a>>, bool) {
    let mut entries: Vec<Entry<'a>> = Vec::new();
    for object in objects {
        if after.is_some_and(|after| object.key.as_str() <= after)
            || !object.key.starts_with(prefix)
        {
            continue;
        }
        let entry = match delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            object.key[prefix.len()..]
                .find(d)
                .map(|at| object.key[..prefix.len() + at + d.len()].to_owned())
        }) {
            Some(common) => {
                // A prefix the page already has, or one the previous page ended on.
                if matches!(entries.last(), Some(Entry::Prefix(last)) if *last == common)
                    || after.is_some_and(|after| after.starts_with(&common))
                {
                    continue;
                }
                Entry::Prefix(common)
            }
            None => Entry::Object(object),
        };
        if entries.len() == max_keys {
            return (entries, true);
        }
        entries.push(entry);
    }
    (entries, false)
}

async fn list_objects(
    owner: Arc<dyn OwnerApi>,
    bucket: &str,
    query: &[(String, String)],
) -> Result<Response, ApiError> {
    allow_query(
        query,
        &[
            "list-type",
            "prefix",
            "delimiter",
            "max-keys",
            "continuation-token",
            "start-after",
            "encoding-type",
            "fetch-owner",
        ],
        "ListObjectsV2",
    )?;
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    };
    let prefix = get("prefix").unwrap_or_default();
    let delimiter = get("delimiter");
    let url_encoded = match get("encoding-type") {
        None => false,
        Some("url") => true,
        Some(other) => {
            return Err(invalid(format!(
                "Invalid Encoding Method specified in Request: {other}"
            )));
        }
    };
    let max_keys = match get("max-keys") {
        None => MAX_KEYS,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| {
                invalid(format!(
                    "Provided max-keys not an integer or within integer range: {text}"
                ))
            })?
            .min(MAX_KEYS),
    };
    let token = get("continuation-token");
    let after = match token {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid("The continuation token provided is incorrect"))?,
        ),
        None => get("start-after").map(str::to_owned),
    };
    let objects = tokio::task::spawn_blocking(move || owner.list_objects())
        .await
        .map_err(|err| internal(err.to_string()))?
        .map_err(|err| internal(err.to_string()))?;
    let (entries, truncated) = page(&objects, prefix, delimiter, after.as_deref(), max_keys);
    let encode = |text: &str| {
        if url_encoded {
            utf8_percent_encode(text, KEY_ENCODE).to_string()
        } else {
            xml_escape(text)
        }
    };
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"{NAMESPACE}\">\
         <Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys>\
         <IsTruncated>{truncated}</IsTruncated>",
        xml_escape(bucket),
        encode(prefix),
        entries.len(),
    );
    if let Some(delimiter) = delimiter {
        let _ = write!(body, "<Delimiter>{}</Delimiter>", encode(delimiter));
    }
    if url_encoded {
        body.push_str("<EncodingType>url</EncodingType>");
    }
    if let Some(token) = token {
        let _ = write!(
            body,
            "<ContinuationToken>{}</ContinuationToken>",
            xml_escape(token)
        );
    }
    if let Some(start) = get("start-after") {
        let _ = write!(body, "<StartAfter>{}</StartAfter>", encode(start));
    }
    for entry in &entries {
        match entry {
            Entry::Object(object) => {
                let _ = write!(
                    body,
                    "<Contents><Key>{}</Key><LastModified>{}</LastModified><Size>{}</Size>\
                     <StorageClass>STANDARD</StorageClass></Contents>",
                    encode(&object.key),
                    iso8601(object.modified),
                    object.size
                );
            }
            Entry::Prefix(common) => {
                let _ = write!(
                    body,
                    "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                    encode(common)
                );
            }
        }
    }
    if truncated && let Some(last) = entries.last() {
        let last = match last {
            Entry::Object(object) => object.key.as_str(),
            Entry::Prefix(common) => common.as_str(),
        };
        let _ = write!(
            body,
            "<NextContinuationToken>{}</NextContinuationToken>",
            URL_SAFE_NO_PAD.encode(last)
        );
    }
    body.push_str("</ListBucketResult>");
    Ok(xml(body))
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` of `size`, as the inclusive range it names.
fn range(value: &str, size: u64) -> Result<(u64, u64), ApiError> {
    let unsatisfiable = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            format!("The requested range {value} is not satisfiable for an object of {size} bytes"),
        )
    };
    let spec = value
        .strip_prefix("bytes=")
        .ok_or_else(|| not_implemented(format!("the Range {value} (only bytes=)")))?;
    if spec.contains(',') {
        return Err(not_implemented(format!(
            "the Range {value} (one range only)"
        )));
    }
    let (start, end) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let number = |text: &str| text.trim().parse::<u64>().map_err(|_| unsatisfiable());
    let (first, last) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let length = number(suffix)?;
            if length == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(length), size - 1)
        }
        (start, "") => (number(start)?, size.saturating_sub(1)),
        (start, end) => (number(start)?, number(end)?.min(size.saturating_sub(1))),
    };
    if first >= size || first > last {
        return Err(unsatisfiable());
    }
    Ok((first, last))
}

fn get_object(
    method: &Method,
    headers: &HeaderMap,
    object: &StoredObject,
    body: Vec<u8>,
) -> Result<Response, ApiError> {
    // An object put in one part has its MD5 as ETag (Amazon S3 API Reference, Object).
    let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
    let size = body.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map(|value| range(value, size))
        .transpose()?;
    let (status, content) = match range {
        Some((first, last)) => (
            StatusCode::PARTIAL_CONTENT,
            body[first as usize..=last as usize].to_vec(),
        ),
        None => (StatusCode::OK, body),
    };
    let length = content.len();
    let mut response = if *method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(content))
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, "application/json".to_owned());
    set(header::CONTENT_LENGTH, length.to_string());
    set(header::ETAG, etag);
    set(header::ACCEPT_RANGES, "bytes".to_owned());
    set(
        header::LAST_MODIFIED,
        DateTime::<Utc>::from(object.modified)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    );
    if let Some((first, last)) = range {
        set(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{size}"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn objects(keys: &[&str]) -> Vec<StoredObject> {
        keys.iter()
            .map(|key| StoredObject {
                key: (*key).to_owned(),
                size: 1,
                modified: UNIX_EPOCH,
            })
            .collect()
    }

    fn names(entries: &[Entry<'_>]) -> Vec<String> {
        entries
            .iter()
            .map(|entry| match entry {
                Entry::Object(object) => object.key.clone(),
                Entry::Prefix(common) => format!("{common}*"),
            })
            .collect()
    }

    #[test]
    fn listings_roll_up_by_delimiter_and_page_after_what_they_showed() {
        let all = objects(&["a/1", "a/2", "b/1", "b/2", "b/3", "c"]);
        let (entries, more) = page(&all, "", Some("/"), None, 2);
        assert_eq!(
            (names(&entries), more),
            (vec!["a/*".to_owned(), "b/*".to_owned()], true)
        );
        let (entries, more) = page(&all, "", Some("/"), Some("b/"), 2);
        assert_eq!((names(&entries), more), (vec!["c".to_owned()], false));
        let (entries, more) = page(&all, "b/", Some("/"), Some("b/1"), 1);
        assert_eq!((names(&entries), more), (vec!["b/2".to_owned()], true));
        let (entries, _) = page(&all, "", None, None, 1000);
        assert_eq!(entries.len(), 6);
    }

    #[test]
    fn ranges_are_read_as_s3_reads_them() {
        assert_eq!(range("bytes=0-9", 100).unwrap(), (0, 9));
        assert_eq!(range("bytes=90-", 100).unwrap(), (90, 99));
        assert_eq!(range("bytes=-10", 100).unwrap(), (90, 99));
        assert_eq!(range("bytes=95-200", 100).unwrap(), (95, 99));
        assert_eq!(range("bytes=100-", 100).unwrap_err().code, "InvalidRange");
        assert_eq!(
            range("bytes=0-1,5-6", 100).unwrap_err().code,
            "NotImplemented"
        );
        assert_eq!(range("lines=1-2", 100).unwrap_err().code, "NotImplemented");
    }
}
