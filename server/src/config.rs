//! `config.Config`: per-namespace JSON configuration with Micro's semantics.
//!
//! Each namespace (`micro` when empty) holds one JSON tree. Paths are dot-separated object
//! keys (`a.b.c`); the empty path is the whole tree. Values travel as
//! `Value{data: <JSON text>, format: "json"}`; data is returned compact with object keys
//! sorted.
//!
//! - `Set` parses `value.data` as JSON (invalid → 400 `config.Config.Set` / `invalid json: …`;
//!   no `value` → 400 `config.Config.Set` / `no value specified`) and merges it in at the path:
//!   missing or non-object intermediate nodes become objects; when both the old and the new
//!   value at the path are objects they are merged key by key (recursively, new keys win),
//!   otherwise the new value replaces the old one.
//! - Secrets: `Set` with `options.secret` stores the value marked secret (an object value
//!   marks each of its leaves). `Get` with `options.secret` returns secrets in clear text;
//!   without it every secret leaf reads as the JSON string `"[secret]"` — so a secret
//!   scalar at the path reads as `"[secret]"` and a tree shows its keys but masks secret
//!   leaves. `Read` (which has no options) masks secrets too. Micro encrypts secrets at rest;
//!   this in-memory server only marks them.
//! - `Get`/`Read` of a namespace that holds nothing → 404 `config.Config.Get` (or `.Read`) /
//!   `not found`; of a missing path inside an existing namespace → the same 404. A namespace
//!   whose tree is empty (e.g. after deleting every key) holds nothing.
//! - `Delete` removes the value at the path (a missing path is fine); the empty path removes
//!   the whole namespace.
//! - `Read` returns Micro's legacy shape: `Change{namespace, path, changeSet: ChangeSet{data,
//!   format: "json", source: "micro-server", timestamp: <unix seconds of the namespace's last
//!   change>, checksum: <hex sha256 of data>}}`.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use crate::{
    error::MicroError,
    pb::config::{
        Change, ChangeSet, DeleteRequest, DeleteResponse, GetRequest, GetResponse, ReadRequest, ReadResponse,
        SetRequest, SetResponse, Value, config_server::Config,
    },
    persist::Persist,
    shared::unix_now,
    shared::{Shared, namespace_or_default},
};

/// What a secret reads as without `options.secret`.
const SECRET_MASK: &str = "[secret]";

/// A node of a namespace's tree. Objects are always decomposed into [`Node::Object`], so the
/// secret flag lives on non-object leaves only.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(BTreeMap<String, Node>),
    Leaf { value: Json, secret: bool },
}

impl Node {
    /// The persisted form (`--data`): objects as `{"o": {...}}`, leaves as `{"v": value, "s": secret}`,
    /// so secret marks survive a restart.
    fn to_stored(&self) -> Json {
        match self {
            Self::Object(map) => {
                serde_json::json!({ "o": map.iter().map(|(k, v)| (k.clone(), v.to_stored())).collect::<serde_json::Map<_, _>>() })
            }
            Self::Leaf { value, secret } => serde_json::json!({ "v": value, "s": secret }),
        }
    }

    /// Reads [`Node::to_stored`]'s form back; `None` for anything else.
    fn from_stored(stored: &Json) -> Option<Self> {
        if let Some(map) = stored.get("o").and_then(Json::as_object) {
            let children = map.iter().map(|(k, v)| Some((k.clone(), Self::from_stored(v)?))).collect::<Option<_>>()?;
            return Some(Self::Object(children));
        }
        Some(Self::Leaf { value: stored.get("v")?.clone(), secret: stored.get("s")?.as_bool()? })
    }

    /// The node for a JSON value, its leaves marked `secret`.
    fn from_json(value: Json, secret: bool) -> Self {
        match value {
            Json::Object(map) => Self::Object(map.into_iter().map(|(k, v)| (k, Self::from_json(v, secret))).collect()),
            value => Self::Leaf { value, secret },
        }
    }

    /// Merges `new` into `old` (see the module documentation).
    fn merge(old: Option<Self>, new: Self) -> Self {
        match (old, new) {
            (Some(Self::Object(mut old)), Self::Object(new)) => {
                for (key, value) in new {
                    let merged = Self::merge(old.remove(&key), value);
                    old.insert(key, merged);
                }
                Self::Object(old)
            }
            (_, new) => new,
        }
    }

    /// The node at `path` (no segments = this node).
    fn get(&self, path: &[&str]) -> Option<&Self> {
        match path.split_first() {
            None => Some(self),
            Some((head, rest)) => match self {
                Self::Object(map) => map.get(*head)?.get(rest),
                Self::Leaf { .. } => None,
            },
        }
    }

