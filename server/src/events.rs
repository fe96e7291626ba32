//! `events.Stream` and `events.Store`: durable event streams with Micro's semantics.
//!
//! Every published event is appended to its topic's log (and written through `--data`
//! persistence, table `events`), kept for [`RETENTION`] (as Micro's event store keeps them),
//! and handed to the open consumers of the topic. Behaviour, as Micro v3's events handlers over
//! its memory stream and store, except where noted:
//!
//! - `Publish` without a topic is 400 `events.Stream.Publish` / `Missing topic`. The event gets
//!   a UUID-shaped `id` and `timestamp` = the request's (unix seconds) or now when 0. Micro
//!   stores a second copy under another id, with timestamp 0 when none was given; here the
//!   streamed and the stored event are one and the same.
//! - `Consume` without a topic is 400 `events.Stream.Consume` / `Missing topic` (Micro: 500).
//!   It streams the topic's events, in publish order, until the client cancels:
//!   - with `offset` > 0 it first replays the retained events whose `timestamp` is at or after
//!     `offset` (unix seconds), then continues with new events; with `offset` 0, new events only
//!     (published after the call was accepted);
//!   - `group` empty: the consumer has its own position and receives every event;
//!   - `group` set: every consumer of that group on that topic shares one position (a durable
//!     cursor, kept across reconnects and, with `--data`, restarts: table `events.groups`); each
//!     event goes to exactly one member of the group, and events published while no member is
//!     connected are delivered when one connects again. A member counts as connected until the
//!     server sees its stream end, which comes a moment after the client ends it: an event that
//!     reaches a member in that moment is lost with its stream, as with Micro's memory stream. The
//!     group's position starts where the
//!     first consumer of the group started (its `offset` rules); later members' `offset` is
//!     ignored (Micro's memory stream sends each event to one member per group, always the
//!     latest one, and keeps no position);
//!   - acknowledgements: a server stream cannot carry the client's `AckRequest`s, so an event
//!     counts as acknowledged once it has been written to the stream, whatever `auto_ack`;
//!     `ack_wait` and `retry_limit` are accepted and unused, nothing is redelivered (Micro
//!     rejects `auto_ack: false` with `ack_wait` 0 with a 500, and redelivers unacknowledged
//!     events after `ack_wait`).
//! - `Store.Read` without a topic is 400 `events.Store.Read` / `Missing topic`; it returns the
//!   retained events of the topic in publish order (Micro: store key order), skipping `offset`,
//!   at most `limit` (0 = 250, Micro's default).
//! - `Store.Write` is 501 `events.Store.Write` / `Writing to the store directly is not supported`,
//!   as Micro.
//! - With test hooks, `Publish` honours `x-micro-test-await-subscribers: N`: it first waits (at
//!   most 10 s, never past the deadline) until N consumers of the topic are open.
//! - Open `Consume` streams end with 503 `UNAVAILABLE` when the server shuts down.
//!
//! Namespaces: Micro's events service always authorizes against namespace `micro` (spec B1).

use std::{
    collections::HashMap,
    hash::BuildHasher as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use prost::Message as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::{
    auth::authorize_namespace,
    broker::{BoxStream, Presence, PresenceGuard, lock},
    error::MicroError,
    pb::events::{
        ConsumeRequest, Event, PublishRequest, PublishResponse, ReadRequest, ReadResponse, WriteRequest, WriteResponse,
        store_server::Store, stream_server::Stream,
    },
    shared::{Shared, unix_now_ms},
};

/// How long events are kept: 24 hours, as Micro's event store.
pub(crate) const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// The namespace every events rpc is authorized against (spec B1).
const NAMESPACE: &str = "micro";
/// `Store.Read`'s limit when the request sets none (Micro's default).
const DEFAULT_READ_LIMIT: u64 = 250;
/// Persistence table of events: key = sequence number (u64 big-endian), value = [`StoredEvent`].
const EVENTS_TABLE: &str = "events";
/// Persistence table of group positions: key = `topic \0 group`, value = [`Cursor::encode`].
const GROUPS_TABLE: &str = "events.groups";

/// An event as persisted.
#[derive(Clone, PartialEq, prost::Message)]
struct StoredEvent {
    /// The event.
    #[prost(message, optional, tag = "1")]
    event: Option<Event>,
    /// When it was published, unix milliseconds (for the retention).
    #[prost(uint64, tag = "2")]
    written_ms: u64,
    /// Its position in the server's single sequence.
    #[prost(uint64, tag = "3")]
    seq: u64,
}

/// A consumer's (or group's) position in a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    /// The next sequence number to look at.
    next: u64,
    /// Events from this sequence number on are delivered whatever their timestamp.
    live_from: u64,
    /// Earlier events are delivered when their timestamp is at or after this (0 = none).
    offset: i64,
}

impl Cursor {
    fn wants(&self, event: &StoredEvent) -> bool {
        event.seq >= self.live_from
            || (self.offset > 0 && event.event.as_ref().is_some_and(|e| e.timestamp >= self.offset))
    }

