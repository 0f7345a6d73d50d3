//! Mount passkey-magic into your own axum app, next to your routes.
//!
//! Run: `cargo run -p passkey-magic-server --example mount`, then open
//! <http://localhost:3000/> (your app) and <http://localhost:3000/auth/session>
//! (passkey-magic: `401` until you sign in).

use axum::Router;
use axum::routing::get;
use passkey_magic_server::store::SqliteStore;
use passkey_magic_server::{Auth, http, serve};

/// Your app with passkey-magic under `/auth`.
fn app(auth: Auth) -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from my app" }))
        .nest("/auth", http::router(auth))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = Auth::builder("localhost", "http://localhost:3000")?
        .rp_name("My App")
        .store(SqliteStore::connect("sqlite://my-app.db").await?)
        .build()?;
    let _purge = auth.spawn_purge_task(std::time::Duration::from_secs(60));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://localhost:3000");
    serve::run(listener, app(auth), serve::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_the_app_and_the_auth_api() {
        let auth = Auth::builder("localhost", "http://localhost:3000")
            .unwrap()
            .build()
            .unwrap();
        let app = app(auth);
        let get = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();
        let home = app.clone().oneshot(get("/")).await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let session = app.oneshot(get("/auth/session")).await.unwrap();
        assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
    }
}
