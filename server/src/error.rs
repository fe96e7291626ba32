//! Micro errors and their gRPC encoding.
//!
//! Micro (v3) services fail with an `errors.Error` — `{id, code, detail, status}` where `code`
//! is an HTTP status code and `status` its HTTP status text. A Go Micro service called
//! directly over gRPC encodes such an error as follows, and so does this server:
//!
//! - the gRPC status code is mapped from the HTTP code ([`MicroError::grpc_code`]): 400 →
//!   `INVALID_ARGUMENT`, 401 → `UNAUTHENTICATED`, 403 → `PERMISSION_DENIED`, 404 → `NOT_FOUND`,
//!   408 → `DEADLINE_EXCEEDED`, 409 → `ALREADY_EXISTS`, 412 → `FAILED_PRECONDITION`, 500 →
//!   `INTERNAL`, 501 → `UNIMPLEMENTED`, 503 → `UNAVAILABLE`, any other code → `UNKNOWN`;
//! - `grpc-message` is the error's JSON text `{"id":…,"code":…,"detail":…,"status":…}`
//!   ([`MicroError::to_json`]), with the keys in that order as Go's `json.Marshal` writes them;
//! - `grpc-status-details-bin` is a `google.rpc.Status {code, message, details}` whose only
//!   detail is a `google.protobuf.Any` with type URL `type.googleapis.com/errors.Error` and the
//!   protobuf encoding of `errors.Error` as its value.
//!
//! Clients that go through Micro's proxy only get the JSON text (with status `INTERNAL`), so
//! [`MicroError::from_status`] reads the details first and falls back to the JSON message.

use std::fmt;

use prost::Message as _;
use tonic::{Code, Status};

use crate::pb;

/// The type URL of `errors.Error` inside a `google.protobuf.Any`.
pub const ERROR_TYPE_URL: &str = "type.googleapis.com/errors.Error";

/// `google.rpc.Status`, the message carried (encoded) in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    code: i32,
    /// The status message (here the Micro error's JSON text).
    #[prost(string, tag = "2")]
    message: String,
    /// Typed details; a Micro error puts exactly one `errors.Error` here.
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// A Micro error: the `errors.Error` message of Micro's `proto/errors/errors.proto`.
///
/// Build one with a constructor named after the HTTP status it carries (for example
/// [`MicroError::not_found`]) and turn it into a [`tonic::Status`] with `Status::from` /
/// `into()`; see the [module documentation](self) for the encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicroError {
    /// Who raised the error: usually `service.Handler.Method` (e.g. `store.Store.Read`) or a
    /// component name (e.g. `micro-server`).
    pub id: String,
    /// The HTTP status code, e.g. `404`.
    pub code: i32,
    /// Human readable detail, e.g. `not found`.
    pub detail: String,
    /// The HTTP status text of `code`, e.g. `Not Found` (empty for codes without a text).
    pub status: String,
}

impl MicroError {
    /// A Micro error with the given HTTP `code`; `status` is set to the code's HTTP status text.
    pub fn new(id: impl Into<String>, code: i32, detail: impl Into<String>) -> Self {
        Self { id: id.into(), code, detail: detail.into(), status: status_text(code).to_owned() }
    }

