//! Write-through persistence of service state: nothing in memory mode, an embedded
//! [redb](https://docs.rs/redb) database (`DIR/micro.redb`) with `--data DIR`.
//!
//! Services keep their state in memory and call [`Persist::put`] / [`Persist::remove`] on every
//! change, then read everything back with [`Persist::load`] when they start, so a restart with
//! the same directory loses nothing that a call had acknowledged. Each service picks its own
//! table names and encodes its own keys and values (prost bytes or JSON); times are stored as
//! unix milliseconds so they survive the restart.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use redb::{ReadableDatabase as _, ReadableTable as _, TableDefinition};
use tonic::Status;

use crate::error::MicroError;

/// File name of the database inside the `--data` directory.
const FILE_NAME: &str = "micro.redb";

/// Where service state is kept: nowhere beyond memory, or a redb database.
#[derive(Clone, Default)]
pub(crate) struct Persist {
    db: Option<Arc<redb::Database>>,
}

impl fmt::Debug for Persist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persist").field("durable", &self.db.is_some()).finish()
    }
}

/// Why `--data DIR` could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the data directory {}: {message}", path.display())]
pub struct PersistError {
    path: PathBuf,
    message: String,
}

impl Persist {
    /// Memory only: [`Persist::load`] returns nothing and writes are no-ops.
    pub(crate) fn memory() -> Persist {
        Persist { db: None }
    }

    /// Opens (creating if needed) `dir/micro.redb`.
    ///
    /// # Errors
    ///
    /// [`PersistError`] when the directory cannot be created or the database cannot be opened
    /// (for example because another server holds it).
    pub(crate) fn open(dir: &Path) -> Result<Persist, PersistError> {
        let err = |message: String| PersistError { path: dir.to_owned(), message };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let db = redb::Database::create(dir.join(FILE_NAME)).map_err(|e| err(e.to_string()))?;
        Ok(Persist { db: Some(Arc::new(db)) })
    }

    /// Whether state survives a restart (`--data` was given).
    #[allow(dead_code)]
    pub(crate) fn is_durable(&self) -> bool {
        self.db.is_some()
    }

    /// Every `(key, value)` of `table`, sorted by key; empty in memory mode or when the table
    /// was never written.
    pub(crate) fn load(&self, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Some(db) = &self.db else { return Vec::new() };
        let definition = TableDefinition::<&[u8], &[u8]>::new(table);
        let Ok(txn) = db.begin_read() else { return Vec::new() };
        let Ok(table) = txn.open_table(definition) else { return Vec::new() };
        let Ok(range) = table.iter() else { return Vec::new() };
        range.filter_map(Result::ok).map(|(k, v)| (k.value().to_vec(), v.value().to_vec())).collect()
    }

    /// Stores `value` under `key` in `table` (committed durably before returning); a no-op in
    /// memory mode.
    ///
    /// # Errors
    ///
    /// A Micro 500 (`INTERNAL`, id `micro.persist`) when the database write fails.
    pub(crate) fn put(&self, table: &str, key: &[u8], value: &[u8]) -> Result<(), Status> {
        self.write(table, |t| t.insert(key, value).map(|_| ()))
    }

    /// Removes `key` from `table`; a no-op in memory mode or when the key is absent.
    ///
    /// # Errors
    ///
    /// A Micro 500 (`INTERNAL`, id `micro.persist`) when the database write fails.
    pub(crate) fn remove(&self, table: &str, key: &[u8]) -> Result<(), Status> {
        self.write(table, |t| t.remove(key).map(|_| ()))
    }

    fn write(
        &self,
        table: &str,
        change: impl FnOnce(&mut redb::Table<'_, &'static [u8], &'static [u8]>) -> Result<(), redb::StorageError>,
    ) -> Result<(), Status> {
        let Some(db) = &self.db else { return Ok(()) };
        let fail = |e: &dyn std::fmt::Display| {
            MicroError::internal_server_error("micro.persist", format!("persist {table}: {e}")).into()
        };
        let txn = db.begin_write().map_err(|e| fail(&e))?;
        {
            let definition = TableDefinition::<&[u8], &[u8]>::new(table);
            let mut t = txn.open_table(definition).map_err(|e| fail(&e))?;
            change(&mut t).map_err(|e| fail(&e))?;
        }
        txn.commit().map_err(|e| fail(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_mode_keeps_nothing() {
        let p = Persist::memory();
        p.put("t", b"k", b"v").unwrap();
        assert!(p.load("t").is_empty());
        assert!(!p.is_durable());
    }

    #[test]
    fn durable_mode_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let p = Persist::open(dir.path()).unwrap();
            p.put("t", b"b", b"2").unwrap();
            p.put("t", b"a", b"1").unwrap();
            p.put("other", b"x", b"y").unwrap();
            p.remove("other", b"x").unwrap();
            p.remove("missing-table", b"x").unwrap();
        }
        let p = Persist::open(dir.path()).unwrap();
        assert_eq!(p.load("t"), vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
        assert!(p.load("other").is_empty());
        assert!(p.load("never").is_empty());
    }
}
