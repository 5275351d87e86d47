//! Connections: accepting them, bounding how many are open and how long
//! each may idle or dribble, and closing them on shutdown.
//!
//! A connection costs a file descriptor and a task whether or not it ever
//! sends a request, so a client that opens many and sends nothing (or one
//! header byte a second) could use up the daemon's descriptors and starve
//! real requests. Three bounds stop that:
//! - `[limits] header_timeout`: a request's headers must arrive within it,
//!   counted from their first byte;
//! - `[limits] idle_timeout`: a connection with no request under way is
//!   closed after that long without a byte;
//! - `[limits] max_connections` (lowered to what the process's descriptor
//!   limit allows): when it is reached, a new connection takes the place of
//!   the one that has waited longest without a request under way, so a
//!   flood of idle or dribbling connections cannot keep a real one out.
//!
//! HTTP/1.1 only. hyper answers requests it cannot parse by itself, with a
//! bare status; [`Watched`] gives those answers the API's JSON error body.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::server::error::ErrorCode;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Counters of connections, for metrics.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    pub accepted: AtomicU64,
    /// Closed to make room for a new one at `max_connections`.
    pub evicted: AtomicU64,
    /// Closed by `header_timeout` or `idle_timeout`.
    pub timed_out: AtomicU64,
    /// Closed at once: at `max_connections`, with every one busy.
    pub refused: AtomicU64,
    /// Errors accepting (e.g. out of file descriptors).
    pub accept_errors: AtomicU64,
}

/// One open connection, as the registry sees it.
struct Conn {
    /// Requests being handled on it.
    in_flight: AtomicUsize,
    /// Milliseconds (since the registry's start) since which it has had no
    /// request under way.
    idle_since: AtomicU64,
    /// Milliseconds since the first byte of a request whose headers are
    /// still arriving; 0: none.
    reading_since: AtomicU64,
    /// Close now (evicted, timed out).
    close: Notify,
}