    /// 400 Bad Request.
    pub fn bad_request(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 400, detail)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 401, detail)
    }

    /// 403 Forbidden.
    pub fn forbidden(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 403, detail)
    }

    /// 404 Not Found.
    pub fn not_found(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 404, detail)
    }

    /// 405 Method Not Allowed.
    pub fn method_not_allowed(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 405, detail)
    }

    /// 408 Request Timeout.
    pub fn timeout(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 408, detail)
    }

    /// 409 Conflict.
    pub fn conflict(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 409, detail)
    }

    /// 500 Internal Server Error.
    pub fn internal_server_error(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 500, detail)
    }

    /// 501 Not Implemented.
    pub fn not_implemented(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 501, detail)
    }

    /// 502 Bad Gateway.
    pub fn bad_gateway(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 502, detail)
    }

    /// 503 Service Unavailable.
    pub fn service_unavailable(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 503, detail)
    }

    /// 504 Gateway Timeout.
    pub fn gateway_timeout(id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(id, 504, detail)
    }

    /// The gRPC status code that Micro's Go gRPC server uses for this error's HTTP code.
    pub fn grpc_code(&self) -> Code {
        grpc_code(self.code)
    }

    /// The JSON text of the error, `{"id":…,"code":…,"detail":…,"status":…}` (compact, keys in
    /// this order), as Go's `errors.Error.Error()` returns it.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"id\":{},\"code\":{},\"detail\":{},\"status\":{}}}",
            json_string(&self.id),
            self.code,
            json_string(&self.detail),
            json_string(&self.status),
        )
    }

    /// The protobuf message `errors.Error` for this error.
    pub fn to_proto(&self) -> pb::errors::Error {
        pb::errors::Error {
            id: self.id.clone(),
            code: self.code,
            detail: self.detail.clone(),
            status: self.status.clone(),
        }
    }

    /// Encodes the error as a gRPC status: see the [module documentation](self).
    pub fn to_status(&self) -> Status {
        let code = self.grpc_code();
        let message = self.to_json();
        let details = RpcStatus {
            code: code as i32,
            message: message.clone(),
            details: vec![prost_types::Any {
                type_url: ERROR_TYPE_URL.to_owned(),
                value: self.to_proto().encode_to_vec(),
            }],
        };
        Status::with_details(code, message, details.encode_to_vec().into())
    }

    /// Recovers a Micro error from a gRPC status.
    ///
    /// Reads the `errors.Error` detail of `grpc-status-details-bin` when there is one, and
    /// otherwise parses the status message as the error's JSON text (as Micro's Go client does,
    /// accepting it only when its `code` is positive). Returns `None` when neither holds a
    /// Micro error, e.g. for a plain `DEADLINE_EXCEEDED`.
    pub fn from_status(status: &Status) -> Option<Self> {
        if !status.details().is_empty() {
            if let Ok(rpc) = RpcStatus::decode(status.details()) {
                let detail = rpc.details.iter().find(|any| any.type_url == ERROR_TYPE_URL);
                if let Some(any) = detail {
                    if let Ok(err) = pb::errors::Error::decode(any.value.as_slice()) {
                        return Some(Self { id: err.id, code: err.code, detail: err.detail, status: err.status });
                    }
                }
            }
        }
        Self::from_json(status.message())
    }

    /// Parses the JSON text of a Micro error; `None` unless it is a JSON object with a
    /// positive `code`. Missing string fields are read as empty.
    pub fn from_json(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let object = value.as_object()?;
        let code = i32::try_from(object.get("code")?.as_i64()?).ok()?;
        if code <= 0 {
            return None;
        }
        let field = |name: &str| object.get(name).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        Some(Self { id: field("id"), code, detail: field("detail"), status: field("status") })
    }
}

impl fmt::Display for MicroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl std::error::Error for MicroError {}

impl From<MicroError> for Status {
    fn from(err: MicroError) -> Self {
        err.to_status()
    }
}

