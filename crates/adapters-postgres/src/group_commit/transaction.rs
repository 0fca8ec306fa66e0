//! The webhook's transaction in one round trip: `BEGIN`, the statement and `COMMIT` are sent
//! together (pipelined) and answered together.
//!
//! Why a transaction at all: a statement on its own commits when the server reaches the
//! protocol's Sync, after its rows; rows past the server's send buffer (8 KiB, a few messages
//! of a batch) reach the client before that commit, and the client's query ends with the
//! rows. Killed in between, PostgreSQL would lose a batch the webhooks had already
//! acknowledged. `COMMIT`'s own answer comes after the commit is durable.
//!
//! Why pipelined: `AsyncConnection::transaction` spends a round trip on `BEGIN` and another on
//! `COMMIT`, and each is a wake-up of the backend and of the flusher on a busy machine: with
//! them, the flushers waited on three round trips per batch while the machine was only about
//! 70 % busy.
//!
//! Why it is safe: every part is a prepared statement of diesel's cache, and diesel-async
//! sends a prepared statement while it holds the cache's lock, which tokio grants in request
//! order (its mutex is fair); `join!` polls the three in order, so they reach the server in
//! order even when one of them must be prepared first (a simple-protocol `COMMIT` would skip
//! that queue and could overtake the statement). Each part ends with its own Sync, so when
//! the statement fails, the server skips only the statement, and `COMMIT` in the failed
//! transaction rolls it back (answering `ROLLBACK`, not an error): the statement's error is
//! the answer, nothing of it is kept, and the connection leaves with no transaction open.

use std::future::Future;

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// `BEGIN` and `COMMIT` as cached prepared statements (see the module documentation for why
/// not `batch_execute`): one type each, as diesel's cache keys statements by type.
#[derive(Debug, Clone, Copy, QueryId)]
struct Begin;

#[derive(Debug, Clone, Copy, QueryId)]
struct Commit;

impl QueryFragment<Pg> for Begin {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("BEGIN");
        Ok(())
    }
}

impl QueryFragment<Pg> for Commit {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("COMMIT");
        Ok(())
    }
}

/// Runs `statement` between `BEGIN` and `COMMIT`, all three in one round trip, and answers its
/// result once the commit is durable. `statement` must be one query on `conn`, not yet polled,
/// that sends itself when first polled: a second query in it would follow the `COMMIT`.
pub(super) async fn in_one_round_trip<T>(
    conn: &AsyncPgConnection,
    statement: impl Future<Output = Result<T, DieselError>>,
) -> Result<T, DieselError> {
    let (mut before, mut after) = (conn, conn);
    let (began, done, committed) =
        futures::join!(Begin.execute(&mut before), statement, Commit.execute(&mut after));
    match (began, done, committed) {
        (Ok(_), Ok(value), Ok(_)) => Ok(value),
        // The statement's own error says what went wrong (and whether to retry); its
        // transaction was rolled back by the `COMMIT`.
        (_, Err(error), _) => Err(error),
        (Err(error), Ok(_), _) => Err(error),
        (Ok(_), Ok(_), Err(error)) => {
            // A `COMMIT` the server answered ended the transaction either way; one it never
            // answered may leave it open on a connection that is still up, and a pooled
            // connection must not carry it into the next use.
            if !matches!(error, DieselError::DatabaseError(..)) {
                let mut conn = conn;
                let _ = conn.batch_execute("ROLLBACK").await;
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::dsl::sql;
    use diesel::sql_types::Int8;
    use diesel_async::AsyncConnection;

    use super::*;

    async fn connect() -> AsyncPgConnection {
        let url =
            std::env::var("DATABASE_URL").expect("DATABASE_URL names a PostgreSQL server (scripts/test)");
        AsyncPgConnection::establish(&url).await.expect("PostgreSQL answers")
    }

    /// A statement PostgreSQL runs only inside a transaction block (`BEGIN` … `COMMIT`), and
    /// refuses on its own: whether it succeeds says which of the two it ran in.
    fn needs_a_transaction_block() -> diesel::query_builder::SqlQuery {
        diesel::sql_query("LOCK TABLE pg_class IN ACCESS SHARE MODE")
    }

    async fn outside_any_transaction(conn: &AsyncPgConnection) -> bool {
        let mut conn = conn;
        match needs_a_transaction_block().execute(&mut conn).await {
            Err(error) => error.to_string().contains("can only be used in transaction blocks"),
            Ok(_) => false,
        }
    }

    #[tokio::test]
    async fn a_statement_prepared_on_first_use_still_runs_between_begin_and_commit() {
        // A fresh connection: BEGIN, the statement and COMMIT are each prepared first, and the
        // statement is one diesel does not cache (prepared again on every use).
        let conn = connect().await;
        for _ in 0..3 {
            let mut shared = &conn;
            let locked = in_one_round_trip(&conn, needs_a_transaction_block().execute(&mut shared)).await;
            locked.expect("the statement ran inside the transaction");
        }
        assert!(outside_any_transaction(&conn).await, "COMMIT ended the transaction");
    }

    #[tokio::test]
    async fn a_failing_statement_answers_its_error_and_leaves_no_transaction_open() {
        let conn = connect().await;
        let table = format!("pipelined_{}", uuid::Uuid::now_v7().simple());
        let mut shared = &conn;
        shared.batch_execute(&format!("CREATE TABLE {table} (n int8 PRIMARY KEY)")).await.expect("table");

        let insert = |n: i64| diesel::sql_query(format!("INSERT INTO {table} VALUES ({n}), (1 / ({n} - 2))"));
        let stored = in_one_round_trip(&conn, insert(1).execute(&mut shared)).await;
        assert_eq!(stored.expect("the first insert commits"), 2);
        let failed = in_one_round_trip(&conn, insert(2).execute(&mut shared)).await;
        let error = failed.expect_err("division by zero fails the statement");
        assert!(error.to_string().contains("division by zero"), "the statement's own error: {error}");

        // Nothing of the failed statement is kept, the committed one is durable and seen by
        // another session, and this connection is outside any transaction.
        assert!(outside_any_transaction(&conn).await, "no transaction is left open, aborted or not");
        let mut other = connect().await;
        let rows: i64 = diesel::select(sql::<Int8>(&format!("(SELECT count(*) FROM {table})")))
            .get_result(&mut other)
            .await
            .expect("count");
        assert_eq!(rows, 2, "the first insert's two rows, none of the second's");
        other.batch_execute(&format!("DROP TABLE {table}")).await.expect("drop");
    }
}
