//! Where the spool lives and how large it may grow.

use std::path::PathBuf;

use serde::Deserialize;

/// The spool's configuration section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SpoolSettings {
    /// The directory holding the database file (`webhooks.redb`); created if missing.
    pub dir: PathBuf,
    /// The bound: the most bytes the waiting entries may take, counted as their serialized
    /// length (the file itself is larger: B-tree pages, free space, dead letters). A push that
    /// would go past it is refused with [`ports::SpoolError::Full`].
    pub max_bytes: u64,
}

impl SpoolSettings {
    /// The database file's name inside [`dir`](Self::dir).
    pub const FILE_NAME: &'static str = "webhooks.redb";

    /// The path of the database file.
    #[must_use]
    pub fn file_path(&self) -> PathBuf {
        self.dir.join(Self::FILE_NAME)
    }
}
