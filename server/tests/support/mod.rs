//! Test support for end-to-end HTTP tests: a real server on a loopback port, a reqwest
//! client that checks every reply against the protocol's error shape, and a software
//! passkey authenticator playing the browser.

use passkey::authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey_magic_server::clock::ManualClock;
use passkey_magic_server::{Auth, AuthBuilder, http, serve};
use passkey_magic_shared::Timestamp;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn as pk;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// The relying party every test server is for, unless a test says otherwise.
pub(crate) const RP_ID: &str = "localhost";
/// The origin the browser runs on (independent of the port the test server listens on).
pub(crate) const ORIGIN: &str = "http://localhost:8787";
/// Where every test clock starts: `2026-11-29T21:41:38.000Z`.
pub(crate) const START_MILLIS: i64 = 1_795_988_498_000;
/// The `User-Agent` the test client sends.
pub(crate) const USER_AGENT: &str = "passkey-magic-tests/1.0";

/// A running server with its engine and clock. Dropping it shuts the server down.
pub(crate) struct TestServer {
    /// The engine behind the router (for the store, events and state checks).
    pub(crate) auth: Auth,
    /// The engine's clock.
    pub(crate) clock: ManualClock,
    base: String,
    http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// A reply: status and JSON body.
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub(crate) status: u16,
    /// The JSON body.
    pub(crate) body: Value,
}

impl Reply {
    /// Asserts a 200 and returns the body.
    #[track_caller]
    pub(crate) fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {self:?}");
        self.body
    }

    /// Asserts the status and error message.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(
            (self.status, self.body["error"].as_str()),
            (status, Some(message)),
            "unexpected reply {self:?}"
        );
    }
}

/// A fresh builder for the default test relying party.
pub(crate) fn builder() -> AuthBuilder {
    Auth::builder(RP_ID, ORIGIN).unwrap()
}

impl TestServer {
    /// The default server: rp `localhost`, origin `http://localhost:8787`, memory store,
    /// a manual clock.
    pub(crate) async fn start() -> Self {
        Self::start_with(builder()).await
    }

    /// A server from `builder`, with a manual clock set on it.
    pub(crate) async fn start_with(builder: AuthBuilder) -> Self {
        let clock = ManualClock::new(Timestamp::from_unix_millis(START_MILLIS));
        let auth: Auth = builder.clock(clock.clone()).build().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().nest("/auth", http::router(auth.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve::run(listener, app, async {
            let _ = stopped.await;
        }));
        TestServer {
            auth,
            clock,
            base: format!("http://{address}/auth"),
            http: reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .build()
                .unwrap(),
            _stop: stop,
        }
    }

    /// The API's base URL (`http://127.0.0.1:<port>/auth`), for requests made by hand.
    #[allow(dead_code)] // used by magic_links.rs only
    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends a request with an optional bearer token and raw body. Every reply must be
    /// JSON, never a 500, and every error must be `{"error": string, ...}`.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: body is not JSON: {text:?}"));
        assert!(
            status < 500,
            "{method} {path}: server error {status} {body}"
        );
        if status >= 400 {
            assert!(
                body.is_object() && body["error"].is_string(),
                "{method} {path}: error body is not {{\"error\": string}}: {body}"
            );
        }
        Reply { status, body }
    }

    /// `POST path` with a JSON body, anonymously.
    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, None, Some(body.to_string()))
            .await
    }

    /// `POST path` with a JSON body and a bearer token.
    pub(crate) async fn post_as(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body.to_string()))
            .await
    }

    /// `GET path` with a bearer token.
    pub(crate) async fn get_as(&self, token: &str, path: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    /// A bodiless request (`DELETE`, ...) with a bearer token.
    pub(crate) async fn call_as(&self, method: Method, token: &str, path: &str) -> Reply {
        self.send(method, path, Some(token), None).await
    }

    /// Registration options (route 1) answered by `browser`: the verify body for route 2.
    pub(crate) async fn registration_answer(&self, browser: &mut Browser, request: Value) -> Value {
        let reply = self.post("/passkey/register/options", request).await.ok();
        let response = browser.register(&reply["options"]).await;
        json!({ "userId": reply["userId"], "response": response })
    }

    /// Signs up a new passkey-only user with `browser` (routes 1 and 2).
    pub(crate) async fn sign_up(&self, browser: &mut Browser) -> Account {
        self.sign_up_with(browser, json!({})).await
    }

    /// Signs up with the given route-1 body.
    pub(crate) async fn sign_up_with(&self, browser: &mut Browser, request: Value) -> Account {
        let answer = self.registration_answer(browser, request).await;
        let body = self.post("/passkey/register/verify", answer).await.ok();
        Account::from_sign_in(&body)
    }

    /// Sign-in options (route 3) answered by `browser`: the verify body for route 4.
    pub(crate) async fn sign_in_answer(&self, browser: &mut Browser, request: Value) -> Value {
        let reply = self
            .post("/passkey/authenticate/options", request)
            .await
            .ok();
        json!({ "response": browser.authenticate(&reply["options"]).await })
    }

    /// Signs in with `browser` without naming the user (routes 3 and 4).
    pub(crate) async fn sign_in(&self, browser: &mut Browser) -> Account {
        let answer = self.sign_in_answer(browser, json!({})).await;
        let body = self.post("/passkey/authenticate/verify", answer).await.ok();
        Account::from_sign_in(&body)
    }

    /// Adds a passkey held by `browser` to the signed-in account (routes 5 and 6).
    pub(crate) async fn add_passkey(&self, token: &str, browser: &mut Browser) -> Value {
        let options = self
            .post_as(token, "/passkey/add/options", json!({}))
            .await
            .ok();
        let response = browser.register(&options["options"]).await;
        self.post_as(
            token,
            "/passkey/add/verify",
            json!({ "response": response }),
        )
        .await
        .ok()
    }
}

