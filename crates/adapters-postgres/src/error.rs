//! How database failures become the ports' [`StoreError`].

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use ports::StoreError;

/// An error inside an adapter transaction: a diesel error, or a decision already expressed as
/// a [`StoreError`] (which rolls the transaction back like any other error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TxError {
    #[error(transparent)]
    Diesel(#[from] DieselError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<domain::LifecycleError> for TxError {
    fn from(error: domain::LifecycleError) -> Self {
        Self::Store(error.into())
    }
}

impl From<TxError> for StoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Store(store) => store,
            TxError::Diesel(diesel) => map_diesel(diesel),
        }
    }
}

/// Unique violations are conflicts, missing rows are not-found, a broken connection is
/// unavailability; anything else is reported as unavailable too (with its message), never a panic.
pub(crate) fn map_diesel(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(info.constraint_name().unwrap_or("unique constraint").to_owned())
        }
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => StoreError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, info) => StoreError::Rejected(format!(
            "check constraint {} refused the row",
            info.constraint_name().unwrap_or("?")
        )),
        DieselError::DeserializationError(e) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// A stored value that no longer parses into its domain type.
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}
