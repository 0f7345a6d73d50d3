//! What a waiting QR desktop costs in heap: 10 000 of them held open on one server is the
//! QR-at-scale case (docs/BENCHMARKS.md), so the state a long-poll keeps for its 30 s is
//! multiplied by every waiting desktop.
//!
//! A counting global allocator (`cap`, this test binary's own) reads the live heap bytes with
//! `DESKTOPS` keep-alive connections idle, then with each of them long-polling its QR
//! status through the same stack the binary serves (`serve::run_with` → nested
//! `PasskeyMagic` router → the protocol's middleware → the handler). The difference per
//! desktop is the request's own state: its futures, its waiter registration and its
//! parsed head. The connections' buffers (hyper's, about 16 KiB each) are in both readings.
//!
//! Measured in this test's (debug) build, 200 desktops: 2 167 B per waiting request; with
//! the middleware as `axum::middleware::from_fn` (boxed futures holding the request, boxed
//! inner calls) it was 4 415 B. The readings are exact counts, the same on every run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cap::Cap;
use passkey_magic_server::axum::PasskeyMagic;
use passkey_magic_server::{Auth, serve};
use std::alloc::System;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Counts the live heap bytes of the whole process (server, client sockets and runtime
/// alike).
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

fn live_bytes() -> isize {
    ALLOCATOR.allocated() as isize
}

const DESKTOPS: usize = 200;

/// Per waiting request, on top of its idle connection. The measured value is in the
/// module docs; the bound leaves room for dependency updates, not for a boxed middleware
/// future holding a copy of the request.
const MAX_BYTES_PER_WAITING_REQUEST: isize = 3 * 1024;

/// Sends a `GET` and reads one complete response with a `Content-Length` body.
async fn get(stream: &mut TcpStream, target: &str) -> String {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream).await
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(read > 0, "connection closed mid-response");
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= head_end + 4 + length {
                return text.into_owned();
            }
        }
    }
}

/// Live bytes once they stop moving (the server finishing the requests just sent).
async fn settled_live_bytes() -> isize {
    let mut last = live_bytes();
    let mut steady = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = live_bytes();
        steady = if now == last { steady + 1 } else { 0 };
        last = now;
        if steady == 8 {
            break;
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_desktop_costs_its_connection_and_little_more() {
    let auth: Auth = Auth::builder("localhost", "http://localhost:8787")
        .unwrap()
        .build()
        .unwrap();
    let mut logins = Vec::new();
    for _ in 0..DESKTOPS {
        let created = auth.qr().create().await.unwrap();
        logins.push((
            created.session_id.clone(),
            created.status_token.expose().to_owned(),
        ));
    }
    let app = axum::Router::new().nest_service("/auth", PasskeyMagic::new(auth).router());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::run(listener, app, async {
        let _ = stopped.await;
    }));

    // Every desktop's connection open and used once (hyper's buffers allocated), idle.
    let mut desktops = Vec::new();
    for (id, token) in &logins {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let answer = get(&mut stream, &format!("/auth/qr/{id}/status?token={token}")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains(r#""state":"created""#), "{answer}");
        desktops.push(stream);
    }
    let idle = settled_live_bytes().await;

    // Now each long-polls; nothing happens to the logins, so all of them stay waiting.
    for ((id, token), stream) in logins.iter().zip(&mut desktops) {
        let request = format!(
            "GET /auth/qr/{id}/status?token={token}&wait=30 HTTP/1.1\r\nHost: localhost\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    let waiting = settled_live_bytes().await;

    // The long-polls are really waiting: none has answered.
    for stream in &mut desktops {
        let mut byte = [0u8; 1];
        assert!(
            stream.try_read(&mut byte).is_err(),
            "a long-poll answered early"
        );
    }
    let per_request = (waiting - idle) / DESKTOPS as isize;
    println!(
        "heap: {idle} B with {DESKTOPS} idle connections, {waiting} B with them waiting: \
         {per_request} B per waiting request"
    );
    assert!(
        per_request > 0,
        "a waiting request must show up in the heap ({per_request} B)"
    );
    assert!(
        per_request <= MAX_BYTES_PER_WAITING_REQUEST,
        "a waiting desktop's request keeps {per_request} B (at most \
         {MAX_BYTES_PER_WAITING_REQUEST} B expected)"
    );
    drop(desktops);
    let _ = stop.send(());
}
