//! One keep-alive HTTP/1.1 connection to the server, as a load worker holds it.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// A reply: status and body bytes.
pub(crate) struct Reply {
    /// HTTP status code.
    pub(crate) status: u16,
    /// The raw body.
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON, when the status is 200.
    pub(crate) fn json(&self) -> anyhow::Result<Value> {
        if self.status != 200 {
            bail!(
                "HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            );
        }
        serde_json::from_slice(&self.body).context("reply is not JSON")
    }

    /// Fails unless the status is 200.
    pub(crate) fn ok(&self) -> anyhow::Result<()> {
        self.json().map(drop)
    }
}

/// A keep-alive connection with the API prefix and host header it sends.
pub(crate) struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    prefix: String,
}

impl Connection {
    /// Opens a connection to `address`; paths are sent below `prefix` (e.g. `/auth`).
    pub(crate) async fn open(address: SocketAddr, prefix: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("connect {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Connection {
            sender,
            host: address.to_string(),
            prefix: prefix.to_owned(),
        })
    }

    /// Sends one request and reads the whole reply.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header(HOST, &self.host);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(serde_json::to_vec(body)?))
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await?;
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply { status, body })
    }

    /// `GET path`, with a bearer token if given.
    pub(crate) async fn get(&mut self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.send(Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body, with a bearer token if given.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Reply> {
        self.send(Method::POST, path, token, Some(body)).await
    }
}
