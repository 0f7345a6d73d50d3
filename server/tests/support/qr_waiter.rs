//! A desktop long-polling its QR status, for the engine-level QR tests (`qr_long_poll.rs`,
//! `qr_wakeups.rs`); kept apart from `support/mod.rs`, which brings the HTTP test stack.

use passkey_magic_server::Auth;
use passkey_magic_server::sessions::ClientInfo;
use passkey_magic_shared::QrStatus;
use passkey_magic_shared::qr::CreateQrResponse;
use std::time::Duration;

/// A desktop of `auth` long-polling (up to 30 s) on `login`, in a task of its own.
pub(crate) fn spawn_waiter(
    auth: &Auth,
    login: &CreateQrResponse,
) -> tokio::task::JoinHandle<passkey_magic_server::Result<QrStatus>> {
    let auth = auth.clone();
    let (id, token) = (login.session_id.clone(), login.status_token.clone());
    tokio::spawn(async move {
        auth.qr()
            .status(
                &id,
                token.expose(),
                Duration::from_secs(30),
                &ClientInfo::default(),
            )
            .await
    })
}
