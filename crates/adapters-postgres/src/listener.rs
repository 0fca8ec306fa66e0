//! One `LISTEN` connection per use, kept up: reconnects after a lost connection with a capped
//! backoff, and tells its handler when it (re)connects and when it loses the connection, since
//! notifications sent meanwhile are lost and the handler must assume it missed some.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;

/// What the listener heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Heard<'a> {
    /// Listening (again): notifications may have been missed before.
    Connected,
    /// A notification, with its payload.
    Notification(&'a str),
    /// The connection is lost: notifications may be missed until the next `Connected`.
    Lost,
}

/// Listens on `channel` at `url` until the task is aborted, calling `on` for what it hears.
pub(crate) async fn listen(url: String, channel: &'static str, mut on: impl FnMut(Heard<'_>) + Send) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match AsyncPgConnection::establish(&url).await {
            Ok(mut conn) => {
                let listening = diesel::sql_query(format!("LISTEN {channel}")).execute(&mut conn).await;
                if let Err(error) = listening {
                    tracing::warn!(%error, channel, "cannot listen");
                } else {
                    backoff = Duration::from_millis(250);
                    on(Heard::Connected);
                    tracing::debug!(channel, "listening");
                    let mut notifications = std::pin::pin!(conn.notifications_stream());
                    while let Some(notification) = notifications.next().await {
                        match notification {
                            Ok(notification) => on(Heard::Notification(&notification.payload)),
                            Err(error) => {
                                tracing::warn!(%error, channel, "notifications failed");
                                break;
                            }
                        }
                    }
                    on(Heard::Lost);
                }
            }
            Err(error) => tracing::debug!(%error, channel, "cannot connect to listen"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
