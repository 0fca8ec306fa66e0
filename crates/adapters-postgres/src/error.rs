//! How database failures become the ports' [`StoreError`]: classified once, here, so that no
//! layer above ever sees a constraint, index or table name, and "try again" is said only when
//! trying again can help.
//!
//! | failure | becomes |
//! | --- | --- |
//! | no connection from the pool, connection lost, statement or lock timeout, serialization failure, deadlock, shutdown, too many connections, read-only standby | [`StoreError::Unavailable`] |
//! | a value the database refuses: class 22 data exceptions, check and not-null violations | [`StoreError::Invalid`], naming the field when the constraint or column tells it |
//! | a unique violation | [`StoreError::Conflict`] with the [`ConflictKind`] of its constraint |
//! | a foreign key violation (a referenced row of the tenant is missing) | [`StoreError::NotFound`] |
//! | a stored row that does not read back | [`StoreError::Corrupt`] |
//! | anything else | [`StoreError::Internal`], with everything the database said, for the log |
//!
//! **Where the SQLSTATE goes.** diesel gives six SQLSTATEs a [`DatabaseErrorKind`] (unique,
//! foreign key, not-null and check violations, serialization failure, read-only transaction).
//! diesel-async's tokio-postgres backend reports every other server error as `Unknown`, keeping
//! the message, table, column and constraint but not the code (diesel-async 0.9,
//! `pg/error_helper.rs`: `DatabaseErrorInformation` has no code, and its private wrapper cannot be
//! downcast). Errors without a code at all (the connection closed or failed) arrive as
//! `UnableToSendCommand`. So for `Unknown` the primary message is the only signal left: it is
//! matched against PostgreSQL's untranslated texts ([`message_text`]). A server answering in
//! another language (`lc_messages` translated) makes those errors internal: logged in full,
//! answered 500, never mistaken for bad input.

mod constraints;
mod message_text;

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use ports::{ConflictKind, StoreError};

use message_text::Recognised;

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

/// Classifies a diesel error (see the module documentation). Never panics.
pub(crate) fn map_diesel(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(kind, info) => database(kind, info.as_ref()),
        // A failed COMMIT (a serialization failure found at commit, a connection lost) says
        // what happened; the rollback after it only follows from it.
        DieselError::RollbackErrorOnCommit { commit_error, .. } => map_diesel(*commit_error),
        // The connection's transaction state was lost, as after a connection failure mid-way;
        // the pool drops such a connection.
        DieselError::BrokenTransactionManager => StoreError::Unavailable(error.to_string()),
        DieselError::InvalidCString(_) => {
            StoreError::Invalid { field: None, reason: "contains the NUL character, which cannot be stored" }
        }
        DieselError::DeserializationError(e) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Internal(other.to_string()),
    }
}

fn database(kind: DatabaseErrorKind, info: &(dyn DatabaseErrorInformation + Send + Sync)) -> StoreError {
    match kind {
        DatabaseErrorKind::UniqueViolation => {
            StoreError::Conflict(constraints::conflict_kind(info.constraint_name()))
        }
        // Every foreign key includes owner_id: the referenced row is not the tenant's.
        DatabaseErrorKind::ForeignKeyViolation => StoreError::NotFound,
        DatabaseErrorKind::RestrictViolation | DatabaseErrorKind::ExclusionViolation => {
            StoreError::Conflict(ConflictKind::Other)
        }
        DatabaseErrorKind::CheckViolation => constraints::check_violation(info.constraint_name()),
        DatabaseErrorKind::NotNullViolation => StoreError::Invalid {
            field: info.column_name().and_then(constraints::api_field),
            reason: "is required",
        },
        // Serialization failures give way to a concurrent transaction; a read-only transaction
        // means the server became a standby (a failover); the last two are errors without any
        // SQLSTATE: the connection closed or could not be used. All of them pass.
        DatabaseErrorKind::SerializationFailure
        | DatabaseErrorKind::ReadOnlyTransaction
        | DatabaseErrorKind::UnableToSendCommand
        | DatabaseErrorKind::ClosedConnection => StoreError::Unavailable(describe(info)),
        _ => match message_text::recognise(info.message()) {
            Some(Recognised::Unavailable) => StoreError::Unavailable(describe(info)),
            Some(Recognised::Invalid(reason)) => StoreError::Invalid { field: None, reason },
            None => StoreError::Internal(describe(info)),
        },
    }
}

