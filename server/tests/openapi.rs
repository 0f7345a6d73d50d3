//! The OpenAPI document as the router serves it, and the findings of
//! `scripts/schemathesis` (fuzzing the binary against that document), each kept as a
//! regression test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use axum::body::Body;
use http_body_util::BodyExt;
use passkey_magic_server::{Auth, http};
use passkey_magic_shared::routes::ROUTES;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Browser, TestServer, builder};
use tower::ServiceExt;

/// `GET {prefix}/openapi.json` on the router nested at `prefix`: status, content type and
/// JSON body.
async fn fetch_document(prefix: &str) -> (u16, String, Value) {
    let auth: Auth = builder().build().unwrap();
    let app = axum::Router::new().nest(prefix, http::router(auth));
    let request = axum::http::Request::get(format!("{prefix}/openapi.json"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

/// The operation of `method path` in `document`.
fn operation<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    let operation = &document["paths"][path][method.to_ascii_lowercase()];
    assert!(operation.is_object(), "{method} {path} is not documented");
    operation
}

/// Whether the document lists `status` among the responses of `method path`.
fn documents(document: &Value, method: &str, path: &str, status: u16) -> bool {
    operation(document, method, path)["responses"][status.to_string()].is_object()
}

#[tokio::test]
async fn the_router_serves_the_document_relative_to_its_mount() {
    let (status, content_type, document) = fetch_document("/auth").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let shared = serde_json::to_value(passkey_magic_shared::openapi::document()).unwrap();
    assert_eq!(document, shared, "the served document is the shared one");
    assert_eq!(document["openapi"], "3.1.0");
    for route in ROUTES {
        operation(&document, route.method.as_str(), route.path);
    }

    let (status, _, document) = fetch_document("/id/v1").await;
    assert_eq!(status, 200);
    assert_eq!(document["servers"], json!([{ "url": "/id/v1" }]));
}

#[tokio::test]
async fn the_binary_serves_the_document_over_http() {
    let server = TestServer::start().await;
    let reply = server
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .ok();
    assert_eq!(reply["info"]["title"], "passkey-magic");
    assert!(reply["paths"]["/session"]["delete"].is_object());
}

/// Schemathesis: `POST /account/sessions/delete-all` with the body `[null, null]`
/// answered `200 {"ok":true}`. An endpoint that reads no input still refuses a body
/// that is not a JSON object, like every other; an empty body or `{}` is fine.
#[tokio::test]
async fn endpoints_without_input_refuse_a_body_that_is_not_an_object() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let token = account.token.as_str();
    let session = format!("/account/sessions/{}", account.session_id);
    let credential = format!("/account/credentials/{}", account.credential());
    let bodiless = [
        (Method::GET, "/session".to_owned()),
        (Method::POST, "/session/revoke".to_owned()),
        (Method::DELETE, "/session".to_owned()),
        (Method::GET, "/account".to_owned()),
        (Method::POST, "/account/delete".to_owned()),
        (Method::DELETE, "/account".to_owned()),
        (Method::GET, "/account/sessions".to_owned()),
        (Method::POST, "/account/sessions/delete-all".to_owned()),
        (Method::DELETE, "/account/sessions".to_owned()),
        (Method::POST, format!("{session}/delete")),
        (Method::DELETE, session.clone()),
        (Method::GET, "/account/credentials".to_owned()),
        (Method::POST, format!("{credential}/delete")),
        (Method::DELETE, credential.clone()),
        (Method::POST, "/account/unlink-email".to_owned()),
    ];
    for (method, path) in &bodiless {
        for (body, message) in [
            ("[null, null]", "Request body must be a JSON object"),
            ("3", "Request body must be a JSON object"),
            ("{nope", "Invalid JSON in request body"),
        ] {
            let reply = server
                .send(method.clone(), path, Some(token), Some(body.to_owned()))
                .await;
            reply.assert_error(400, message);
        }
    }
    // Nothing was changed by the refused requests; `{}` and no body are accepted.
    server
        .send(Method::GET, "/session", Some(token), Some("{}".to_owned()))
        .await
        .ok();
    server.get_as(token, "/account/credentials").await.ok();
    server
        .post_as(token, "/account/sessions/delete-all", json!({}))
        .await
        .ok();
    let reply = server.get_as(token, "/session").await;
    reply.assert_error(401, "Unauthorized");
}

/// Schemathesis: `POST /passkey/authenticate/options` with a `qrSessionId` that names no
/// QR login answered 404, which the document did not list. It lists it now, with the
/// other 404s the server gives without an `{id}` in the path.
#[tokio::test]
async fn the_404s_the_server_answers_are_documented() {
    let server = TestServer::start().await;
    let (_, _, document) = fetch_document("/auth").await;

    let cases = [
        (
            &server,
            "/passkey/authenticate/options",
            json!({"qrSessionId": "no-such-login"}),
        ),
        (
            &TestServer::start_with(builder().email_available_route(false)).await,
            "/account/email-available",
            json!({"email": "a@b.co"}),
        ),
    ];
    for (server, path, body) in cases {
        let reply = server.post(path, body).await;
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert!(documents(&document, "POST", path, 404), "{path}");
    }

    // Every signed-in endpoint can find its user gone (deleted by another session).
    for route in ROUTES {
        if route.endpoint.access() == passkey_magic_shared::Access::Session {
            assert!(
                documents(&document, route.method.as_str(), route.path, 404),
                "{} {}",
                route.method,
                route.path
            );
        }
    }
}
