//! The native transport against the real server router on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking
#![cfg(not(target_arch = "wasm32"))]

use passkey_magic_client::shared::{Endpoint, ErrorCode};
use passkey_magic_client::transport::NativeTransport;
use passkey_magic_client::{Client, ClientError};
use passkey_magic_server::{http, serve};

struct Running {
    base_url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start_server() -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let auth: passkey_magic_server::Auth =
        passkey_magic_server::Auth::builder("localhost", "http://localhost:8787")
            .unwrap()
            .build()
            .unwrap();
    let app = axum::Router::new().nest("/auth", http::router(auth));
    let task = tokio::spawn(serve::run(listener, app, async {
        let _ = stopped.await;
    }));
    Running {
        base_url: format!("http://{address}/auth"),
        stop,
        task,
    }
}

#[tokio::test]
async fn server_errors_arrive_as_client_errors() {
    let server = start_server().await;
    let client = Client::new(NativeTransport::new(&server.base_url));
    let error: ClientError = client
        .call::<(), serde_json::Value>(Endpoint::QrStatus, Some("q/1"), Some("token=t"), None)
        .await
        .unwrap_err();
    assert_eq!(error.status, 404);
    assert_eq!(error.code, ErrorCode::NotFound);
    assert_eq!(error.message, "Not found");
}

#[tokio::test]
async fn unreachable_servers_are_transport_errors() {
    let server = start_server().await;
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap(); // the listener is closed now
    let client = Client::new(NativeTransport::new(server.base_url));
    let error = client
        .call::<_, serde_json::Value>(
            Endpoint::EmailAvailable,
            None,
            None,
            Some(&serde_json::json!({"email": "a@b.co"})),
        )
        .await
        .unwrap_err();
    assert_eq!((error.status, error.code), (0, ErrorCode::Unavailable));
}

#[tokio::test]
async fn missing_ids_are_caught_before_sending() {
    let client = Client::new(NativeTransport::new("http://127.0.0.1:9/auth"));
    let error = client
        .call::<(), serde_json::Value>(Endpoint::QrStatus, None, None, None)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidRequest);
}
