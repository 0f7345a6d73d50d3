//! The browser side of a passkey ceremony: a software authenticator (1Password's
//! `passkey` crates) behind a WebAuthn client, holding one passkey, exchanging the same
//! WebAuthn JSON a browser does. It signs with ES256 (P-256), as platform passkeys do.

use anyhow::Context;
use passkey::authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn;
use serde_json::{Value, json};
use url::Url;

/// Grants user presence and verification, as a platform authenticator after a biometric.
struct AlwaysVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysVerified {
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

type OnePasskeyClient = Client<
    Option<passkey_types::Passkey>,
    AlwaysVerified,
    RustCryptoBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// A browser at an origin with an authenticator that holds at most one passkey.
pub(crate) struct SoftBrowser {
    client: OnePasskeyClient,
    origin: Url,
}

impl SoftBrowser {
    /// An empty authenticator in a page at `origin`.
    pub(crate) fn at(origin: &str) -> anyhow::Result<Self> {
        let mut authenticator = Authenticator::new(
            Aaguid::from(*b"passkey-magic-b!"),
            None,
            AlwaysVerified,
            RustCryptoBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(true);
        Ok(SoftBrowser {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin)?,
        })
    }

    /// `navigator.credentials.create({publicKey: options})` → `RegistrationResponseJSON`.
    pub(crate) async fn register(&mut self, options: &Value) -> anyhow::Result<Value> {
        let options: webauthn::CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options }))?;
        let credential = self
            .client
            .register(&self.origin, options, DefaultClientData)
            .await
            .map_err(|error| anyhow::anyhow!("authenticator refused to register: {error:?}"))?;
        serde_json::to_value(&credential).context("registration JSON")
    }

    /// `navigator.credentials.get({publicKey: options})` → `AuthenticationResponseJSON`.
    pub(crate) async fn authenticate(&mut self, options: &Value) -> anyhow::Result<Value> {
        let options: webauthn::CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options }))?;
        let credential = self
            .client
            .authenticate(&self.origin, options, DefaultClientData)
            .await
            .map_err(|error| anyhow::anyhow!("authenticator refused to sign: {error:?}"))?;
        serde_json::to_value(&credential).context("authentication JSON")
    }
}
