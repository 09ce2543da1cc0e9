//! Lambda `Invoke` (`POST /2015-03-31/functions/{name}/invocations`) of the query function,
//! RequestResponse only, with Lambda's answers: a function error is HTTP 200 with
//! `X-Amz-Function-Error: Unhandled`.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use serde::Deserialize;

use super::errors::{ApiError, json_response};
use crate::device_api::DeviceApi;

/// Lambda's synchronous payload limit.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// Invoke's query string: only `Qualifier` matters here.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InvokeQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
}

/// Where a function lives, for its ARN.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place<'a> {
    pub region: &'a str,
    pub account_id: &'a str,
}

/// Invokes the query function if `function` (a name, `name:qualifier`, a full or partial ARN)
/// names it.
pub(crate) async fn invoke<A: DeviceApi>(
    api: &A,
    place: Place<'_>,
    function: &str,
    query: InvokeQuery,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let target = resolve(api.query_function_name(), place, function, query.qualifier)?;

    let invocation_type = headers
        .get("x-amz-invocation-type")
        .map(|v| v.to_str().unwrap_or("?"))
        .unwrap_or("RequestResponse");
    if invocation_type != "RequestResponse" {
        return Err(ApiError::bad_request(
            "InvalidParameterValueException",
            format!(
                "InvocationType '{invocation_type}' is not supported by the local target: it \
                 runs {target} synchronously only (RequestResponse)."
            ),
        ));
    }
    if body.len() > MAX_PAYLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!(
                "{} byte payload is too large for the Invoke API (max {MAX_PAYLOAD} bytes)",
                body.len()
            ),
        ));
    }
    // Lambda hands an empty payload to the function as an empty object.
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body).map_err(|err| {
            ApiError::bad_request(
                "InvalidRequestContentException",
                format!("Could not parse request body into json: {err}"),
            )
        })?
    };

    let mut response = match api.invoke_query(payload).await {
        Ok(answer) => json_response(StatusCode::OK, "application/json", &answer),
        Err(error) => {
            let body = serde_json::json!({
                "errorType": error.error_type,
                "errorMessage": error.error_message,
            });
            let mut response = json_response(StatusCode::OK, "application/json", &body);
            response.headers_mut().insert(
                "X-Amz-Function-Error",
                HeaderValue::from_static("Unhandled"),
            );
            response
        }
    };
    response.headers_mut().insert(
        "X-Amz-Executed-Version",
        HeaderValue::from_static("$LATEST"),
    );
    Ok(response)
}

/// The function's ARN if `function` (with `qualifier`) is the query function's `$LATEST`.
fn resolve(
    name: &str,
    place: Place<'_>,
    function: &str,
    qualifier: Option<String>,
) -> Result<String, ApiError> {
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:{name}",
        place.region, place.account_id
    );
    let partial = format!("{}:function:{name}", place.account_id);
    // Longest forms first: an ARN, a partial ARN, `name:qualifier`, a name.
    let (named, derived) = [arn.as_str(), partial.as_str(), name]
        .into_iter()
        .find_map(|prefix| {
            let rest = function.strip_prefix(prefix)?;
            match rest.strip_prefix(':') {
                Some(qualifier) => Some((true, Some(qualifier.to_owned()))),
                None if rest.is_empty() => Some((true, None)),
                None => None,
            }
        })
        .unwrap_or((false, None));
    let not_found = |shown: &str| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {shown}"),
        )
    };
    if !named {
        let shown = if function.starts_with("arn:") {
            function.to_owned()
        } else {
            format!(
                "arn:aws:lambda:{}:{}:function:{function}",
                place.region, place.account_id
            )
        };
        return Err(not_found(&shown));
    }
    if let (Some(derived), Some(given)) = (&derived, &qualifier)
        && derived != given
    {
        return Err(ApiError::bad_request(
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified \
             qualifier.",
        ));
    }
    match derived.or(qualifier) {
        None => Ok(arn),
        Some(qualifier) if qualifier == "$LATEST" => Ok(arn),
        Some(qualifier) => Err(not_found(&format!("{arn}:{qualifier}"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PLACE: Place<'static> = Place {
        region: "us-east-1",
        account_id: "123456789012",
    };
    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-IoTAPI";

    #[test]
    fn every_way_of_naming_the_function_is_accepted() {
        for (function, qualifier) in [
            ("demo-IoTAPI", None),
            ("demo-IoTAPI:$LATEST", None),
            ("demo-IoTAPI", Some("$LATEST")),
            (ARN, None),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:demo-IoTAPI:$LATEST",
                None,
            ),
            ("123456789012:function:demo-IoTAPI", None),
        ] {
            let resolved = resolve("demo-IoTAPI", PLACE, function, qualifier.map(str::to_owned));
            assert_eq!(resolved.unwrap(), ARN, "{function}");
        }
    }

    #[test]
    fn other_functions_versions_and_places_are_not_found() {
        for (function, qualifier) in [
            ("demo-IoTAPI2", None),
            ("demo", None),
            ("demo-IoTAPI:1", None),
            ("demo-IoTAPI", Some("prod")),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:demo-IoTAPI",
                None,
            ),
            (
                "arn:aws:lambda:us-east-1:210987654321:function:demo-IoTAPI",
                None,
            ),
        ] {
            let error =
                resolve("demo-IoTAPI", PLACE, function, qualifier.map(str::to_owned)).unwrap_err();
            assert_eq!(error.status, StatusCode::NOT_FOUND, "{function}");
            assert_eq!(error.code, "ResourceNotFoundException");
        }
    }

    #[test]
    fn conflicting_qualifiers_are_refused() {
        let error = resolve(
            "demo-IoTAPI",
            PLACE,
            "demo-IoTAPI:$LATEST",
            Some("1".into()),
        )
        .unwrap_err();
        assert_eq!(error.code, "InvalidParameterValueException");
    }
}
