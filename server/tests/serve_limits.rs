//! The connection layer (`serve::run_with`) against a hostile network, on loopback:
//! slow and idle connections are closed after their timeout, connection caps hold, and a
//! normal client keeps being served throughout; refusals of the connection layer are
//! JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use passkey_magic_server::{Auth, http, serve};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

/// Short timeouts so the test runs quickly; waits below are bounds that only fail on a
/// hang, never assertions on elapsed time.
const TIMEOUT: Duration = Duration::from_millis(400);
/// Far longer than any timeout: a connection still open after this is never closed.
const HANG: Duration = Duration::from_secs(20);
const PER_ADDRESS: usize = 40;

async fn start(config: serve::ServeConfig) -> (SocketAddr, oneshot::Sender<()>) {
    let auth: Auth = Auth::builder("localhost", "http://localhost:8787")
        .unwrap()
        .build()
        .unwrap();
    let app = axum::Router::new().nest("/auth", http::router(auth));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve::run_with(listener, app, config, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

fn flood_config() -> serve::ServeConfig {
    serve::ServeConfig::new()
        .header_read_timeout(TIMEOUT)
        .body_read_timeout(TIMEOUT)
        .idle_timeout(TIMEOUT)
        .max_connections(500)
        .max_connections_per_address(PER_ADDRESS)
}

/// Connects from a chosen loopback source address (all of 127.0.0.0/8 is loopback).
async fn connect_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

/// Waits until the server closes `stream` (EOF or reset), reading and discarding what it
/// sends; panics if it is still open after [`HANG`].
async fn closed_by_server(mut stream: TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let result = tokio::time::timeout(HANG, async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(result.is_ok(), "the server never closed a slow connection");
    received
}

/// A normal request on its own connection from 127.0.0.2: `GET /auth/session` → 401.
async fn normal_request(server: SocketAddr) -> u16 {
    let mut stream = connect_from([127, 0, 0, 2], server).await;
    stream
        .write_all(b"GET /auth/session HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut response))
        .await
        .expect("the normal client was not served")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_connection_flood_is_closed_while_normal_clients_are_served() {
    let (server, _stop) = start(flood_config()).await;

    // The flood, all from 127.0.0.1, up to the per-address cap: bare connects, partial
    // headers, bodies shorter than their Content-Length, and idle keep-alive after one
    // complete request.
    let mut slow = Vec::new();
    for i in 0..PER_ADDRESS {
        let mut stream = connect_from([127, 0, 0, 1], server).await;
        match i % 4 {
            0 => {}
            1 => stream
                .write_all(b"GET /auth/session HTTP/1.1\r\nHost: loc")
                .await
                .unwrap(),
            2 => stream
                .write_all(
                    b"POST /auth/account/email-available HTTP/1.1\r\nHost: localhost\r\n\
                      Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"em",
                )
                .await
                .unwrap(),
            _ => stream
                .write_all(b"GET /auth/session HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .unwrap(),
        }
        slow.push((i % 4, stream));
    }
    // Over the per-address cap: closed at once, before any timeout could apply.
    let over_cap = connect_from([127, 0, 0, 1], server).await;

    // Meanwhile a normal client from another address keeps being served.
    for _ in 0..20 {
        assert_eq!(normal_request(server).await, 401);
    }

    let received = closed_by_server(over_cap).await;
    assert!(
        received.is_empty(),
        "an over-cap connection gets no response"
    );
    for (kind, stream) in slow {
        let received = String::from_utf8_lossy(&closed_by_server(stream).await).into_owned();
        match kind {
            // The short body: 408 with a JSON body, then closed.
            2 => {
                assert!(received.starts_with("HTTP/1.1 408"), "{received}");
                assert!(received.contains("\"error\""), "{received}");
            }
            // Idle keep-alive: the one answered request, then closed.
            3 => assert!(received.starts_with("HTTP/1.1 401"), "{received}"),
            _ => {}
        }
    }

    // With the flood gone, the flooding address is served again.
    let mut stream = connect_from([127, 0, 0, 1], server).await;
    stream
        .write_all(b"GET /auth/session HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with(b"HTTP/1.1 401"));
}

#[tokio::test]
async fn the_overall_connection_cap_closes_extra_connections_at_once() {
    let (server, _stop) = start(flood_config().max_connections(3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 3], server).await);
    }
    // Let the server accept the three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let extra = connect_from([127, 0, 0, 4], server).await;
    let mut buffer = [0u8; 16];
    let mut extra = extra;
    let read = tokio::time::timeout(HANG, extra.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    drop(held);
}

#[tokio::test]
async fn a_long_poll_is_not_cut_by_the_idle_timeout() {
    // A request in progress stops the idle clock: a QR status long-poll that waits longer
    // than the idle timeout still gets its answer.
    let (server, _stop) = start(flood_config()).await;
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("http://{server}/auth/qr/create"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["sessionId"].as_str().unwrap();
    let token = created["statusToken"].as_str().unwrap();
    let reply = tokio::time::timeout(
        HANG,
        client
            .get(format!(
                "http://{server}/auth/qr/{id}/status?token={token}&wait=1"
            ))
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reply.status(), 200);
}

async fn raw(server: SocketAddr, request: &[u8]) -> String {
    let mut stream = connect_from([127, 0, 0, 5], server).await;
    stream.write_all(request).await.unwrap();
    String::from_utf8_lossy(&closed_by_server(stream).await).into_owned()
}

#[tokio::test]
async fn connection_layer_refusals_are_json() {
    let (server, _stop) = start(serve::ServeConfig::new()).await;
    let long_uri = format!(
        "GET /auth/session?{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let reply = raw(server, long_uri.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 414"), "{reply}");
    assert!(
        reply.contains("application/json") && reply.contains("\"error\""),
        "{reply}"
    );
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{reply}"
    );

    let big_headers = format!(
        "GET /auth/session HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "b".repeat(20 * 1024)
    );
    let reply = raw(server, big_headers.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");
    assert!(reply.contains("\"error\""), "{reply}");

    // Past hyper's 100 header fields: refused before anything runs.
    let many_headers: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
    let reply = raw(
        server,
        format!("GET /auth/session HTTP/1.1\r\nHost: localhost\r\n{many_headers}\r\n").as_bytes(),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");

    let big_body = format!(
        "POST /auth/magic-link/send HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024
    );
    let reply = raw(server, big_body.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("\"error\""), "{reply}");
}