/// Everything the database said, for the log (it may name tables and constraints: it never
/// reaches a client).
fn describe(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> String {
    let mut text = info.message().to_owned();
    let named = [
        ("table", info.table_name()),
        ("column", info.column_name()),
        ("constraint", info.constraint_name()),
        ("detail", info.details()),
        ("hint", info.hint()),
    ];
    for (what, value) in named {
        if let Some(value) = value {
            text.push_str(&format!(" ({what}: {value})"));
        }
    }
    text
}

/// A stored value that no longer parses into its domain type.
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What PostgreSQL reports, as diesel hands it over.
    #[derive(Default)]
    struct Reported {
        message: &'static str,
        column: Option<&'static str>,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Reported {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            self.column
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn classify(kind: DatabaseErrorKind, reported: Reported) -> StoreError {
        map_diesel(DieselError::DatabaseError(kind, Box::new(reported)))
    }

    fn constraint(name: &'static str) -> Reported {
        Reported { message: "violates", constraint: Some(name), ..Reported::default() }
    }

    fn message(text: &'static str) -> Reported {
        Reported { message: text, ..Reported::default() }
    }

    #[test]
    fn unique_violations_are_conflicts_named_by_what_is_taken() {
        let cases = [
            ("users_owner_id_email_key", ConflictKind::EmailTaken),
            ("owners_email_key", ConflictKind::EmailTaken),
            ("twilio_accounts_account_sid_key", ConflictKind::AccountSidTaken),
            ("messages_provider_sid_idx", ConflictKind::MessageSidTaken),
            ("api_keys_key_hash_key", ConflictKind::Other),
            ("users_pkey", ConflictKind::Other),
        ];
        for (name, kind) in cases {
            assert_eq!(
                classify(DatabaseErrorKind::UniqueViolation, constraint(name)),
                StoreError::Conflict(kind)
            );
        }
        let unnamed = Reported { message: "duplicate key", ..Reported::default() };
        assert_eq!(
            classify(DatabaseErrorKind::UniqueViolation, unnamed),
            StoreError::Conflict(ConflictKind::Other)
        );
    }

    #[test]
    fn refused_values_are_invalid_naming_the_field_only_when_known() {
        let too_long = classify(DatabaseErrorKind::CheckViolation, constraint("users_name_check"));
        assert_eq!(
            too_long,
            StoreError::Invalid { field: Some("name"), reason: "must have 1 to 200 characters" }
        );
        let score = classify(DatabaseErrorKind::CheckViolation, constraint("ai_results_score_check"));
        assert!(matches!(score, StoreError::Invalid { field: Some("score"), .. }), "{score:?}");
        // The number columns share one domain: which of them is at fault is not known.
        let phone = classify(DatabaseErrorKind::CheckViolation, constraint("conversa_e164_check"));
        assert!(matches!(phone, StoreError::Invalid { field: None, .. }), "{phone:?}");
        let unknown = classify(DatabaseErrorKind::CheckViolation, constraint("conversations_check"));
        assert!(matches!(unknown, StoreError::Invalid { field: None, .. }), "{unknown:?}");

        let null = |column| Reported { message: "null value", column: Some(column), ..Reported::default() };
        assert_eq!(
            classify(DatabaseErrorKind::NotNullViolation, null("email")),
            StoreError::Invalid { field: Some("email"), reason: "is required" }
        );
        let internal_column = classify(DatabaseErrorKind::NotNullViolation, null("auth_token_encrypted"));
        assert_eq!(internal_column, StoreError::Invalid { field: None, reason: "is required" });
    }

    #[test]
    fn the_feature_limit_trigger_is_the_typed_limit() {
        assert_eq!(
            classify(DatabaseErrorKind::CheckViolation, constraint("features_per_tenant_limit")),
            StoreError::LimitReached { what: "features", limit: domain::MAX_FEATURES_PER_TENANT }
        );
    }

    #[test]
    fn data_exceptions_without_a_kind_are_invalid_by_their_message() {
        let cases = [
            "value too long for type character varying(2)",
            "integer out of range",
            "numeric field overflow",
            "invalid input syntax for type uuid: \"x\"",
            "date/time field value out of range: \"2020-13-01\"",
            "timestamp out of range",
            "invalid byte sequence for encoding \"UTF8\": 0x00",
            "unsupported Unicode escape sequence",
            "character with byte sequence 0xe2 0x82 0xac in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\"",
        ];
        for text in cases {
            let error = classify(DatabaseErrorKind::Unknown, message(text));
            assert!(matches!(error, StoreError::Invalid { field: None, .. }), "{text}: {error:?}");
        }
    }

    #[test]
    fn only_failures_that_may_pass_are_unavailable() {
        let passing = [
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
            "deadlock detected",
            "terminating connection due to administrator command",
            "the database system is shutting down",
            "sorry, too many clients already",
        ];
        for text in passing {
            let error = classify(DatabaseErrorKind::Unknown, message(text));
            assert!(matches!(error, StoreError::Unavailable(_)), "{text}: {error:?}");
        }
        for kind in [
            DatabaseErrorKind::SerializationFailure,
            DatabaseErrorKind::ReadOnlyTransaction,
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ClosedConnection,
        ] {
            let error = classify(kind, message("connection closed"));
            assert!(matches!(error, StoreError::Unavailable(_)), "{kind:?}: {error:?}");
        }
        let broken = map_diesel(DieselError::BrokenTransactionManager);
        assert!(matches!(broken, StoreError::Unavailable(_)), "{broken:?}");
    }

    #[test]
    fn anything_else_is_internal_with_all_the_database_said() {
        let denied = Reported {
            message: "new row violates row-level security policy for table \"users\"",
            ..Reported::default()
        };
        let StoreError::Internal(text) = classify(DatabaseErrorKind::Unknown, denied) else {
            panic!("a refused permission is the service's fault");
        };
        assert!(text.contains("row-level security"), "{text}");
        // A translated message is not guessed at.
        let translated = message("cancelando a instrução devido ao tempo de espera");
        assert!(matches!(classify(DatabaseErrorKind::Unknown, translated), StoreError::Internal(_)));
        let misuse = map_diesel(DieselError::AlreadyInTransaction);
        assert!(matches!(misuse, StoreError::Internal(_)), "{misuse:?}");
        assert_eq!(map_diesel(DieselError::NotFound), StoreError::NotFound);
    }

    #[test]
    fn a_failed_commit_is_classified_by_why_it_failed() {
        let commit_error = DieselError::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new(message("could not serialize access due to concurrent update")),
        );
        let failed = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(DieselError::BrokenTransactionManager),
            commit_error: Box::new(commit_error),
        };
        assert!(matches!(map_diesel(failed), StoreError::Unavailable(_)));
    }
}
