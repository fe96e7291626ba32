//! `store.Store`: an in-memory key-value store with Micro's semantics.
//!
//! Records live in `database` / `table` (each `micro` when empty), so databases and tables
//! isolate data; keys are kept sorted. Behaviour, as Micro v3's store handler over its memory
//! store, except where noted:
//!
//! - `Read` of a key returns that record or fails with 404 `store.Store.Read` / `not found`.
//!   With `prefix` and/or `suffix` set the key is a filter instead (both: the key must match
//!   both ways) and the matching records are returned sorted by key (`order` `desc` reverses),
//!   then `offset` records are skipped and at most `limit` (0 = all) returned; no match is an
//!   empty response, not an error (as Micro). `limit`/`offset` do not apply to an exact read.
//! - `order` must be empty, `asc` or `desc`; anything else is 400 `store.Store.Read` (or
//!   `store.Store.List`) — Micro silently treats it as `asc`.
//! - `Write` without a record is 400 `store.Store.Write` / `no record specified`. `expiry` is in
//!   seconds from now; 0 means never, a negative value means already expired. Expired records
//!   are invisible to every method.
//! - A read record's `expiry` is the time it has left, in whole seconds rounded **up** (Micro
//!   truncates), so a record written with expiry 3600 and read at once reads back as 3600.
//! - Metadata values are stored as their `value` only and read back with type `string`, as
//!   Micro does (it keeps `Field.value` and reports Go's type name of that string).
//! - `Delete` of a missing key succeeds.
//! - `List` sends exactly one `ListResponse` with every matching key (sorted as for `Read`,
//!   `prefix`/`suffix` filters, then `offset`/`limit`), even when there are none.
//! - `Databases` lists the databases that hold at least one live record, sorted; `Tables`
//!   lists the tables of a database (default `micro`) that hold one, sorted. (Micro lists every
//!   database and table ever touched, even by a read.)

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use prost::Message as _;
use tonic::{Request, Response, Status};

use crate::{
    error::MicroError,
    pb::store::{
        DatabasesRequest, DatabasesResponse, DeleteRequest, DeleteResponse, Field, ListRequest, ListResponse,
        ReadRequest, ReadResponse, Record, TablesRequest, TablesResponse, WriteRequest, WriteResponse,
        store_server::Store,
    },
    persist::Persist,
    shared::Shared,
};

/// Database and table used when a request leaves them empty.
const DEFAULT: &str = "micro";

/// A stored record.
#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    /// Metadata values (their types are not kept, as in Micro).
    metadata: BTreeMap<String, String>,
    /// When the record expires; `None` = never.
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    fn to_record(&self, key: &str, now: Instant) -> Record {
        let expiry = self.expires_at.map_or(0, |at| {
            let left = at.saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            i64::try_from(secs).unwrap_or(i64::MAX)
        });
        Record {
            key: key.to_owned(),
            value: self.value.clone(),
            expiry,
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| {
                    let field = Field { r#type: "string".to_owned(), value: v.clone() };
                    (k.clone(), field)
                })
                .collect::<HashMap<_, _>>(),
        }
    }
}

/// key → record.
type Table = BTreeMap<String, Entry>;
/// database → table → key → record.
type Databases = BTreeMap<String, BTreeMap<String, Table>>;

/// Sort order of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

impl Order {
    /// Parses Micro's `order` option; `id` names the method for the error.
    fn parse(order: &str, id: &str) -> Result<Self, MicroError> {
        match order {
            "" | "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            other => Err(MicroError::bad_request(id, format!("invalid order {other:?}: expected \"asc\" or \"desc\""))),
        }
    }
}

/// Key selection shared by prefix/suffix `Read` and `List`.
struct Query<'a> {
    order: Order,
    prefix: Option<&'a str>,
    suffix: Option<&'a str>,
    offset: u64,
    limit: u64,
}

impl Query<'_> {
    /// The matching live keys of `table`, ordered, then offset and limited (limit 0 = all).
    fn keys<'t>(&self, table: Option<&'t Table>, now: Instant) -> Vec<&'t str> {
        let Some(table) = table else {
            return Vec::new();
        };
        let matching = table.iter().filter(|(key, entry)| {
            entry.live(now)
                && self.prefix.is_none_or(|p| key.starts_with(p))
                && self.suffix.is_none_or(|s| key.ends_with(s))
        });
        let keys: Vec<&str> = match self.order {
            Order::Asc => matching.map(|(k, _)| k.as_str()).collect(),
            Order::Desc => matching.rev().map(|(k, _)| k.as_str()).collect(),
        };
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let limit = match usize::try_from(self.limit).unwrap_or(usize::MAX) {
            0 => usize::MAX,
            n => n,
        };
        keys.into_iter().skip(offset).take(limit).collect()
    }
}

