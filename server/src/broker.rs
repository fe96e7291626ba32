//! `broker.Broker`: topic-based publish/subscribe in memory, with Micro's semantics.
//!
//! Topics are scoped by the caller's namespace (Micro scopes them by the account's issuer, as
//! `<issuer>.<topic>`): a subscriber only sees messages published in its own namespace. The
//! namespace is the call's (`micro-namespace` metadata, else the account's issuer, else
//! `micro`). Micro requires an account for both rpcs; this server requires none (with `--auth`
//! the server-wide rules apply). Behaviour, as Micro v3's
//! broker handler over its memory broker, except where noted:
//!
//! - `Publish` delivers the message to every open subscriber of the topic, in publish order per
//!   subscriber, before it returns (so a `Subscribe` that was open when `Publish` was called sees
//!   the message). Without a message it fails with 400 `broker.Broker.Publish` / `Missing
//!   message`. An empty topic is 400 `Missing topic` (Micro publishes it to a topic nobody can
//!   subscribe to). The message's header is delivered as sent: Micro also copies every request
//!   metadata entry (including `Authorization`) into the header; this server does not.
//! - `Subscribe` streams every message published to the topic after the call was accepted, until
//!   the client cancels; an empty topic is 400 `broker.Broker.Subscribe` / `Missing topic`.
//!   Subscribers with an empty `queue` each get every message (fan-out). Subscribers sharing a
//!   non-empty `queue` name split the messages: each message goes to one of them, in turn
//!   (round-robin in subscription order). Micro v3.19's handler ignores `queue`; its proto
//!   documents these semantics.
//! - A subscriber that does not read keeps at most [`BUFFER`] undelivered messages; further
//!   messages are dropped for that subscriber only (Micro's memory broker blocks the publisher).
//! - With the server's test hooks, `Publish` honours `x-micro-test-await-subscribers: N`: it first
//!   waits (at most 10 s, and never past the call's deadline) until N subscribers of the topic
//!   are open, see [`Presence`].
//! - When the server shuts down, open subscriptions end with 503 `UNAVAILABLE`; when the client
//!   goes away the subscription is removed at once.
//!
//! This module also holds the subscriber counting ([`Presence`]) behind the
//! `x-micro-test-await-subscribers` hook, shared with `events` and `registry`.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, metadata::MetadataMap};

use crate::{
    auth::Caller,
    error::MicroError,
    pb::broker::{Empty, Message, PublishRequest, SubscribeRequest, broker_server::Broker},
    shared::{DEFAULT_NAMESPACE, Shared},
};

/// Undelivered messages a subscriber may have waiting before new ones are dropped for it.
pub(crate) const BUFFER: usize = 1024;

/// The metadata key of the await-subscribers test hook (tests/conformance/README.md).
pub(crate) const AWAIT_HOOK: &str = "x-micro-test-await-subscribers";

/// The metadata key of its counterpart, which waits until at most N streams are open (for a
/// case that needs the streams an earlier case closed to be gone at the server).
pub(crate) const AWAIT_AT_MOST_HOOK: &str = "x-micro-test-await-subscribers-at-most";

/// The longest the await-subscribers hook waits.
const AWAIT_LIMIT: Duration = Duration::from_secs(10);

/// Locks a mutex, recovering the data if a holder panicked (state stays usable).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Open streams (subscribers, consumers, watchers) counted by key, so that the
/// `x-micro-test-await-subscribers` hook can wait for them.
#[derive(Debug)]
pub(crate) struct Presence {
    counts: Mutex<HashMap<String, usize>>,
    changed: watch::Sender<()>,
}

impl Presence {
    /// No open streams.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { counts: Mutex::new(HashMap::new()), changed: watch::Sender::new(()) })
    }

    /// Counts one more open stream under `key` until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>, key: &str) -> PresenceGuard {
        *lock(&self.counts).entry(key.to_owned()).or_default() += 1;
        self.changed.send_replace(());
        PresenceGuard { presence: self.clone(), key: key.to_owned() }
    }

    /// How many streams are open under any of `keys`.
    fn count(&self, keys: &[&str]) -> usize {
        let counts = lock(&self.counts);
        keys.iter().map(|key| counts.get(*key).copied().unwrap_or(0)).sum()
    }

    /// Waits until the number of streams open under `keys` together satisfies `done`, or
    /// [`AWAIT_LIMIT`] has passed.
    async fn wait_for(&self, keys: &[&str], done: impl Fn(usize) -> bool) {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + AWAIT_LIMIT;
        while !done(self.count(keys)) {
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }

    /// Runs the await-subscribers hooks: with test hooks on, `x-micro-test-await-subscribers: N`
    /// in `metadata` waits (see [`Presence::wait_for`]) until at least N streams are open under
    /// `keys` together, and `x-micro-test-await-subscribers-at-most: N` until at most N are (the
    /// streams of calls a client has ended are counted until the server sees them end). The
    /// call's own deadline is enforced around the handler by the middleware.
    pub(crate) async fn await_hook(&self, shared: &Shared, metadata: &MetadataMap, keys: &[&str]) {
        if !shared.test_hooks {
            return;
        }
        let number = |key: &str| -> Option<usize> {
            metadata.get(key).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
        };
        if let Some(n) = number(AWAIT_AT_MOST_HOOK) {
            self.wait_for(keys, |open| open <= n).await;
        }
        if let Some(n) = number(AWAIT_HOOK) {
            self.wait_for(keys, |open| open >= n).await;
        }
    }
}