    /// The next wanted event of `log` (sorted by sequence), advancing past it.
    fn claim(&mut self, log: &[StoredEvent]) -> Option<Event> {
        let start = log.partition_point(|e| e.seq < self.next);
        for stored in &log[start..] {
            self.next = stored.seq + 1;
            if self.wants(stored) {
                return stored.event.clone();
            }
        }
        None
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.next.to_be_bytes());
        bytes.extend_from_slice(&self.live_from.to_be_bytes());
        bytes.extend_from_slice(&self.offset.to_be_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let word = |i: usize| bytes.get(i * 8..i * 8 + 8).and_then(|b| <[u8; 8]>::try_from(b).ok());
        Some(Self {
            next: u64::from_be_bytes(word(0)?),
            live_from: u64::from_be_bytes(word(1)?),
            offset: i64::from_be_bytes(word(2)?),
        })
    }
}

fn group_key(topic: &str, group: &str) -> Vec<u8> {
    [topic.as_bytes(), b"\0", group.as_bytes()].concat()
}

#[derive(Debug, Default)]
struct State {
    /// The sequence number of the next event.
    next_seq: u64,
    /// topic → events, by sequence number.
    topics: HashMap<String, Vec<StoredEvent>>,
    /// (topic, group) → shared position.
    groups: HashMap<(String, String), Cursor>,
}

impl State {
    /// Drops events past the retention (memory and persistence).
    fn expire(&mut self, shared: &Shared, now_ms: u64) {
        let cutoff = now_ms.saturating_sub(u64::try_from(RETENTION.as_millis()).unwrap_or(u64::MAX));
        for log in self.topics.values_mut() {
            let old = log.partition_point(|e| e.written_ms < cutoff);
            for stored in log.drain(..old) {
                let _ = shared.persist.remove(EVENTS_TABLE, &stored.seq.to_be_bytes());
            }
        }
        self.topics.retain(|_, log| !log.is_empty());
    }

    /// A new position in `topic`: new events only, plus (offset > 0) retained ones since offset.
    fn cursor(&self, offset: i64) -> Cursor {
        let offset = offset.max(0);
        Cursor { next: if offset > 0 { 0 } else { self.next_seq }, live_from: self.next_seq, offset }
    }
}

/// The events services' shared state.
#[derive(Debug)]
struct Inner {
    shared: Shared,
    state: Mutex<State>,
    /// The sequence number of the latest event, to wake consumers.
    published: watch::Sender<u64>,
    presence: Arc<Presence>,
}

/// `events.Stream` and `events.Store` (one state, two services; clone for the second).
#[derive(Debug, Clone)]
pub(crate) struct EventsService {
    inner: Arc<Inner>,
}

impl EventsService {
    /// Loads the retained events and group positions from persistence.
    pub(crate) fn new(shared: &Shared) -> Self {
        let mut state = State::default();
        for (_, value) in shared.persist.load(EVENTS_TABLE) {
            let Ok(stored) = StoredEvent::decode(value.as_slice()) else { continue };
            let Some(event) = &stored.event else { continue };
            state.next_seq = state.next_seq.max(stored.seq + 1);
            state.topics.entry(event.topic.clone()).or_default().push(stored);
        }
        for log in state.topics.values_mut() {
            log.sort_by_key(|e| e.seq);
        }
        for (key, value) in shared.persist.load(GROUPS_TABLE) {
            let Some(split) = key.iter().position(|&b| b == 0) else { continue };
            let (Ok(topic), Ok(group)) =
                (String::from_utf8(key[..split].to_vec()), String::from_utf8(key[split + 1..].to_vec()))
            else {
                continue;
            };
            if let Some(cursor) = Cursor::decode(&value) {
                state.groups.insert((topic, group), cursor);
            }
        }
        state.expire(shared, unix_now_ms());
        let published = watch::Sender::new(state.next_seq);
        let inner = Inner { shared: shared.clone(), state: Mutex::new(state), published, presence: Presence::new() };
        Self { inner: Arc::new(inner) }
    }
}

/// A UUID-shaped (version 4 layout) random id.
fn new_id(seq: u64) -> String {
    let random = std::collections::hash_map::RandomState::new();
    let a = random.hash_one((seq, unix_now_ms(), std::process::id()));
    let b = random.hash_one((a, seq));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Where a consumer reads from.
#[derive(Debug)]
enum Position {
    Own(Cursor),
    Group(String),
}

/// The state of one `Consume` stream.
struct Consumer {
    inner: Arc<Inner>,
    topic: String,
    position: Position,
    published: watch::Receiver<u64>,
    shutdown: CancellationToken,
    done: bool,
    _presence: PresenceGuard,
}

impl Consumer {
    /// The next event for this consumer, if one is ready.
    fn claim(&mut self) -> Result<Option<Event>, Status> {
        let mut state = lock(&self.inner.state);
        let State { topics, groups, .. } = &mut *state;
        let Some(log) = topics.get(&self.topic) else { return Ok(None) };
        match &mut self.position {
            Position::Own(cursor) => Ok(cursor.claim(log)),
            Position::Group(group) => {
                let key = (self.topic.clone(), group.clone());
                let Some(cursor) = groups.get_mut(&key) else { return Ok(None) };
                let before = *cursor;
                let event = cursor.claim(log);
                if *cursor != before {
                    self.inner.shared.persist.put(GROUPS_TABLE, &group_key(&key.0, &key.1), &cursor.encode())?;
                }
                Ok(event)
            }
        }
    }

    /// The next item of the stream: an event, the shutdown error, or the end.
    async fn next(mut self) -> Option<(Result<Event, Status>, Self)> {
        if self.done {
            return None;
        }
        loop {
            self.published.borrow_and_update();
            match self.claim() {
                Ok(Some(event)) => return Some((Ok(event), self)),
                Ok(None) => {}
                Err(status) => {
                    self.done = true;
                    return Some((Err(status), self));
                }
            }
            let shutdown = self.shutdown.clone();
            let woken = tokio::select! {
                biased;
                () = shutdown.cancelled() => false,
                changed = self.published.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    true
                }
            };
            if !woken {
                self.done = true;
                return Some((Err(Shared::shutting_down()), self));
            }
        }
    }
}