/// Empty → `micro`.
fn or_default(name: &str) -> &str {
    if name.is_empty() { DEFAULT } else { name }
}

/// Persistence table of the records (`--data`).
const TABLE: &str = "store.records";

/// Persistence key of a record: `database NUL table NUL key`.
fn persist_key(database: &str, table: &str, key: &str) -> Vec<u8> {
    [database.as_bytes(), b"\0", table.as_bytes(), b"\0", key.as_bytes()].concat()
}

/// Unix milliseconds of `at` (an `Instant` in this process's clock).
fn unix_ms(at: Instant, now: Instant) -> i64 {
    let now_ms = i64::try_from(crate::shared::unix_now_ms()).unwrap_or(i64::MAX);
    let left = i64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_add(left)
}

/// The `store.Store` service.
#[derive(Debug, Clone)]
pub(crate) struct StoreService {
    data: Arc<Mutex<Databases>>,
    persist: Persist,
    shared: Shared,
}

impl StoreService {
    /// The service with the records persisted by an earlier run (`--data`), expired ones left out.
    pub(crate) fn new(shared: &Shared) -> Self {
        let now = Instant::now();
        let now_ms = i64::try_from(crate::shared::unix_now_ms()).unwrap_or(i64::MAX);
        let mut data = Databases::new();
        for (key, value) in shared.persist.load(TABLE) {
            let mut parts = key.splitn(3, |b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
            let (Some(database), Some(table), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let Ok(record) = Record::decode(value.as_slice()) else { continue };
            // `expiry` holds the absolute expiry time in unix milliseconds (0 = never).
            let expires_at = match record.expiry {
                0 => None,
                at => Some(now + Duration::from_millis(u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0))),
            };
            let entry = Entry {
                value: record.value,
                metadata: record.metadata.into_iter().map(|(k, f)| (k, f.value)).collect(),
                expires_at,
            };
            if entry.live(now) {
                data.entry(database).or_default().entry(table).or_default().insert(key, entry);
            }
        }
        Self { data: Arc::new(Mutex::new(data)), persist: shared.persist.clone(), shared: shared.clone() }
    }

    /// Writes a record through to the database (`--data`).
    fn persist_entry(&self, database: &str, table: &str, key: &str, entry: &Entry, now: Instant) -> Result<(), Status> {
        let record = Record {
            key: key.to_owned(),
            value: entry.value.clone(),
            expiry: entry.expires_at.map_or(0, |at| unix_ms(at, now)),
            metadata: entry
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), Field { r#type: "string".to_owned(), value: v.clone() }))
                .collect(),
        };
        self.persist.put(TABLE, &persist_key(database, table, key), &record.encode_to_vec())
    }

    fn lock(&self) -> MutexGuard<'_, Databases> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters for a test server, so keep serving.
        self.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Removes expired records and then empty tables and databases.
fn purge(data: &mut Databases, now: Instant) {
    for tables in data.values_mut() {
        for table in tables.values_mut() {
            table.retain(|_, entry| entry.live(now));
        }
        tables.retain(|_, table| !table.is_empty());
    }
    data.retain(|_, tables| !tables.is_empty());
}

#[tonic::async_trait]
impl Store for StoreService {
    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        const ID: &str = "store.Store.Read";
        let database = request.get_ref().options.as_ref().map_or("", |o| o.database.as_str());
        crate::auth::authorize_namespace(request.extensions(), &self.shared, database, ID)?;
        let req = request.into_inner();
        let opts = req.options.unwrap_or_default();
        let order = Order::parse(&opts.order, ID)?;
        let now = Instant::now();
        let data = self.lock();
        let table = data.get(or_default(&opts.database)).and_then(|tables| tables.get(or_default(&opts.table)));

        let records = if opts.prefix || opts.suffix {
            let query = Query {
                order,
                prefix: opts.prefix.then_some(req.key.as_str()),
                suffix: opts.suffix.then_some(req.key.as_str()),
                offset: opts.offset,
                limit: opts.limit,
            };
            let table_ref = table;
            query
                .keys(table_ref, now)
                .into_iter()
                .filter_map(|key| table_ref?.get(key).map(|e| e.to_record(key, now)))
                .collect()
        } else {
            match table.and_then(|t| t.get(&req.key)).filter(|e| e.live(now)) {
                Some(entry) => vec![entry.to_record(&req.key, now)],
                None => return Err(MicroError::not_found(ID, "not found").into()),
            }
        };
        Ok(Response::new(ReadResponse { records }))
    }

    async fn write(&self, request: Request<WriteRequest>) -> Result<Response<WriteResponse>, Status> {
        const ID: &str = "store.Store.Write";
        let database = request.get_ref().options.as_ref().map_or("", |o| o.database.as_str());
        crate::auth::authorize_namespace(request.extensions(), &self.shared, database, ID)?;
        let req = request.into_inner();
        let Some(record) = req.record else {
            return Err(MicroError::bad_request(ID, "no record specified").into());
        };
        let opts = req.options.unwrap_or_default();
        let now = Instant::now();
        let expires_at = match record.expiry {
            0 => None,
            secs if secs < 0 => Some(now),
            secs => Some(now + Duration::from_secs(secs.unsigned_abs())),
        };
        let entry = Entry {
            value: record.value,
            metadata: record.metadata.into_iter().map(|(k, field)| (k, field.value)).collect(),
            expires_at,
        };
        let (database, table) = (or_default(&opts.database), or_default(&opts.table));
        if entry.live(now) {
            self.persist_entry(database, table, &record.key, &entry, now)?;
        } else {
            self.persist.remove(TABLE, &persist_key(database, table, &record.key))?;
        }
        let mut data = self.lock();
        purge(&mut data, now);
        if entry.live(now) {
            data.entry(or_default(&opts.database).to_owned())
                .or_default()
                .entry(or_default(&opts.table).to_owned())
                .or_default()
                .insert(record.key, entry);
        } else if let Some(table) =
            data.get_mut(or_default(&opts.database)).and_then(|tables| tables.get_mut(or_default(&opts.table)))
        {
            // Writing an already expired record replaces (hides) any live one.
            table.remove(&record.key);
            purge(&mut data, now);
        }
        Ok(Response::new(WriteResponse {}))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        const ID: &str = "store.Store.Delete";
        let database = request.get_ref().options.as_ref().map_or("", |o| o.database.as_str());
        crate::auth::authorize_namespace(request.extensions(), &self.shared, database, ID)?;
        let req = request.into_inner();
        let opts = req.options.unwrap_or_default();
        self.persist.remove(TABLE, &persist_key(or_default(&opts.database), or_default(&opts.table), &req.key))?;
        let mut data = self.lock();
        if let Some(table) =
            data.get_mut(or_default(&opts.database)).and_then(|tables| tables.get_mut(or_default(&opts.table)))
        {
            table.remove(&req.key);
        }
        purge(&mut data, Instant::now());
        Ok(Response::new(DeleteResponse {}))
    }

    type ListStream = tokio_stream::Once<Result<ListResponse, Status>>;

    async fn list(&self, request: Request<ListRequest>) -> Result<Response<Self::ListStream>, Status> {
        const ID: &str = "store.Store.List";
        let database = request.get_ref().options.as_ref().map_or("", |o| o.database.as_str());
        crate::auth::authorize_namespace(request.extensions(), &self.shared, database, ID)?;
        let opts = request.into_inner().options.unwrap_or_default();
        let order = Order::parse(&opts.order, ID)?;
        let now = Instant::now();
        let data = self.lock();
        let table = data.get(or_default(&opts.database)).and_then(|tables| tables.get(or_default(&opts.table)));
        let query = Query {
            order,
            prefix: Some(opts.prefix.as_str()).filter(|p| !p.is_empty()),
            suffix: Some(opts.suffix.as_str()).filter(|s| !s.is_empty()),
            offset: opts.offset,
            limit: opts.limit,
        };
        let keys = query.keys(table, now).into_iter().map(str::to_owned).collect();
        Ok(Response::new(tokio_stream::once(Ok(ListResponse { keys }))))
    }

    async fn databases(&self, request: Request<DatabasesRequest>) -> Result<Response<DatabasesResponse>, Status> {
        // Every database: for admins (and services) of `micro` only.
        crate::auth::authorize_namespace(request.extensions(), &self.shared, "micro", "store.Store.Databases")?;
        let mut data = self.lock();
        purge(&mut data, Instant::now());
        let databases = data.keys().cloned().collect();
        Ok(Response::new(DatabasesResponse { databases }))
    }

    async fn tables(&self, request: Request<TablesRequest>) -> Result<Response<TablesResponse>, Status> {
        let database = request.get_ref().database.as_str();
        crate::auth::authorize_namespace(request.extensions(), &self.shared, database, "store.Store.Tables")?;
        let req = request.into_inner();
        let mut data = self.lock();
        purge(&mut data, Instant::now());
        let tables =
            data.get(or_default(&req.database)).map(|tables| tables.keys().cloned().collect()).unwrap_or_default();
        Ok(Response::new(TablesResponse { tables }))
    }
}