/// One open stream counted by [`Presence`]; uncounted when dropped.
#[derive(Debug)]
pub(crate) struct PresenceGuard {
    presence: Arc<Presence>,
    key: String,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        let mut counts = lock(&self.presence.counts);
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
        drop(counts);
        self.presence.changed.send_replace(());
    }
}

/// The caller's namespace ([`Caller::namespace`]: the `micro-namespace` metadata, else the
/// account's issuer, else `micro`).
pub(crate) fn caller_namespace<T>(request: &Request<T>) -> String {
    request
        .extensions()
        .get::<Caller>()
        .map(|caller| caller.namespace.clone())
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// A boxed server stream, as every streaming handler of this server returns.
pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Streams what arrives on `rx` until the sender side is gone, the client goes away (the stream
/// is dropped, and `guard` with it) or `shutdown` is cancelled (then one `UNAVAILABLE` error).
pub(crate) fn channel_stream<T: Send + 'static, G: Send + 'static>(
    rx: mpsc::Receiver<T>,
    shutdown: CancellationToken,
    guard: G,
) -> BoxStream<T> {
    let state = (rx, shutdown, guard, false);
    Box::pin(futures_util::stream::unfold(state, |(mut rx, shutdown, guard, done)| async move {
        if done {
            return None;
        }
        let item = tokio::select! {
            biased;
            () = shutdown.cancelled() => None,
            item = rx.recv() => Some(item?),
        };
        match item {
            Some(item) => Some((Ok(item), (rx, shutdown, guard, false))),
            None => Some((Err(Shared::shutting_down()), (rx, shutdown, guard, true))),
        }
    }))
}

/// An open subscription.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    queue: String,
    tx: mpsc::Sender<Message>,
}

/// Subscribers by `<namespace>.<topic>`, in subscription order.
#[derive(Debug, Default)]
struct Topics {
    next_id: u64,
    topics: HashMap<String, Vec<Subscriber>>,
    /// Round-robin counters by `(<namespace>.<topic>, queue)`.
    turns: HashMap<(String, String), usize>,
}

/// Removes its subscription when the subscriber's stream is dropped.
#[derive(Debug)]
struct Subscription {
    topics: Arc<Mutex<Topics>>,
    key: String,
    id: u64,
    _presence: PresenceGuard,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut topics = lock(&self.topics);
        if let Some(subscribers) = topics.topics.get_mut(&self.key) {
            subscribers.retain(|s| s.id != self.id);
            if subscribers.is_empty() {
                topics.topics.remove(&self.key);
                let key = self.key.clone();
                topics.turns.retain(|(topic, _), _| *topic != key);
            }
        }
    }
}

/// The `broker.Broker` service.
#[derive(Debug, Clone)]
pub(crate) struct BrokerService {
    shared: Shared,
    topics: Arc<Mutex<Topics>>,
    presence: Arc<Presence>,
}

impl BrokerService {
    /// A broker with no subscribers.
    pub(crate) fn new(shared: &Shared) -> Self {
        Self { shared: shared.clone(), topics: Arc::default(), presence: Presence::new() }
    }
}

#[tonic::async_trait]
impl Broker for BrokerService {
    async fn publish(&self, request: Request<PublishRequest>) -> Result<Response<Empty>, Status> {
        const ID: &str = "broker.Broker.Publish";
        let key = format!("{}.{}", caller_namespace(&request), request.get_ref().topic);
        self.presence.await_hook(&self.shared, request.metadata(), &[&key]).await;
        let request = request.into_inner();
        if request.topic.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing topic").into());
        }
        let Some(message) = request.message else {
            return Err(MicroError::bad_request(ID, "Missing message").into());
        };
        let mut topics = lock(&self.topics);
        let Topics { topics: by_topic, turns, .. } = &mut *topics;
        let Some(subscribers) = by_topic.get(&key) else {
            return Ok(Response::new(Empty {}));
        };
        // Every fan-out subscriber, plus one member of each queue group (in turn).
        let mut queues: Vec<(&str, Vec<&Subscriber>)> = Vec::new();
        for subscriber in subscribers {
            if subscriber.queue.is_empty() {
                let _ = subscriber.tx.try_send(message.clone());
            } else if let Some((_, members)) = queues.iter_mut().find(|(q, _)| *q == subscriber.queue) {
                members.push(subscriber);
            } else {
                queues.push((&subscriber.queue, vec![subscriber]));
            }
        }
        for (queue, members) in queues {
            let turn = turns.entry((key.clone(), queue.to_owned())).or_default();
            let member = members[*turn % members.len()];
            *turn = turn.wrapping_add(1);
            let _ = member.tx.try_send(message.clone());
        }
        Ok(Response::new(Empty {}))
    }

    type SubscribeStream = BoxStream<Message>;

    async fn subscribe(&self, request: Request<SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let namespace = caller_namespace(&request);
        let request = request.into_inner();
        if request.topic.is_empty() {
            return Err(MicroError::bad_request("broker.Broker.Subscribe", "Missing topic").into());
        }
        let key = format!("{namespace}.{}", request.topic);
        let (tx, rx) = mpsc::channel(BUFFER);
        let id = {
            let mut topics = lock(&self.topics);
            topics.next_id += 1;
            let id = topics.next_id;
            topics.topics.entry(key.clone()).or_default().push(Subscriber { id, queue: request.queue, tx });
            id
        };
        // Counted only once registered, so a publisher that awaited it reaches it.
        let guard =
            Subscription { topics: self.topics.clone(), key: key.clone(), id, _presence: self.presence.enter(&key) };
        Ok(Response::new(channel_stream(rx, self.shared.shutdown.clone(), guard)))
    }
}