#[tonic::async_trait]
impl Stream for EventsService {
    async fn publish(&self, request: Request<PublishRequest>) -> Result<Response<PublishResponse>, Status> {
        const ID: &str = "events.Stream.Publish";
        let inner = &self.inner;
        authorize_namespace(request.extensions(), &inner.shared, NAMESPACE, ID)?;
        inner.presence.await_hook(&inner.shared, request.metadata(), &[&request.get_ref().topic]).await;
        let request = request.into_inner();
        if request.topic.is_empty() {
            return Err(MicroError::bad_request(ID, "Missing topic").into());
        }
        let now_ms = unix_now_ms();
        let timestamp =
            if request.timestamp > 0 { request.timestamp } else { i64::try_from(now_ms / 1000).unwrap_or(i64::MAX) };
        let mut state = lock(&inner.state);
        state.expire(&inner.shared, now_ms);
        let seq = state.next_seq;
        let event = Event {
            id: new_id(seq),
            topic: request.topic.clone(),
            metadata: request.metadata,
            payload: request.payload,
            timestamp,
        };
        let stored = StoredEvent { event: Some(event), written_ms: now_ms, seq };
        inner.shared.persist.put(EVENTS_TABLE, &seq.to_be_bytes(), &stored.encode_to_vec())?;
        state.next_seq = seq + 1;
        state.topics.entry(request.topic).or_default().push(stored);
        drop(state);
        inner.published.send_replace(seq);
        Ok(Response::new(PublishResponse {}))
    }

    type ConsumeStream = BoxStream<Event>;

    async fn consume(&self, request: Request<ConsumeRequest>) -> Result<Response<Self::ConsumeStream>, Status> {
        authorize_namespace(request.extensions(), &self.inner.shared, NAMESPACE, "events.Stream.Consume")?;
        let request = request.into_inner();
        if request.topic.is_empty() {
            return Err(MicroError::bad_request("events.Stream.Consume", "Missing topic").into());
        }
        let inner = self.inner.clone();
        let position = {
            let mut state = lock(&inner.state);
            if request.group.is_empty() {
                Position::Own(state.cursor(request.offset))
            } else {
                let key = (request.topic.clone(), request.group.clone());
                if !state.groups.contains_key(&key) {
                    let cursor = state.cursor(request.offset);
                    inner.shared.persist.put(GROUPS_TABLE, &group_key(&key.0, &key.1), &cursor.encode())?;
                    state.groups.insert(key, cursor);
                }
                Position::Group(request.group)
            }
        };
        let consumer = Consumer {
            published: inner.published.subscribe(),
            shutdown: inner.shared.shutdown.clone(),
            _presence: inner.presence.enter(&request.topic),
            topic: request.topic,
            position,
            done: false,
            inner,
        };
        Ok(Response::new(Box::pin(futures_util::stream::unfold(consumer, Consumer::next))))
    }
}

#[tonic::async_trait]
impl Store for EventsService {
    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        authorize_namespace(request.extensions(), &self.inner.shared, NAMESPACE, "events.Store.Read")?;
        let request = request.into_inner();
        if request.topic.is_empty() {
            return Err(MicroError::bad_request("events.Store.Read", "Missing topic").into());
        }
        let limit = if request.limit == 0 { DEFAULT_READ_LIMIT } else { request.limit };
        let mut state = lock(&self.inner.state);
        state.expire(&self.inner.shared, unix_now_ms());
        let events = state
            .topics
            .get(&request.topic)
            .map(|log| {
                log.iter()
                    .skip(usize::try_from(request.offset).unwrap_or(usize::MAX))
                    .take(usize::try_from(limit).unwrap_or(usize::MAX))
                    .filter_map(|stored| stored.event.clone())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Response::new(ReadResponse { events }))
    }

    async fn write(&self, _request: Request<WriteRequest>) -> Result<Response<WriteResponse>, Status> {
        Err(MicroError::not_implemented("events.Store.Write", "Writing to the store directly is not supported").into())
    }
}