/// The open connections.
pub struct Connections {
    limits: ConnectionLimits,
    started: Instant,
    /// Held only to add, remove or scan; never across an await.
    open: Mutex<Vec<(u64, Arc<Conn>)>>,
    next_id: AtomicU64,
    /// Wakes the connections to finish gracefully (shutdown).
    shutdown: Notify,
    pub counts: ConnectionCounts,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Connections {
            limits,
            started: Instant::now(),
            open: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            shutdown: Notify::new(),
            counts: ConnectionCounts::default(),
        })
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.lock().map(|open| open.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        // Never 0, which `reading_since` uses for "not reading".
        self.started.elapsed().as_millis() as u64 + 1
    }

    /// Registers a new connection, making room at the limit; `None` when
    /// every open connection has a request under way.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut open = self.open.lock().ok()?;
        if open.len() >= self.limits.max {
            let victim = open
                .iter()
                .filter(|(_, c)| c.in_flight.load(Ordering::Relaxed) == 0)
                .min_by_key(|(_, c)| waiting_since(c))
                .map(|(id, c)| (*id, c.clone()));
            let (id, victim) = victim?;
            open.retain(|(other, _)| *other != id);
            victim.close.notify_one();
            self.counts.evicted.fetch_add(1, Ordering::Relaxed);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now()),
            reading_since: AtomicU64::new(0),
            close: Notify::new(),
        });
        open.push((id, conn.clone()));
        Some((id, conn))
    }

    fn remove(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.retain(|(other, _)| *other != id);
        }
    }

    /// Closes the connections past their header or idle timeout.
    fn sweep(&self) {
        let now = self.now();
        let header = self.limits.header_timeout.as_millis() as u64;
        let idle = self.limits.idle_timeout.as_millis() as u64;
        let Ok(open) = self.open.lock() else {
            return;
        };
        for (_, conn) in open.iter() {
            if conn.in_flight.load(Ordering::Relaxed) > 0 {
                continue;
            }
            let reading = conn.reading_since.load(Ordering::Relaxed);
            let expired = if reading > 0 {
                now.saturating_sub(reading) > header
            } else {
                now.saturating_sub(conn.idle_since.load(Ordering::Relaxed)) > idle
            };
            if expired {
                conn.close.notify_one();
                self.counts.timed_out.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Since when a connection has waited without a request under way.
fn waiting_since(conn: &Conn) -> u64 {
    match conn.reading_since.load(Ordering::Relaxed) {
        0 => conn.idle_since.load(Ordering::Relaxed),
        reading => reading,
    }
}

/// Accepts connections on `listener` and serves `app` on each until
/// `shutdown` completes; then stops accepting, lets each connection finish
/// its request in flight, and returns when all are closed or `grace` has
/// passed (returning `false` then).
pub async fn serve<A>(
    listener: TcpListener,
    connections: Arc<Connections>,
    app: A,
    shutdown: impl Future<Output = ()> + Send,
    grace: Duration,
) -> bool
where
    A: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send + 'static,
{
    let sweeper = {
        let connections = connections.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                connections.sweep();
            }
        })
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                connections
                    .counts
                    .accept_errors
                    .fetch_add(1, Ordering::Relaxed);
                // Out of descriptors: say so once a second at most, and
                // give the sweeper and closing connections time.
                if last_accept_error.is_none_or(|at| at.elapsed() > Duration::from_secs(1)) {
                    tracing::warn!(%error, open = connections.len(), "cannot accept a connection");
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        connections.counts.accepted.fetch_add(1, Ordering::Relaxed);
        let Some((id, conn)) = connections.admit() else {
            connections.counts.refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_one(
            stream,
            id,
            conn,
            connections.clone(),
            app.clone(),
        ));
    }
    drop(listener);
    connections.shutdown.notify_waiters();
    let deadline = Instant::now() + grace;
    while !connections.is_empty() && Instant::now() < deadline {
        // Connections that had not yet started waiting for the signal when
        // it was sent are told again.
        connections.shutdown.notify_waiters();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sweeper.abort();
    connections.is_empty()
}

/// Serves one connection until it closes, is closed, or shutdown asks it
/// to finish.
async fn serve_one<A>(
    stream: TcpStream,
    id: u64,
    conn: Arc<Conn>,
    connections: Arc<Connections>,
    app: A,
) where
    A: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    A::Future: Send + 'static,
{
    let io = TokioIo::new(Watched {
        inner: stream,
        conn: conn.clone(),
        connections: connections.clone(),
        replacement: None,
    });
    let service = Dispatch {
        app,
        conn: conn.clone(),
        connections: connections.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header timer is a backstop; the sweeper applies the
    // configured timeouts.
    let limits = connections.limits();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout + limits.idle_timeout)
        .keep_alive(true)
        // A client may shut its sending side once the request is out (as
        // `nc -N` and some proxies do); by default hyper then drops the
        // connection, and the complaint is decided and recorded with
        // nobody told. The idle timeout still ends such connections.
        .half_close(true);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = conn.close.notified() => {}
        () = connections.shutdown.notified() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.as_mut().await;
        }
    }
    connections.remove(id);
}

/// Hands each request to the app, marking the connection busy meanwhile.
#[derive(Clone)]
struct Dispatch<A> {
    app: A,
    conn: Arc<Conn>,
    connections: Arc<Connections>,
}

impl<A> hyper::service::Service<hyper::Request<Incoming>> for Dispatch<A>
where
    A: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    A::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.conn.in_flight.fetch_add(1, Ordering::Relaxed);
        self.conn.reading_since.store(0, Ordering::Relaxed);
        let busy = Busy {
            conn: self.conn.clone(),
            connections: self.connections.clone(),
        };
        let mut app = self.app.clone();
        Box::pin(async move {
            // The router is always ready (axum's `Router::poll_ready`).
            let response = app.call(request.map(Body::new)).await;
            drop(busy);
            response
        })
    }
}