/// The gRPC code for an HTTP status code, as Micro's `errMapping` (service/server/grpc/error.go).
pub fn grpc_code(http_code: i32) -> Code {
    match http_code {
        200 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        408 => Code::DeadlineExceeded,
        409 => Code::AlreadyExists,
        412 => Code::FailedPrecondition,
        500 => Code::Internal,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

/// The HTTP status text of a code, as Go's `http.StatusText` (empty for unknown codes).
pub fn status_text(code: i32) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// A JSON string literal for `s`.
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_http_codes_to_grpc_codes_like_micro() {
        let table = [
            (400, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (408, Code::DeadlineExceeded),
            (409, Code::AlreadyExists),
            (412, Code::FailedPrecondition),
            (500, Code::Internal),
            (501, Code::Unimplemented),
            (503, Code::Unavailable),
            (405, Code::Unknown),
            (502, Code::Unknown),
            (504, Code::Unknown),
            (0, Code::Unknown),
            (999, Code::Unknown),
        ];
        for (http, grpc) in table {
            assert_eq!(grpc_code(http), grpc, "http {http}");
        }
    }

    #[test]
    fn constructors_set_code_and_status_text() {
        let cases = [
            (MicroError::bad_request("i", "d"), 400, "Bad Request"),
            (MicroError::unauthorized("i", "d"), 401, "Unauthorized"),
            (MicroError::forbidden("i", "d"), 403, "Forbidden"),
            (MicroError::not_found("i", "d"), 404, "Not Found"),
            (MicroError::method_not_allowed("i", "d"), 405, "Method Not Allowed"),
            (MicroError::timeout("i", "d"), 408, "Request Timeout"),
            (MicroError::conflict("i", "d"), 409, "Conflict"),
            (MicroError::internal_server_error("i", "d"), 500, "Internal Server Error"),
            (MicroError::not_implemented("i", "d"), 501, "Not Implemented"),
            (MicroError::bad_gateway("i", "d"), 502, "Bad Gateway"),
            (MicroError::service_unavailable("i", "d"), 503, "Service Unavailable"),
            (MicroError::gateway_timeout("i", "d"), 504, "Gateway Timeout"),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code, code);
            assert_eq!(err.status, status);
            assert_eq!(err.id, "i");
            assert_eq!(err.detail, "d");
        }
        assert_eq!(MicroError::new("i", 299, "d").status, "");
    }

    #[test]
    fn json_text_matches_go() {
        let err = MicroError::not_found("store.Store.Read", "not found");
        assert_eq!(err.to_json(), r#"{"id":"store.Store.Read","code":404,"detail":"not found","status":"Not Found"}"#);
        assert_eq!(err.to_string(), err.to_json());
        let quoted = MicroError::bad_request("a\"b", "line\nbreak");
        assert_eq!(quoted.to_json(), r#"{"id":"a\"b","code":400,"detail":"line\nbreak","status":"Bad Request"}"#);
        assert_eq!(MicroError::from_json(&quoted.to_json()), Some(quoted));
    }

    #[test]
    fn status_carries_json_message_and_errors_error_detail() {
        let err = MicroError::not_found("store.Store.Read", "not found");
        let status = Status::from(err.clone());
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), err.to_json());

        let rpc = RpcStatus::decode(status.details()).expect("google.rpc.Status");
        assert_eq!(rpc.code, Code::NotFound as i32);
        assert_eq!(rpc.message, err.to_json());
        assert_eq!(rpc.details.len(), 1);
        assert_eq!(rpc.details[0].type_url, "type.googleapis.com/errors.Error");
        let decoded = pb::errors::Error::decode(rpc.details[0].value.as_slice()).expect("errors.Error");
        assert_eq!(
            decoded,
            pb::errors::Error {
                id: "store.Store.Read".into(),
                code: 404,
                detail: "not found".into(),
                status: "Not Found".into(),
            }
        );
        assert_eq!(MicroError::from_status(&status), Some(err));
    }

    #[test]
    fn status_survives_the_http_round_trip() {
        let err = MicroError::unauthorized("micro-server", "bad header");
        let mut headers = http::HeaderMap::new();
        err.to_status().add_header(&mut headers).expect("headers");
        assert_eq!(headers.get("grpc-status").map(|v| v.as_bytes()), Some(&b"16"[..]));
        let back = Status::from_header_map(&headers).expect("status");
        assert_eq!(back.code(), Code::Unauthenticated);
        assert_eq!(MicroError::from_status(&back), Some(err));
    }

    #[test]
    fn falls_back_to_the_json_message() {
        let err = MicroError::forbidden("proxy", "no access");
        let status = Status::internal(err.to_json());
        assert_eq!(MicroError::from_status(&status), Some(err));
        assert_eq!(MicroError::from_status(&Status::deadline_exceeded("deadline exceeded")), None);
        assert_eq!(MicroError::from_json(r#"{"id":"x","code":0}"#), None);
        assert_eq!(MicroError::from_json("[]"), None);
    }
}
