//! PostgreSQL's errors that diesel-async hands over without their SQLSTATE, recognised by their
//! primary message as PostgreSQL writes it untranslated (the texts of its `errmsg` calls, as
//! of PostgreSQL 15; older and newer servers keep these). Each pattern names the SQLSTATEs it
//! stands for.

/// What an `Unknown` database error turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recognised {
    /// Retrying later may help.
    Unavailable,
    /// The value cannot be stored; why, in the API's words.
    Invalid(&'static str),
}

/// Messages that start with these: the statement or the connection was ended from outside, or
/// the server cannot take work now.
const UNAVAILABLE_PREFIXES: &[&str] = &[
    // 57014 statement timeout or cancel request, 55P03 lock timeout, 40001 recovery conflict.
    "canceling statement due to ",
    // 57P01 administrator command, 57P02 crash of another backend, 25P03/57P05 idle timeouts.
    "terminating connection ",
    // 57P03: shutting down, starting up, in recovery mode, not (yet) accepting connections.
    "the database system is ",
    // 40P01.
    "deadlock detected",
    // 53300.
    "sorry, too many clients already",
    "too many connections for ",
    "remaining connection slots are reserved",
    // 08xxx raised by the server itself.
    "connection to client lost",
    "could not receive data from client",
    "could not send data to client",
];

/// Class 22 data exceptions, by a phrase of their message, with what to tell the client.
const INVALID_PHRASES: &[(&str, &str)] = &[
    // 22021, 22P05 (and 54000 for a NUL made in SQL): text that cannot be kept in the
    // database's encoding, NUL included.
    ("invalid byte sequence for encoding", "contains characters that cannot be stored"),
    ("has no equivalent in encoding", "contains characters that cannot be stored"),
    ("unsupported Unicode escape sequence", "contains characters that cannot be stored"),
    ("null character not permitted", "contains characters that cannot be stored"),
    // 22001.
    ("value too long for type", "is too long"),
    // 22003 numbers, 22008 dates and times ("integer out of range", "timestamp out of range",
    // "value … is out of range for type …", "date/time field value out of range").
    ("out of range", "is out of range"),
    ("numeric field overflow", "is out of range"),
    ("value overflows numeric format", "is out of range"),
    // 22P02, 22007.
    ("invalid input syntax for type", "is not in a form that can be stored"),
    ("invalid input value for enum", "is not in a form that can be stored"),
    // 22012.
    ("division by zero", "is out of range"),
];

pub(super) fn recognise(message: &str) -> Option<Recognised> {
    if UNAVAILABLE_PREFIXES.iter().any(|prefix| message.starts_with(prefix)) {
        return Some(Recognised::Unavailable);
    }
    INVALID_PHRASES
        .iter()
        .find(|(phrase, _)| message.contains(phrase))
        .map(|(_, reason)| Recognised::Invalid(reason))
}
