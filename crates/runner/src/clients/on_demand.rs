//! Serving clients one case at a time, for cases made up as the run goes (the client fuzzer).
//!
//! [`ClientConnections`] is the listener of [`super::serve_clients`] without its fixed case list:
//! whoever runs a case asks for a [`PendingConnection`], which has a fresh number and the case's
//! `runCase` URL (`/runCase?case=N&agent=A`), makes a client open that URL (an `--exec` command
//! through [`super::run_client_command`], or an in-process client), and receives the accepted
//! connection, ready for [`crate::drive::run_client_case`]. Every other request, and a `runCase` that
//! nothing waits for (any more), is answered with an HTTP error. TLS, the request head's deadline
//! and the handling of malformed heads are those of `wsspec client`.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_rustls::TlsAcceptor;

use super::{
    Arrived, ConnectionHandler, Read, Route, accept_loop, agent, http_error, read_request,
};
use crate::{
    drive::Accepted,
    transport::{Channel, Reader, Writer},
};

/// The most `Sec-WebSocket-Key`s remembered to catch a client that reuses one; then the memory
/// starts over.
const MAX_KEYS: usize = 100_000;

/// A listener that hands each client connection to the case waiting for it. Dropping it stops
/// the listener.
pub struct ClientConnections {
    base_url: String,
    waiting: Arc<Waiting>,
    accepting: JoinHandle<()>,
}

/// The cases waiting for their client, by number, and the keys clients have sent.
#[derive(Default)]
struct Waiting {
    next: AtomicU64,
    senders: Mutex<HashMap<u64, oneshot::Sender<(Accepted, bool)>>>,
    keys: Mutex<HashSet<String>>,
    handshake_timeout: Duration,
}

/// A case waiting for its client to connect to [`PendingConnection::url`].
pub struct PendingConnection {
    number: u64,
    url: String,
    receiver: oneshot::Receiver<(Accepted, bool)>,
    waiting: Arc<Waiting>,
}

impl ClientConnections {
    /// Starts serving `listener` (with TLS, when given an acceptor) on a task of its own. A client
    /// has `handshake_timeout` to send its request head.
    pub fn start(
        listener: TcpListener,
        tls: Option<TlsAcceptor>,
        handshake_timeout: Duration,
    ) -> std::io::Result<ClientConnections> {
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        let base_url = format!("{scheme}://{}", listener.local_addr()?);
        let waiting = Arc::new(Waiting {
            handshake_timeout,
            ..Waiting::default()
        });
        let accepting = tokio::spawn(accept_loop(listener, waiting.clone(), tls));
        Ok(ClientConnections {
            base_url,
            waiting,
            accepting,
        })
    }

    /// The listener's URL, such as `ws://127.0.0.1:9001`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Waits for one more client connection, from `agent`: its URL is [`PendingConnection::url`].
    pub fn expect(&self, agent: &str) -> PendingConnection {
        let number = self.waiting.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = oneshot::channel();
        self.waiting.senders().insert(number, sender);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("case", &number.to_string())
            .append_pair("agent", agent)
            .finish();
        PendingConnection {
            number,
            url: format!("{}/runCase?{query}", self.base_url),
            receiver,
            waiting: self.waiting.clone(),
        }
    }
}

impl Drop for ClientConnections {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl PendingConnection {
    /// The URL the client must open.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client's connection once its request head has arrived, and whether it used a
    /// `Sec-WebSocket-Key` seen before; `None` if the listener stopped.
    pub async fn connection(&mut self) -> Option<(Accepted, bool)> {
        (&mut self.receiver).await.ok()
    }
}

impl Drop for PendingConnection {
    fn drop(&mut self) {
        self.waiting.senders().remove(&self.number);
    }
}

impl Waiting {
    fn senders(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<(Accepted, bool)>>> {
        self.senders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `key`, and tells whether it was seen before.
    fn seen_before(&self, key: &str) -> bool {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        !keys.insert(key.to_owned())
    }
}

impl ConnectionHandler for Waiting {
    fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    async fn serve(self: Arc<Self>, mut reader: Reader, mut writer: Writer, channel: Channel) {
        // A case made up as the run goes has no verdict of its own to give an unfinished head.
        let Read::Arrived(Arrived {
            request,
            head,
            leftover,
        }) = read_request(&mut reader, &mut writer, self.handshake_timeout).await
        else {
            return;
        };
        let number = match Route::of(&request) {
            Route::RunCase(query) => match (query.get("case"), agent(&query)) {
                (Some(case), Ok(_)) => case.parse::<u64>().ok(),
                _ => None,
            },
            _ => None,
        };
        let sender = number.and_then(|number| self.senders().remove(&number));
        let Some(sender) = sender else {
            let why = "no case is waiting for this URL: open the runCase URL wsspec gave, once";
            // The client may be gone already; nothing to report to.
            let _ = http_error(&mut writer, 404, "Not Found", why).await;
            return;
        };
        let key = request
            .header("sec-websocket-key")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let seen_before = self.seen_before(&key);
        let accepted = Accepted {
            reader,
            writer,
            request,
            head,
            leftover,
            channel,
        };
        // The case may have given up waiting in the meantime; the connection then closes.
        let _ = sender.send((accepted, seen_before));
    }
}
