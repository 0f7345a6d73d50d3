//! The browser side of the fuzz targets: a software authenticator with one P-256 key
//! that writes WebAuthn answers field by field, so the fuzzer can bend any field and
//! still get past the first checks (the challenge is the engine's, the signature real).
//!
//! Verification stays webauthn-rs's: this only *produces* answers, as an authenticator
//! and a browser would ("none" attestation, ES256 assertions).

use crate::Auth;
use crate::clock::ManualClock;
use crate::secrets::base64url;
use crate::sessions::ClientInfo;
use crate::store::{CredentialRecord, UserRecord};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use passkey_magic_shared::Timestamp;
use passkey_magic_shared::passkeys::{RegisterOptionsRequest, RegisterVerifyRequest};
use passkey_magic_shared::request::parse_body;
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The relying party of every fuzzed engine.
pub(super) const RP_ID: &str = "localhost";
/// The page the answers claim to come from.
pub(super) const ORIGIN: &str = "http://localhost:8787";
/// Where every fuzzed engine's clock starts: `2026-11-29T21:41:38.000Z`.
pub(super) const START_MILLIS: i64 = 1_795_988_498_000;

/// Authenticator data flags (WebAuthn §6.1).
pub(super) const USER_PRESENT: u8 = 0x01;
pub(super) const USER_VERIFIED: u8 = 0x04;
pub(super) const ATTESTED_DATA: u8 = 0x40;

/// The enrolled passkey's id.
pub(super) const CREDENTIAL_ID: &[u8] = b"passkey-magic-fuzz-credential-1";

/// The authenticator's key: fixed, so that a saved input replays exactly (ECDSA here is
/// deterministic, RFC 6979).
pub(super) fn signing_key() -> SigningKey {
    SigningKey::from_slice(&[0x42; 32]).expect("a valid P-256 scalar")
}

/// SHA-256 of the rp id, as authenticator data carries it.
pub(super) fn rp_id_hash() -> [u8; 32] {
    Sha256::digest(RP_ID.as_bytes()).into()
}

/// The authenticator's public key as a COSE_Key (EC2, ES256, P-256).
pub(super) fn cose_key() -> Vec<u8> {
    let point = signing_key().verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    let (x, y) = (bytes[1..33].to_vec(), bytes[33..65].to_vec());
    let key = BTreeMap::from([
        (Cbor::Integer(1), Cbor::Integer(2)),
        (Cbor::Integer(3), Cbor::Integer(-7)),
        (Cbor::Integer(-1), Cbor::Integer(1)),
        (Cbor::Integer(-2), Cbor::Bytes(x)),
        (Cbor::Integer(-3), Cbor::Bytes(y)),
    ]);
    serde_cbor_2::to_vec(&Cbor::Map(key)).expect("CBOR")
}

/// Authenticator data: rp id hash, flags, counter, then the attested credential (for a
/// registration) and the extensions, as given.
pub(super) fn authenticator_data(
    rp_id_hash: &[u8],
    flags: u8,
    counter: u32,
    attested: Option<(&[u8; 16], &[u8], &[u8])>,
    extensions: Option<&[u8]>,
) -> Vec<u8> {
    let mut data = rp_id_hash.to_vec();
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    if let Some((aaguid, credential_id, key)) = attested {
        data.extend_from_slice(aaguid);
        let length = u16::try_from(credential_id.len()).unwrap_or(u16::MAX);
        data.extend_from_slice(&length.to_be_bytes());
        data.extend_from_slice(credential_id);
        data.extend_from_slice(key);
    }
    if let Some(extensions) = extensions {
        data.extend_from_slice(extensions);
    }
    data
}