    /// Merges `new` in at `path`, turning missing or non-object intermediate nodes into
    /// objects.
    fn set(self, path: &[&str], new: Self) -> Self {
        match path.split_first() {
            None => Self::merge(Some(self), new),
            Some((head, rest)) => {
                let mut map = match self {
                    Self::Object(map) => map,
                    Self::Leaf { .. } => BTreeMap::new(),
                };
                let child = map.remove(*head).unwrap_or_else(|| Self::Object(BTreeMap::new()));
                let child = if rest.is_empty() { Self::merge(Some(child), new) } else { child.set(rest, new) };
                map.insert((*head).to_owned(), child);
                Self::Object(map)
            }
        }
    }

    /// Removes the node at a non-empty `path`, if there is one.
    fn delete(&mut self, path: &[&str]) {
        let Self::Object(map) = self else {
            return;
        };
        match path {
            [] => {}
            [last] => {
                map.remove(*last);
            }
            [head, rest @ ..] => {
                if let Some(child) = map.get_mut(*head) {
                    child.delete(rest);
                }
            }
        }
    }

    /// Whether the node holds nothing (an empty object).
    fn is_empty(&self) -> bool {
        matches!(self, Self::Object(map) if map.is_empty())
    }

    /// Compact JSON text with sorted keys; secret leaves read as `"[secret]"` unless
    /// `reveal`.
    fn render(&self, reveal: bool) -> String {
        let mut out = String::new();
        self.write(reveal, &mut out);
        out
    }

    fn write(&self, reveal: bool, out: &mut String) {
        match self {
            Self::Object(map) => {
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Json::from(key.as_str()).to_string());
                    out.push(':');
                    value.write(reveal, out);
                }
                out.push('}');
            }
            Self::Leaf { secret: true, .. } if !reveal => {
                out.push_str(&Json::from(SECRET_MASK).to_string());
            }
            Self::Leaf { value, .. } => write_sorted(value, out),
        }
    }
}

