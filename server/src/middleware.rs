//! The tower layer that runs around every call, unary and streaming alike.
//!
//! In order, for each request it:
//! 1. counts the request (for `debug.Debug/Stats`) and records the caller's `authorization`
//!    and `micro-namespace` metadata as a [`CallContext`] request extension;
//! 2. rejects an `authorization` value that does not start with `Bearer ` with Micro error 401
//!    `micro-server` / `invalid authorization header. expected Bearer schema` (spec B1 step 1),
//!    then identifies the caller with [`AuthState::check_call`] and records it as a
//!    [`Caller`] request extension; with `--auth` that check also rejects an invalid or expired
//!    token and every call the namespace's rules forbid (401 / 403, see [`crate::auth`]);
//!    without `--auth` any bearer token is accepted;
//! 3. with test hooks on, waits `x-micro-test-delay-ms` milliseconds;
//! 4. bounds steps 2–3 plus the handler (up to the response headers) by the call's deadline
//!    (`grpc-timeout`) and answers `DEADLINE_EXCEEDED` (no Micro error) when it passes; the
//!    layer gives up [`DEADLINE_MARGIN`] early so that a client always sees
//!    `DEADLINE_EXCEEDED` rather than tonic's own `CANCELLED` "Timeout expired";
//! 5. with test hooks on and `x-micro-test-echo` present, copies `authorization`,
//!    `micro-namespace` and `user-agent` (those received) into the response headers as
//!    `x-micro-echo-authorization`, `x-micro-echo-namespace` and `x-micro-echo-user-agent`.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use crate::{
    auth::{AuthState, Caller},
    error::MicroError,
    shared::BoxFuture,
    shared::unix_now,
};

/// How much earlier than the call's deadline the server answers `DEADLINE_EXCEEDED`.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_millis(5);

/// Metadata key of the test hook that delays a call.
const DELAY_HOOK: &str = "x-micro-test-delay-ms";
/// Metadata key of the test hook that echoes request metadata.
const ECHO_HOOK: &str = "x-micro-test-echo";
/// The request headers echoed by the echo hook, with the response header each goes to.
const ECHOED: [(&str, &str); 3] = [
    ("authorization", "x-micro-echo-authorization"),
    ("micro-namespace", "x-micro-echo-namespace"),
    ("user-agent", "x-micro-echo-user-agent"),
];

/// Process-wide counters and facts, shared by the layer and the debug service.
#[derive(Debug)]
pub(crate) struct Stats {
    /// When the server was created, unix seconds.
    pub(crate) started: u64,
    /// When the server was created, for the uptime.
    pub(crate) started_at: std::time::Instant,
    /// Calls received.
    pub(crate) requests: AtomicU64,
    /// Calls answered with a non-OK status in the response headers (trailers-only responses,
    /// which is how every handler error and every layer rejection is sent).
    pub(crate) errors: AtomicU64,
}

impl Stats {
    /// Fresh counters, started now.
    pub(crate) fn new() -> Self {
        Self {
            started: unix_now(),
            started_at: std::time::Instant::now(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }
}

/// What a handler may want to know about its caller, inserted as a request extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(dead_code)] // read by handlers once tokens are enforced
pub(crate) struct CallContext {
    /// The bearer token (the `authorization` value without `Bearer `), if one was sent.
    pub(crate) token: Option<String>,
    /// The `micro-namespace` value, if one was sent.
    pub(crate) namespace: Option<String>,
}

/// The layer described in the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct MicroLayer {
    test_hooks: bool,
    stats: Arc<Stats>,
    auth: Arc<AuthState>,
}

impl MicroLayer {
    /// A layer that honours the test hooks when `test_hooks` is set, counts into `stats` and
    /// checks callers with `auth`.
    pub(crate) fn new(test_hooks: bool, stats: Arc<Stats>, auth: Arc<AuthState>) -> Self {
        Self { test_hooks, stats, auth }
    }
}

impl<S> Layer<S> for MicroLayer {
    type Service = MicroService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MicroService { inner, test_hooks: self.test_hooks, stats: self.stats.clone(), auth: self.auth.clone() }
    }
}

