//! Reports tonic's "message length too large" failures with the status code the gRPC spec
//! gives them.
//!
//! tonic 0.14 answers a message over the decoding or encoding limit with `OUT_OF_RANGE`; the
//! gRPC spec (doc/statuscodes.md, "RESOURCE_EXHAUSTED ... a message larger than the configured
//! maximum") and every other gRPC implementation use `RESOURCE_EXHAUSTED`, which is what the
//! SDKs' users test for. This layer rewrites exactly those statuses, in the response headers
//! (trailers-only responses) and in the trailers of streamed responses; every other status
//! passes through untouched.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body as HttpBody, Frame};
use tonic::{Code, body::Body};
use tower::{Layer, Service};

use crate::shared::BoxFuture;

/// The start of tonic's messages for a message over the limit (tonic/src/codec/{decode,encode}.rs).
const TOO_LARGE: [&str; 2] = ["Error, decoded message length too large", "Error, encoded message length too large"];

/// Rewrites `grpc-status` in `headers` when it is tonic's too-large `OUT_OF_RANGE`.
fn fix(headers: &mut HeaderMap) {
    let out_of_range = headers.get("grpc-status").is_some_and(|s| s.as_bytes() == b"11");
    if !out_of_range {
        return;
    }
    let too_large = headers.get("grpc-message").and_then(|m| m.to_str().ok()).is_some_and(|message| {
        // grpc-message is percent-encoded (spaces as %20).
        let message = message.replace("%20", " ");
        TOO_LARGE.iter().any(|prefix| message.starts_with(prefix))
    });
    if too_large {
        headers.insert("grpc-status", HeaderValue::from(Code::ResourceExhausted as i32));
    }
}

/// The layer described in the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TooLargeLayer;

impl<S> Layer<S> for TooLargeLayer {
    type Service = TooLarge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TooLarge { inner }
    }
}

/// The service made by [`TooLargeLayer`].
#[derive(Debug, Clone)]
pub(crate) struct TooLarge<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for TooLarge<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = future.await?;
            let (mut parts, body) = response.into_parts();
            fix(&mut parts.headers);
            Ok(Response::from_parts(parts, Body::new(FixTrailers { inner: body })))
        })
    }
}

/// A response body whose trailers go through [`fix`].
struct FixTrailers {
    inner: Body,
}

impl HttpBody for FixTrailers {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx).map(|frame| {
            frame.map(|frame| {
                frame.map(|frame| match frame.into_trailers() {
                    Ok(mut trailers) => {
                        fix(&mut trailers);
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_too_large_out_of_range_is_rewritten() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static("11"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("Error,%20decoded%20message%20length%20too%20large:%20found%205%20bytes"),
        );
        fix(&mut headers);
        assert_eq!(headers["grpc-status"], "8");

        let mut other = HeaderMap::new();
        other.insert("grpc-status", HeaderValue::from_static("11"));
        other.insert("grpc-message", HeaderValue::from_static("offset%20out%20of%20range"));
        fix(&mut other);
        assert_eq!(other["grpc-status"], "11");
    }
}