/// A "none" attestation object around `auth_data`.
pub(super) fn attestation_object(format: &str, auth_data: Vec<u8>) -> Vec<u8> {
    let object = BTreeMap::from([
        (Cbor::Text("fmt".into()), Cbor::Text(format.into())),
        (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
        (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
    ]);
    serde_cbor_2::to_vec(&Cbor::Map(object)).expect("CBOR")
}

/// `clientDataJSON` as a browser writes it, plus `extra` members.
pub(super) fn client_data(
    kind: &str,
    challenge: &str,
    origin: &str,
    cross_origin: Option<bool>,
    extra: &[(String, Value)],
) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    object.insert("type".into(), kind.into());
    object.insert("challenge".into(), challenge.into());
    object.insert("origin".into(), origin.into());
    if let Some(cross_origin) = cross_origin {
        object.insert("crossOrigin".into(), cross_origin.into());
    }
    for (name, value) in extra {
        object.insert(name.clone(), value.clone());
    }
    serde_json::to_vec(&object).expect("JSON")
}

/// The ES256 signature (DER) over `auth_data ‖ SHA-256(client_data_json)`.
pub(super) fn sign(auth_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
    let mut message = auth_data.to_vec();
    message.extend_from_slice(&Sha256::digest(client_data_json));
    let signature: Signature = signing_key().sign(&message);
    signature.to_der().as_bytes().to_vec()
}

/// `RegistrationResponseJSON`.
pub(super) fn registration_json(
    credential_id: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Value {
    json!({
        "id": base64url(credential_id),
        "rawId": base64url(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": base64url(client_data_json),
            "attestationObject": base64url(attestation_object),
            "transports": ["internal"],
        },
        "clientExtensionResults": {},
    })
}

/// `AuthenticationResponseJSON`.
pub(super) fn authentication_json(
    credential_id: &[u8],
    client_data_json: &[u8],
    auth_data: &[u8],
    signature: &[u8],
    user_handle: Option<&[u8]>,
) -> Value {
    json!({
        "id": base64url(credential_id),
        "rawId": base64url(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": base64url(client_data_json),
            "authenticatorData": base64url(auth_data),
            "signature": base64url(signature),
            "userHandle": user_handle.map(base64url),
        },
        "clientExtensionResults": {},
    })
}

/// The challenge of WebAuthn options as it appears in `clientDataJSON`.
pub(super) fn challenge_text(challenge: &[u8]) -> String {
    base64url(challenge)
}

/// A fresh engine: memory store, a manual clock at a fixed start, default settings
/// changed by `configure`.
pub(super) fn engine(
    configure: impl FnOnce(crate::AuthBuilder) -> crate::AuthBuilder,
) -> (Auth, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_unix_millis(START_MILLIS));
    let builder = Auth::builder(RP_ID, ORIGIN)
        .expect("a valid relying party")
        .clock(clock.clone());
    let auth = configure(builder).build().expect("a valid configuration");
    (auth, clock)
}

/// The user and passkey of a sign-up by this authenticator, made once through the real
/// engine and copied into each fresh engine (so inputs do not depend on each other).
pub(super) struct Enrolled {
    pub(super) user: UserRecord,
    pub(super) credential: CredentialRecord,
}

impl Enrolled {
    /// The enrolled user and passkey.
    pub(super) fn get() -> &'static Enrolled {
        static ENROLLED: OnceLock<Enrolled> = OnceLock::new();
        ENROLLED.get_or_init(|| super::block_on(sign_up()))
    }

    /// Stores the user and passkey in `auth`'s store.
    pub(super) async fn store_in(&self, auth: &Auth) {
        let store = auth.store();
        store.create_user(&self.user).await.expect("memory store");
        store
            .create_credential(&self.credential)
            .await
            .expect("memory store");
    }
}

/// Signs up with this authenticator through `start_registration`/`finish_registration`.
async fn sign_up() -> Enrolled {
    let (auth, _clock) = engine(|builder| builder);
    let options = auth
        .passkeys()
        .start_registration(&RegisterOptionsRequest::default())
        .await
        .expect("registration options");
    let challenge = challenge_text(&options.options.challenge);
    let client_data_json = client_data("webauthn.create", &challenge, ORIGIN, None, &[]);
    let flags = USER_PRESENT | USER_VERIFIED | ATTESTED_DATA;
    let auth_data = authenticator_data(
        &rp_id_hash(),
        flags,
        0,
        Some((&[0; 16], CREDENTIAL_ID, &cose_key())),
        None,
    );
    let attestation = attestation_object("none", auth_data);
    let body = json!({
        "userId": options.user_id,
        "response": registration_json(CREDENTIAL_ID, &client_data_json, &attestation),
    });
    let request: RegisterVerifyRequest =
        parse_body(&serde_json::to_vec(&body).expect("JSON")).expect("a well-formed body");
    let signed_up = auth
        .passkeys()
        .finish_registration(&request, &ClientInfo::default())
        .await
        .expect("the software authenticator signs up");
    let store = auth.store();
    Enrolled {
        user: store
            .user_by_id(&signed_up.user.id)
            .await
            .expect("memory store")
            .expect("the new user"),
        credential: store
            .credential_by_id(&base64url(CREDENTIAL_ID))
            .await
            .expect("memory store")
            .expect("the new passkey"),
    }
}