/// A request under way on a connection; when it ends (or is dropped), the
/// connection is idle again.
struct Busy {
    conn: Arc<Conn>,
    connections: Arc<Connections>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn
            .idle_since
            .store(self.connections.now(), Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's socket, watched: the first byte of a request starts its
/// header timeout, and hyper's bare answers to requests it cannot parse
/// get a JSON body.
struct Watched {
    inner: TcpStream,
    conn: Arc<Conn>,
    connections: Arc<Connections>,
    /// A JSON error response written in place of hyper's bare one, and how
    /// much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl Watched {
    /// Writes what is left of the replacement; ready when it is all out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written >= bytes.len() {
                break;
            }
            let n =
                std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let conn = &self.conn;
            if conn.in_flight.load(Ordering::Relaxed) == 0
                && conn.reading_since.load(Ordering::Relaxed) == 0
            {
                conn.reading_since
                    .store(self.connections.now(), Ordering::Relaxed);
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_replacement(cx))?;
        if self.replacement.is_none()
            && let Some(response) = json_for_bare_error(buf)
        {
            self.replacement = Some((response, 0));
            std::task::ready!(self.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        if self.replacement.is_some() {
            // Nothing else goes out after the replacement: hyper closes
            // the connection after an error answer.
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_replacement(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The JSON response to send instead of `head`, when `head` is hyper's own
/// answer to a request it could not parse: a status of 400 or more with no
/// body. The API's own errors always have a JSON body, so such a head can
/// only come from hyper.
fn json_for_bare_error(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    if status < 400 {
        return None;
    }
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let lower = head[..end].to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if !has(b"\r\ncontent-length: 0") || has(b"\r\ncontent-type:") || head.len() > end + 4 {
        return None;
    }
    let (code, message) = match status {
        431 => (
            ErrorCode::HeadersTooLarge,
            "the request's headers are larger than the daemon reads (about 400 KB, or more than 100 headers)",
        ),
        414 => (ErrorCode::UriTooLong, "the request's URI is too long"),
        _ => (
            ErrorCode::MalformedRequest,
            "the request is not valid HTTP/1.1 (its request line or a header could not be parsed)",
        ),
    };
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// Raises the process's soft limit on open files to its hard limit (as
/// servers commonly do: the soft default, often 1,024, is for interactive
/// programs), and returns the soft limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct
        // passed by pointer, which lives for the call.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        // `rlim_t` is `u64` on Linux but not on every Unix.
        #[allow(clippy::unnecessary_cast)]
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_errors_get_a_json_body_and_ours_do_not_change() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 03 Dec 2026 10:00:00 GMT\r\n\r\n";
        let replaced = String::from_utf8(json_for_bare_error(bare).unwrap()).unwrap();
        assert!(replaced.starts_with(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        ));
        let body = replaced.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "headers_too_large");
        let ours = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 80\r\n\r\n";
        assert!(json_for_bare_error(ours).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(json_for_bare_error(ok).is_none());
    }

    #[test]
    fn at_the_limit_the_longest_waiting_idle_connection_makes_room() {
        let connections = Connections::new(ConnectionLimits {
            max: 2,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
        });
        let (first, first_conn) = connections.admit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let (_second, second_conn) = connections.admit().unwrap();
        second_conn.in_flight.store(1, Ordering::Relaxed);
        let (_third, _) = connections.admit().unwrap();
        assert_eq!(connections.len(), 2);
        assert!(
            !connections
                .open
                .lock()
                .unwrap()
                .iter()
                .any(|(id, _)| *id == first),
            "the idle one made room"
        );
        drop(first_conn);
        // Both open ones now busy or new: with both busy, a fourth is refused.
        for (_, conn) in connections.open.lock().unwrap().iter() {
            conn.in_flight.store(1, Ordering::Relaxed);
        }
        assert!(connections.admit().is_none());
    }
}
