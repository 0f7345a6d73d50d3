//! Serving the demo web app (`www-example/`) next to the API.
//!
//! The demo is a plain static site: the binary serves it when started with
//! `--demo-dir`, so `passkey-magic serve --demo-dir www-example` is all a newcomer needs.

use axum::Router;
use std::path::Path;
use tower_http::services::ServeDir;

/// `api` with the files of `dir` served for every path the API does not answer.
/// `/` serves `dir/index.html`.
pub fn with_static_site(api: Router, dir: &Path) -> Router {
    api.fallback_service(ServeDir::new(dir).append_index_html_on_directories(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_files_beside_the_api() {
        let dir = std::env::temp_dir().join(format!("pm-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<h1>demo</h1>").unwrap();
        let app = with_static_site(
            Router::new().nest(
                "/auth",
                crate::http::router(
                    crate::Auth::builder("localhost", "http://localhost:8787")
                        .unwrap()
                        .build::<crate::auth::Metadata, crate::auth::Metadata>()
                        .unwrap(),
                ),
            ),
            &dir,
        );
        let get = |uri: &str| Request::builder().uri(uri).body(Body::empty()).unwrap();

        let page = app.clone().oneshot(get("/")).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let body = page.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"<h1>demo</h1>");

        let api = app.clone().oneshot(get("/auth/nope")).await.unwrap();
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        let missing = app.oneshot(get("/missing.js")).await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