/// What a sign-up or sign-in handed out.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// The user id.
    pub(crate) user_id: String,
    /// The session's bearer token.
    pub(crate) token: String,
    /// The session id.
    pub(crate) session_id: String,
    /// The new credential's id (sign-up only).
    pub(crate) credential_id: Option<String>,
}

impl Account {
    fn from_sign_in(body: &Value) -> Self {
        Account {
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["session"]["token"].as_str().unwrap().to_owned(),
            session_id: body["session"]["id"].as_str().unwrap().to_owned(),
            credential_id: body["credential"]["id"].as_str().map(str::to_owned),
        }
    }

    /// The credential id of a sign-up.
    pub(crate) fn credential(&self) -> &str {
        self.credential_id.as_deref().unwrap()
    }
}

/// Grants user presence and verification, as a platform authenticator after a biometric.
pub(crate) struct AlwaysUv;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysUv {
    type PasskeyItem = passkey_types::Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Self::PasskeyItem>,
        _presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence: true,
            verification,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

/// A one-passkey authenticator behind a WebAuthn client (1Password's `passkey` crates).
type SoftClient = Client<
    Option<passkey_types::Passkey>,
    AlwaysUv,
    RustCryptoBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// The browser side: a software authenticator at an origin. Options and answers are the
/// WebAuthn JSON a real browser exchanges with the server.
pub(crate) struct Browser {
    client: SoftClient,
    origin: Url,
}

impl Default for Browser {
    /// A browser at [`ORIGIN`] with an empty authenticator.
    fn default() -> Self {
        Self::at(ORIGIN)
    }
}

impl Browser {
    /// A browser at [`ORIGIN`] with an empty authenticator.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A browser at `origin` with an empty authenticator.
    pub(crate) fn at(origin: &str) -> Self {
        let mut authenticator = Authenticator::new(
            Aaguid::from(*b"passkey-magic-t!"),
            None,
            AlwaysUv,
            RustCryptoBackend,
        );
        // Without this the counter stays 0 and counter checks go untested.
        authenticator.set_make_credentials_with_signature_counter(true);
        Browser {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin).unwrap(),
        }
    }

    /// A browser at [`ORIGIN`] whose authenticator keeps its signature counter at 0 (as
    /// many synced passkeys do), so that the same passkey can answer many challenges
    /// that are verified in any order.
    #[allow(dead_code)] // Not every test binary uses it.
    pub(crate) fn without_counter() -> Self {
        let mut browser = Self::at(ORIGIN);
        browser
            .client
            .authenticator_mut()
            .set_make_credentials_with_signature_counter(false);
        browser
    }

    /// A second browser holding a copy of this authenticator's passkey, signature counter
    /// included: what an attacker who cloned the key would have.
    #[allow(dead_code)] // Not every test binary uses it.
    pub(crate) fn clone_authenticator(&self) -> Self {
        let mut clone = Self::at(self.origin.as_str());
        *clone.client.authenticator_mut().store_mut() = self.client.authenticator().store().clone();
        clone
    }

    /// Moves the same authenticator to a page on another origin.
    pub(crate) fn set_origin(&mut self, origin: &str) {
        self.origin = Url::parse(origin).unwrap();
    }

    /// `navigator.credentials.create({publicKey: options})` → `RegistrationResponseJSON`.
    pub(crate) async fn register(&mut self, options: &Value) -> Value {
        let options: pk::CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let credential = self
            .client
            .register(&self.origin, options, DefaultClientData)
            .await
            .unwrap();
        serde_json::to_value(&credential).unwrap()
    }

    /// Like [`Browser::authenticate`] from a page embedded in another site's frame: the
    /// signed `clientDataJSON` says `"crossOrigin": true`.
    #[allow(dead_code)] // Not every test binary uses it.
    pub(crate) async fn authenticate_cross_origin(&mut self, options: &Value) -> Value {
        let options: pk::CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let credential = self
            .client
            .authenticate(
                &self.origin,
                options,
                passkey::client::DefaultClientDataWithExtra(json!({ "crossOrigin": true })),
            )
            .await
            .unwrap();
        serde_json::to_value(&credential).unwrap()
    }

    /// `navigator.credentials.get({publicKey: options})` → `AuthenticationResponseJSON`.
    pub(crate) async fn authenticate(&mut self, options: &Value) -> Value {
        let options: pk::CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let credential = self
            .client
            .authenticate(&self.origin, options, DefaultClientData)
            .await
            .unwrap();
        serde_json::to_value(&credential).unwrap()
    }
}

/// Flips one bit of a base64url field (e.g. `response.signature`).
pub(crate) fn flip_bit(value: &mut Value) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = URL_SAFE_NO_PAD.decode(value.as_str().unwrap()).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    *value = Value::String(URL_SAFE_NO_PAD.encode(bytes));
}

/// The sorted keys of a JSON object.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// A TCP proxy to a service (PostgreSQL, Redis) whose traffic can be cut and restored:
/// a real network outage between the server and its storage.
#[allow(dead_code)] // Used by the storage outage tests only.
pub(crate) struct Proxy {
    target: &'static str,
    port: u16,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

#[allow(dead_code)]
impl Proxy {
    /// Listens on a free loopback port and forwards to `target` (`host:port`).
    pub(crate) async fn start(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            target,
            port: listener.local_addr().unwrap().port(),
            tasks: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = std::sync::Arc::clone(&self.tasks);
        let target = self.target;
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(connection);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Closes the listener and every proxied connection.
    pub(crate) fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Accepts connections again on the same port.
    pub(crate) async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    /// `127.0.0.1:<port>`: use it in place of the target's address.
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}
