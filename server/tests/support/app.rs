//! An in-process browser for apps built with `passkey_magic_server::axum`: requests go
//! through `tower::ServiceExt::oneshot` to the app's router, with a cookie jar, and the
//! sign-in flows (passkey, QR, magic link) are played by the software authenticator of
//! `support`. Used by tests/axum.rs and the tests of server/examples/.

use super::support::{Browser, ORIGIN};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tower::ServiceExt;

/// A reply: status, headers and the body as JSON (`Value::String` when not JSON).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    /// The `Set-Cookie` values of the reply.
    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

/// A browser talking to one app. Cookies it receives are sent back on later requests.
pub(crate) struct Client {
    pub(crate) app: Router,
    /// The mount prefix of the auth routes (`/auth`).
    pub(crate) prefix: &'static str,
    jar: Mutex<BTreeMap<String, String>>,
}

impl Client {
    pub(crate) fn new(app: Router, prefix: &'static str) -> Self {
        Client {
            app,
            prefix,
            jar: Mutex::new(BTreeMap::new()),
        }
    }

    /// The jar's value of cookie `name`.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Empties the jar.
    pub(crate) fn clear_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    /// Sends a request with the jar's cookies and `headers`; a JSON body when given.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let reply = Reply {
            status,
            headers,
            body,
        };
        let mut jar = self.jar.lock().unwrap();
        for cookie in reply.set_cookies() {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        drop(jar);
        reply
    }

    /// `POST` to an auth route from the app's own origin.
    pub(crate) async fn post(&self, route: &str, body: Value) -> Reply {
        let path = format!("{}{route}", self.prefix);
        self.request(Method::POST, &path, &[("origin", ORIGIN)], Some(body))
            .await
    }

    fn ok(reply: Reply) -> Reply {
        assert_eq!(reply.status, 200, "{reply:?}");
        reply
    }

    /// Signs up a new passkey user held by `browser` (routes 1 and 2).
    pub(crate) async fn sign_up(&self, browser: &mut Browser) -> Reply {
        let options = Self::ok(self.post("/passkey/register/options", json!({})).await);
        let response = browser.register(&options.body["options"]).await;
        let answer = json!({ "userId": options.body["userId"], "response": response });
        Self::ok(self.post("/passkey/register/verify", answer).await)
    }

    /// Signs in with the passkey of `browser` (routes 3 and 4).
    pub(crate) async fn sign_in(&self, browser: &mut Browser) -> Reply {
        let options = Self::ok(self.post("/passkey/authenticate/options", json!({})).await);
        let response = browser.authenticate(&options.body["options"]).await;
        Self::ok(
            self.post(
                "/passkey/authenticate/verify",
                json!({ "response": response }),
            )
            .await,
        )
    }

    /// A QR login: this client is the desktop, `phone` (a client of the same app, holding
    /// a passkey in `authenticator`) approves. Returns the desktop's authenticated status.
    pub(crate) async fn qr_sign_in(&self, phone: &Client, authenticator: &mut Browser) -> Reply {
        let created = Self::ok(self.post("/qr/create", json!({})).await).body;
        let id = created["sessionId"].as_str().unwrap().to_owned();
        let status_token = created["statusToken"].as_str().unwrap().to_owned();
        Self::ok(phone.post(&format!("/qr/{id}/scanned"), json!({})).await);
        if let Some(code) = created["confirmationCode"].as_str() {
            Self::ok(
                phone
                    .post(
                        &format!("/qr/{id}/confirm"),
                        json!({ "confirmationCode": code }),
                    )
                    .await,
            );
        }
        let options = Self::ok(
            phone
                .post(
                    "/passkey/authenticate/options",
                    json!({ "qrSessionId": id }),
                )
                .await,
        );
        let response = authenticator.authenticate(&options.body["options"]).await;
        let completed = Self::ok(
            phone
                .post(
                    &format!("/qr/{id}/complete"),
                    json!({ "response": response }),
                )
                .await,
        );
        assert_eq!(completed.body["method"], "qr");
        let path = format!("{}/qr/{id}/status?token={status_token}", self.prefix);
        let status = Self::ok(self.request(Method::GET, &path, &[], None).await);
        assert_eq!(status.body["state"], "authenticated", "{status:?}");
        status
    }

    /// Signs in with the magic link the dev outbox `outbox` received for `email`.
    pub(crate) async fn magic_link(
        &self,
        outbox: &passkey_magic_server::mail::DevOutbox,
        email: &str,
    ) -> Reply {
        Self::ok(
            self.post("/magic-link/send", json!({ "email": email }))
                .await,
        );
        let message = outbox.last_to(email).unwrap();
        Self::ok(
            self.post("/magic-link/verify", json!({ "token": message.token }))
                .await,
        )
    }
}
