//! The browser side of a passkey ceremony: a software authenticator (1Password's
//! `passkey` crates) behind a WebAuthn client, holding one passkey, exchanging the same
//! WebAuthn JSON a browser does. It signs with ES256 (P-256), as platform passkeys do.
//!
//! The load generator shares the machine's cores with the server, so after the first
//! sign-in (made by the `passkey` client, whose answer is the template) assertions are
//! made by [`FastSigner`]: the same JSON with a fresh client data, authenticator data
//! (same flags, counter + 1) and an ES256 signature from ring. The server verifies them
//! exactly as any other.

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passkey::authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::coset;
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
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
    fast: Option<FastSigner>,
}

/// Signs assertions for the one passkey without the `passkey` client (see the module).
struct FastSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    /// The `passkey` client's first answer: everything but what is signed stays.
    template: Value,
    /// SHA-256 of the RP id and the flags byte, as in the template.
    rp_id_hash_and_flags: Vec<u8>,
    counter: u32,
    origin: String,
}

impl FastSigner {
    /// From the authenticator's passkey and its first answer.
    fn new(
        passkey: &passkey_types::Passkey,
        template: Value,
        origin: &Url,
    ) -> anyhow::Result<Self> {
        let parameter = |label: i64| {
            passkey
                .key
                .params
                .iter()
                .find_map(|(key, value)| {
                    (*key == coset::Label::Int(label)).then(|| value.as_bytes().cloned())
                })
                .flatten()
                .with_context(|| format!("COSE key parameter {label}"))
        };
        // EC2 key parameters: -2 = x, -3 = y, -4 = d.
        let (x, y, d) = (parameter(-2)?, parameter(-3)?, parameter(-4)?);
        let public: Vec<u8> = [&[0x04][..], &x, &y].concat();
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &d,
            &public,
            &rng,
        )
        .map_err(|error| anyhow::anyhow!("P-256 key: {error}"))?;
        let authenticator_data = URL_SAFE_NO_PAD.decode(
            template["response"]["authenticatorData"]
                .as_str()
                .context("authenticatorData")?,
        )?;
        anyhow::ensure!(authenticator_data.len() >= 37, "short authenticator data");
        let counter = u32::from_be_bytes(authenticator_data[33..37].try_into()?);
        Ok(FastSigner {
            key,
            rng,
            rp_id_hash_and_flags: authenticator_data[..33].to_vec(),
            template,
            counter,
            origin: origin.origin().ascii_serialization(),
        })
    }

    /// The assertion for `challenge` (base64url, as the options carry it).
    fn sign(&mut self, challenge: &str) -> anyhow::Result<Value> {
        anyhow::ensure!(
            challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "challenge is not base64url"
        );
        self.counter += 1;
        let client_data = format!(
            r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{}","crossOrigin":false}}"#,
            self.origin
        );
        let mut authenticator_data = self.rp_id_hash_and_flags.clone();
        authenticator_data.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(digest::digest(&digest::SHA256, client_data.as_bytes()).as_ref());
        let signature = self
            .key
            .sign(&self.rng, &signed)
            .map_err(|error| anyhow::anyhow!("signing: {error}"))?;
        let mut answer = self.template.clone();
        let response = &mut answer["response"];
        response["clientDataJSON"] = URL_SAFE_NO_PAD.encode(client_data).into();
        response["authenticatorData"] = URL_SAFE_NO_PAD.encode(&authenticator_data).into();
        response["signature"] = URL_SAFE_NO_PAD.encode(signature.as_ref()).into();
        Ok(answer)
    }
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
            fast: None,
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
        if let Some(fast) = &mut self.fast {
            return fast.sign(options["challenge"].as_str().context("challenge")?);
        }
        let answer = self.authenticate_with_client(options).await?;
        if let Some(passkey) = self.client.authenticator().store() {
            self.fast = Some(FastSigner::new(passkey, answer.clone(), &self.origin)?);
        }
        Ok(answer)
    }

    /// The same through the `passkey` client.
    async fn authenticate_with_client(&mut self, options: &Value) -> anyhow::Result<Value> {
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