/// Writes compact JSON with object keys sorted at every level (whatever the map order of
/// `serde_json` is in this build).
fn write_sorted(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::from(key.as_str()).to_string());
                out.push(':');
                write_sorted(value, out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A namespace's tree and when it last changed.
#[derive(Debug, Clone)]
struct Namespace {
    root: Node,
    /// Unix seconds of the last `Set`/`Delete`.
    updated: u64,
}

/// Persistence table of the namespaces (`--data`): namespace → `{"root": tree, "updated": secs}`.
const TABLE: &str = "config.namespaces";

/// The `config.Config` service.
#[derive(Debug, Clone)]
pub(crate) struct ConfigService {
    namespaces: Arc<Mutex<BTreeMap<String, Namespace>>>,
    persist: Persist,
    shared: Shared,
}

impl ConfigService {
    /// The service with the namespaces persisted by an earlier run (`--data`).
    pub(crate) fn new(shared: &Shared) -> Self {
        let mut namespaces = BTreeMap::new();
        for (name, value) in shared.persist.load(TABLE) {
            let Ok(stored) = serde_json::from_slice::<Json>(&value) else { continue };
            let (Some(root), Some(updated)) =
                (stored.get("root").and_then(Node::from_stored), stored.get("updated").and_then(Json::as_u64))
            else {
                continue;
            };
            namespaces.insert(String::from_utf8_lossy(&name).into_owned(), Namespace { root, updated });
        }
        Self { namespaces: Arc::new(Mutex::new(namespaces)), persist: shared.persist.clone(), shared: shared.clone() }
    }

    /// Writes `name`'s namespace through to the database (`--data`), or removes it when gone.
    fn persist_namespace(&self, name: &str, ns: Option<&Namespace>) -> Result<(), Status> {
        match ns {
            Some(ns) => {
                let stored = serde_json::json!({ "root": ns.root.to_stored(), "updated": ns.updated });
                self.persist.put(TABLE, name.as_bytes(), stored.to_string().as_bytes())
            }
            None => self.persist.remove(TABLE, name.as_bytes()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Namespace>> {
        self.namespaces.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The node at `path` of `namespace`, or 404 with `id`; also the namespace's timestamp.
    fn lookup(&self, namespace: &str, path: &str, id: &str) -> Result<(Node, u64), MicroError> {
        let namespaces = self.lock();
        let ns = namespaces
            .get(namespace_or_default(namespace))
            .filter(|ns| !ns.root.is_empty())
            .ok_or_else(|| MicroError::not_found(id, "not found"))?;
        let node = ns.root.get(&split_path(path)).ok_or_else(|| MicroError::not_found(id, "not found"))?;
        Ok((node.clone(), ns.updated))
    }
}

/// `a.b.c` → `["a", "b", "c"]`; the empty path → `[]`.
fn split_path(path: &str) -> Vec<&str> {
    if path.is_empty() { Vec::new() } else { path.split('.').collect() }
}

#[tonic::async_trait]
impl Config for ConfigService {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        crate::auth::authorize_namespace(
            request.extensions(),
            &self.shared,
            &request.get_ref().namespace,
            "config.Config.Get",
        )?;
        let req = request.into_inner();
        let reveal = req.options.is_some_and(|o| o.secret);
        let (node, _) = self.lookup(&req.namespace, &req.path, "config.Config.Get")?;
        Ok(Response::new(GetResponse { value: Some(Value { data: node.render(reveal), format: "json".to_owned() }) }))
    }

    async fn set(&self, request: Request<SetRequest>) -> Result<Response<SetResponse>, Status> {
        const ID: &str = "config.Config.Set";
        crate::auth::authorize_namespace(request.extensions(), &self.shared, &request.get_ref().namespace, ID)?;
        let req = request.into_inner();
        let Some(value) = req.value else {
            return Err(MicroError::bad_request(ID, "no value specified").into());
        };
        let json: Json = serde_json::from_str(&value.data)
            .map_err(|err| MicroError::bad_request(ID, format!("invalid json: {err}")))?;
        let secret = req.options.is_some_and(|o| o.secret);
        let node = Node::from_json(json, secret);
        let mut namespaces = self.lock();
        let name = namespace_or_default(&req.namespace).to_owned();
        // Clone, so a failed write-through leaves the namespace as it was.
        let root = namespaces.get(&name).map_or_else(|| Node::Object(BTreeMap::new()), |ns| ns.root.clone());
        let root = root.set(&split_path(&req.path), node);
        let ns = Namespace { root, updated: unix_now() };
        self.persist_namespace(&name, Some(&ns))?;
        namespaces.insert(name, ns);
        Ok(Response::new(SetResponse {}))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        crate::auth::authorize_namespace(
            request.extensions(),
            &self.shared,
            &request.get_ref().namespace,
            "config.Config.Delete",
        )?;
        let req = request.into_inner();
        let name = namespace_or_default(&req.namespace);
        let mut namespaces = self.lock();
        if req.path.is_empty() {
            namespaces.remove(name);
        } else if let Some(ns) = namespaces.get_mut(name) {
            ns.root.delete(&split_path(&req.path));
            ns.updated = unix_now();
            if ns.root.is_empty() {
                namespaces.remove(name);
            }
        }
        self.persist_namespace(name, namespaces.get(name))?;
        Ok(Response::new(DeleteResponse {}))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        crate::auth::authorize_namespace(
            request.extensions(),
            &self.shared,
            &request.get_ref().namespace,
            "config.Config.Read",
        )?;
        let req = request.into_inner();
        let (node, updated) = self.lookup(&req.namespace, &req.path, "config.Config.Read")?;
        let data = node.render(false);
        let checksum = Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Response::new(ReadResponse {
            change: Some(Change {
                namespace: namespace_or_default(&req.namespace).to_owned(),
                path: req.path,
                change_set: Some(ChangeSet {
                    data,
                    checksum,
                    format: "json".to_owned(),
                    source: "micro-server".to_owned(),
                    timestamp: i64::try_from(updated).unwrap_or(i64::MAX),
                }),
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        Node::from_json(serde_json::from_str(text).expect("json"), false)
    }

    #[test]
    fn set_creates_intermediate_objects_and_merges_objects() {
        let root = Node::Object(BTreeMap::new())
            .set(&["a", "b"], node("1"))
            .set(&["a", "c"], node("{\"z\":true,\"y\":[{\"q\":1,\"p\":2}]}"))
            .set(&["a", "c"], node("{\"x\":null}"));
        assert_eq!(root.render(false), r#"{"a":{"b":1,"c":{"x":null,"y":[{"p":2,"q":1}],"z":true}}}"#);
        let root = root.set(&["a", "b", "deep"], node("\"s\""));
        assert_eq!(root.get(&["a", "b"]).map(|n| n.render(false)).as_deref(), Some(r#"{"deep":"s"}"#));
        let root = root.set(&["a"], node("2"));
        assert_eq!(root.render(false), r#"{"a":2}"#);
    }

    #[test]
    fn secrets_are_masked_unless_revealed() {
        let root = Node::Object(BTreeMap::new())
            .set(&["db", "host"], node("\"localhost\""))
            .set(&["db"], Node::from_json(serde_json::json!({"password": "hunter2"}), true));
        assert_eq!(root.render(false), r#"{"db":{"host":"localhost","password":"[secret]"}}"#);
        assert_eq!(root.render(true), r#"{"db":{"host":"localhost","password":"hunter2"}}"#);
    }

    #[test]
    fn delete_removes_a_path() {
        let mut root = node(r#"{"a":{"b":1,"c":2}}"#);
        root.delete(&["a", "b"]);
        root.delete(&["missing", "x"]);
        root.delete(&["a", "c", "below-a-leaf"]);
        assert_eq!(root.render(false), r#"{"a":{"c":2}}"#);
        root.delete(&["a"]);
        assert!(root.is_empty());
    }
}
