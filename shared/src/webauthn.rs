//! WebAuthn JSON types, from `webauthn-rs-proto`.
//!
//! Options are sent as the inner `publicKey` object — what
//! `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`
//! accept (SimpleWebAuthn's `*OptionsJSON` shapes). Responses are what
//! `PublicKeyCredential.prototype.toJSON()` produces; unknown extra fields are ignored.
//!
//! Request and response types of [`crate::passkeys`] and [`crate::qr`] are generic over
//! these payloads, so a browser client can keep them opaque (no decoding in wasm).

pub use webauthn_rs_proto::{
    PublicKeyCredential as AuthenticationResponse,
    PublicKeyCredentialCreationOptions as CreationOptions,
    PublicKeyCredentialRequestOptions as RequestOptions,
    RegisterPublicKeyCredential as RegistrationResponse,
};
