//! Why the spool could not be opened.

use std::path::PathBuf;

/// What [`RedbSpool::open`](crate::RedbSpool::open) reports when it cannot open the spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolOpenError {
    /// The spool's directory could not be created.
    #[error("cannot create the webhook spool directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The database file could not be opened or created (permissions, another process holds
    /// it, not a redb file, corrupt beyond repair).
    #[error("cannot open the webhook spool database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: Box<redb::DatabaseError>,
    },
    /// The database opened but its tables could not be created or read.
    #[error("cannot initialise the webhook spool database {path}: {source}")]
    Init {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        source: Box<redb::Error>,
    },
}