/// The service made by [`MicroLayer`].
#[derive(Debug, Clone)]
pub(crate) struct MicroService<S> {
    inner: S,
    test_hooks: bool,
    stats: Arc<Stats>,
    auth: Arc<AuthState>,
}

impl<S> Service<Request<Body>> for MicroService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one for this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let stats = self.stats.clone();
        stats.requests.fetch_add(1, Ordering::Relaxed);

        let headers = req.headers();
        let authorization = header_str(headers, "authorization").map(str::to_owned);
        let context = CallContext {
            token: authorization.as_deref().and_then(|value| value.strip_prefix("Bearer ")).map(str::to_owned),
            namespace: header_str(headers, "micro-namespace").map(str::to_owned),
        };
        let bad_authorization = authorization.as_deref().is_some_and(|value| !value.starts_with("Bearer "));
        let checked = if bad_authorization {
            Ok(Caller::default())
        } else {
            self.auth.check_call(req.uri().path(), context.token.as_deref(), context.namespace.as_deref())
        };
        // The instant is fixed here, synchronously, so it is always earlier than the one tonic's
        // own grpc-timeout layer (outside this one) fixes after calling us: whatever the
        // scheduling, this layer answers DEADLINE_EXCEEDED before tonic answers CANCELLED.
        let deadline_at = header_str(headers, "grpc-timeout")
            .and_then(parse_grpc_timeout)
            .map(|deadline| tokio::time::Instant::now() + deadline.saturating_sub(DEADLINE_MARGIN));
        let delay = if self.test_hooks {
            header_str(headers, DELAY_HOOK).and_then(|ms| ms.trim().parse::<u64>().ok()).map(Duration::from_millis)
        } else {
            None
        };
        let echo: Vec<(HeaderName, HeaderValue)> = if self.test_hooks && headers.contains_key(ECHO_HOOK) {
            ECHOED
                .iter()
                .filter_map(|(from, to)| headers.get(*from).map(|value| (HeaderName::from_static(to), value.clone())))
                .collect()
        } else {
            Vec::new()
        };
        req.extensions_mut().insert(context);
        let denied = match checked {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
                None
            }
            Err(err) => Some(err),
        };

        Box::pin(async move {
            let work = async move {
                if bad_authorization {
                    let err = MicroError::unauthorized(
                        "micro-server",
                        "invalid authorization header. expected Bearer schema",
                    );
                    return Ok(Status::from(err).into_http());
                }
                if let Some(err) = denied {
                    return Ok(Status::from(err).into_http());
                }
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                inner.call(req).await
            };
            let result = match deadline_at {
                Some(at) => match tokio::time::timeout_at(at, work).await {
                    Ok(result) => result,
                    Err(_) => Ok(Status::deadline_exceeded("deadline exceeded").into_http()),
                },
                None => work.await,
            };
            let mut response = result?;
            let failed = response.headers().get("grpc-status").is_some_and(|status| status.as_bytes() != b"0");
            if failed {
                stats.errors.fetch_add(1, Ordering::Relaxed);
            }
            for (name, value) in echo {
                response.headers_mut().insert(name, value);
            }
            Ok(response)
        })
    }
}

/// A header's value as text, if it is present and visible ASCII.
fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Parses a `grpc-timeout` value: at most 8 digits followed by a unit, one of `H` (hours),
/// `M` (minutes), `S` (seconds), `m` (milliseconds), `u` (microseconds), `n` (nanoseconds).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 || !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse_grpc_timeout("5n"), Some(Duration::from_nanos(5)));
        assert_eq!(parse_grpc_timeout("100"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("123456789m"), None);
        assert_eq!(parse_grpc_timeout("-1m"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
    }
}
