//! The accept loop. It is written out rather than left to `axum::serve` so that a
//! handler can close its own connection without a response (the drop-connection
//! fault), and so that paths are normalised before routing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Uri};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::Instrument;

/// How long open connections get to finish once shutdown starts.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// Lets a handler ask for its connection to be closed; put into every request's
/// extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    pub(crate) fn fire(&self) {
        self.0.notify_one();
    }
}

/// Serves `app` on `listener` until `stop` turns true (or its sender is dropped).
pub(crate) async fn serve(listener: TcpListener, app: Router, stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut stop_signal = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, app.clone(), stop.clone()));
                }
                Err(error) => tracing::warn!(%error, "accepting a connection failed"),
            },
            _ = stop_signal.wait_for(|stopping| *stopping) => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drain(connections).await;
}

async fn drain(mut connections: JoinSet<()>) {
    let all_done = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_DEADLINE, all_done)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain deadline were closed");
    }
}

async fn serve_connection(stream: TcpStream, app: Router, mut stop: watch::Receiver<bool>) {
    let kill = ConnectionKill::default();
    let service = {
        let kill = kill.clone();
        service_fn(move |request| handle(app.clone(), kill.clone(), request))
    };
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            () = kill.0.notified() => {
                tracing::debug!("closing a connection without a response");
                break;
            }
            _ = stop.wait_for(|stopping| *stopping), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Routes one request, with the connection's kill switch in its extensions.
async fn handle(
    app: Router,
    kill: ConnectionKill,
    request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let mut request = request.map(Body::new);
    normalise_path(&mut request);
    request.extensions_mut().insert(kill);
    let method = request.method().clone();
    let span = tracing::debug_span!("request", %method, path = %request.uri().path());
    let response = app.oneshot(request).instrument(span.clone()).await?;
    let response = super::method_not_allowed_body(&method, response);
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "answered"));
    Ok(response)
}

/// Salesforce answers the same resource with or without a trailing slash
/// (`…/describe/` and `…/describe`), so the slash is dropped before routing.
fn normalise_path(request: &mut Request<Body>) {
    let path = request.uri().path();
    if path.len() <= 1 || !path.ends_with('/') {
        return;
    }
    let trimmed = path.trim_end_matches('/');
    let rebuilt = match request.uri().query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_string(),
    };
    if let Ok(uri) = rebuilt.parse::<Uri>() {
        *request.uri_mut() = uri;
    }
}
