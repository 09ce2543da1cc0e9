//! The text form of a request that the endpoint targets read, so that seeds are readable and
//! libFuzzer's byte mutations land on methods, paths, header names and bodies:
//!
//! ```text
//! POST /?a=b
//! content-type: application/x-amz-json-1.1
//! x-fuzz-sign: kinesis
//!
//! {"StreamName": "..."}
//! ```
//!
//! Lines end in `\n` (a `\r` before it is dropped). Headers named `x-fuzz-*` are instructions
//! to the target, not part of the request. What the HTTP server would refuse before the router
//! sees it (a bad method, path or header) is `None`: hyper's own parser is not under test.

use axum::http::{HeaderName, HeaderValue, Method, Uri};

/// A request as written, with the target's instructions taken out.
#[derive(Clone, Debug)]
pub struct TextRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Vec<u8>,
    /// `x-fuzz-sign: kinesis|lambda`: sign the request with the device key for that service.
    pub sign_for: Option<String>,
    /// `x-fuzz-peer: remote`: the request comes from another machine, not loopback.
    pub remote_peer: bool,
}

/// Reads the text form; `None` for what never reaches the router.
pub fn parse(data: &[u8]) -> Option<TextRequest> {
    let (head, body) = match find(data, b"\n\n").or_else(|| find(data, b"\r\n\r\n")) {
        Some(at) => {
            let gap = if data[at] == b'\r' { 4 } else { 2 };
            (&data[..at], &data[at + gap..])
        }
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let (method, target) = lines.next()?.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    if !target.starts_with('/') {
        return None;
    }
    let uri: Uri = target.parse().ok()?;
    let mut request = TextRequest {
        method,
        uri,
        headers: Vec::new(),
        body: body.to_vec(),
        sign_for: None,
        remote_peer: false,
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
        let value = value.trim();
        match name.as_str() {
            "x-fuzz-sign" => request.sign_for = Some(value.to_owned()),
            "x-fuzz-peer" => request.remote_peer = value == "remote",
            _ => request
                .headers
                .push((name, HeaderValue::from_str(value).ok()?)),
        }
    }
    Some(request)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
