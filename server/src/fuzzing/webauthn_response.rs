//! Target `webauthn_response`: registration and sign-in answers fed to a fresh engine.

use super::authenticator::{
    ATTESTED_DATA, CREDENTIAL_ID, Enrolled, ORIGIN, USER_PRESENT, USER_VERIFIED,
    attestation_object, authentication_json, authenticator_data, challenge_text, client_data,
    cose_key, engine, registration_json, rp_id_hash, sign,
};
use crate::error::Error;
use crate::secrets::base64url;
use crate::sessions::ClientInfo;
use crate::{Auth, Result};
use arbitrary::{Arbitrary, Unstructured};
use passkey_magic_shared::passkeys::{
    AuthenticateOptionsRequest, AuthenticateVerifyRequest, RegisterOptionsRequest,
    RegisterVerifyRequest,
};
use passkey_magic_shared::request::parse_body;
use serde_json::{Value, json};

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    /// A sign-in answer built around the real challenge, signed by the enrolled key.
    SignIn(SignIn<'a>),
    /// A sign-up answer built around the real challenge ("none" attestation).
    Register(Register<'a>),
    /// Any bytes as the body of `authenticate/verify`, after a real sign-in started.
    RawSignIn(&'a [u8]),
    /// Any bytes as the body of `register/verify`, after a real sign-up started.
    RawRegister(&'a [u8]),
}

#[derive(Debug, Arbitrary)]
struct ClientData<'a> {
    kind: Choice<&'a str>,
    challenge: Challenge<'a>,
    origin: Choice<&'a str>,
    cross_origin: Option<bool>,
    extra: Vec<(&'a str, Leaf<'a>)>,
}

/// The right value, or another one.
#[derive(Debug, Arbitrary)]
enum Choice<T> {
    Right,
    Other(T),
}

#[derive(Debug, Arbitrary)]
enum Challenge<'a> {
    Right,
    /// The right challenge cut after this many characters.
    Cut(u8),
    /// The right challenge in standard base64 with padding.
    Padded,
    Other(&'a str),
}

#[derive(Debug, Arbitrary)]
enum Leaf<'a> {
    Null,
    Bool(bool),
    Number(i64),
    Text(&'a str),
}

#[derive(Debug, Arbitrary)]
struct AuthData<'a> {
    rp_id_hash: Choice<[u8; 32]>,
    flags: u8,
    counter: u32,
    extensions: Option<&'a [u8]>,
    /// Cut the authenticator data to this many bytes.
    cut: Option<u16>,
}

/// rp id hash (32 bytes), flags (1), signature counter (4).
const HEADER_LENGTH: usize = 37;

#[derive(Debug, Arbitrary)]
struct SignIn<'a> {
    /// Ask for the enrolled user's passkeys (else usernameless).
    scoped: bool,
    client_data: ClientData<'a>,
    auth_data: AuthData<'a>,
    credential_id: Choice<&'a [u8]>,
    user_handle: UserHandle<'a>,
    signature: Signature<'a>,
}

#[derive(Debug, Arbitrary)]
enum UserHandle<'a> {
    Enrolled,
    Absent,
    Other(&'a [u8]),
}

#[derive(Debug, Arbitrary)]
enum Signature<'a> {
    Valid,
    /// The valid signature with one byte changed.
    Flipped {
        index: u16,
        mask: u8,
    },
    Other(&'a [u8]),
}

#[derive(Debug, Arbitrary)]
struct Register<'a> {
    user_id: Option<&'a str>,
    email: Option<&'a str>,
    user_name: Option<&'a str>,
    /// Send another `userId` than the options gave.
    other_user_id: Option<&'a str>,
    client_data: ClientData<'a>,
    auth_data: AuthData<'a>,
    format: Choice<&'a str>,
    aaguid: [u8; 16],
    credential_id: &'a [u8],
    key: Choice<&'a [u8]>,
}

/// Feeds one fuzzed answer to a fresh engine with the enrolled passkey. The engine must
/// answer (an error is fine, a panic or a 5xx is not), and it may accept an answer only
/// when that answer is valid by construction (right challenge, type, origin, rp id
/// hash, user presence and verification, a known credential with a valid signature and
/// an advancing counter; for a sign-up, "none" attestation of a new credential). What it
/// accepts is recorded: a session, a user and a passkey that exist.
///
/// # Panics
/// When a property fails (that is the fuzzer's signal).
pub fn webauthn_response(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let enrolled = Enrolled::get();
    super::block_on(async {
        let (auth, _clock) = engine(|builder| builder);
        enrolled.store_in(&auth).await;
        match input {
            Input::SignIn(sign_in) => check_sign_in(&auth, enrolled, sign_in).await,
            Input::Register(register) => check_register(&auth, register).await,
            Input::RawSignIn(body) => {
                let start = auth
                    .passkeys()
                    .start_sign_in(&AuthenticateOptionsRequest::default())
                    .await;
                start.expect("sign-in options");
                if let Ok(request) = parse_body::<AuthenticateVerifyRequest>(body) {
                    let result = auth
                        .passkeys()
                        .finish_sign_in(&request.response, &ClientInfo::default())
                        .await;
                    assert_refused(&result, "an unsigned sign-in answer");
                }
            }
            Input::RawRegister(body) => {
                let start = auth
                    .passkeys()
                    .start_registration(&RegisterOptionsRequest::default())
                    .await;
                start.expect("registration options");
                if let Ok(request) = parse_body::<RegisterVerifyRequest>(body) {
                    let result = auth
                        .passkeys()
                        .finish_registration(&request, &ClientInfo::default())
                        .await;
                    assert_refused(&result, "a sign-up answer to an unknown challenge");
                }
            }
        }
    });
}

/// The answer's `clientDataJSON` and whether it is right for `kind` and `challenge`.
fn build_client_data(input: &ClientData<'_>, kind: &str, challenge: &[u8]) -> (Vec<u8>, bool) {
    use base64::Engine;
    let right = challenge_text(challenge);
    let (challenge_text, challenge_ok) = match input.challenge {
        Challenge::Right => (right, true),
        Challenge::Cut(length) => {
            let cut: String = right.chars().take(usize::from(length)).collect();
            let ok = cut == right;
            (cut, ok)
        }
        Challenge::Padded => (
            base64::engine::general_purpose::STANDARD.encode(challenge),
            false,
        ),
        Challenge::Other(other) => (other.to_owned(), other == right),
    };
    let (kind, kind_ok) = match input.kind {
        Choice::Right => (kind, true),
        Choice::Other(other) => (other, other == kind),
    };
    let (origin, origin_ok) = match input.origin {
        Choice::Right => (ORIGIN, true),
        Choice::Other(other) => (other, other == ORIGIN),
    };
    let extra: Vec<(String, Value)> = input
        .extra
        .iter()
        .map(|(name, leaf)| {
            let value = match leaf {
                Leaf::Null => Value::Null,
                Leaf::Bool(value) => json!(value),
                Leaf::Number(value) => json!(value),
                Leaf::Text(value) => json!(value),
            };
            ((*name).to_owned(), value)
        })
        .collect();
    // An extra member may replace a checked one: then only an identical value keeps it right.
    let replaced_ok = extra.iter().all(|(name, value)| match name.as_str() {
        "type" => value.as_str() == Some(kind),
        "challenge" => value.as_str() == Some(challenge_text.as_str()),
        "origin" => value.as_str() == Some(origin),
        "crossOrigin" => value != &json!(true),
        _ => true,
    });
    let json = client_data(kind, &challenge_text, origin, input.cross_origin, &extra);
    let ok =
        kind_ok && challenge_ok && origin_ok && input.cross_origin != Some(true) && replaced_ok;
    (json, ok)
}

/// The authenticator data and whether its rp id hash and user flags are right.
fn build_auth_data(
    input: &AuthData<'_>,
    attested: Option<(&[u8; 16], &[u8], &[u8])>,
    required_flags: u8,
) -> (Vec<u8>, bool) {
    let (hash, hash_ok) = match &input.rp_id_hash {
        Choice::Right => (rp_id_hash(), true),
        Choice::Other(other) => (*other, *other == rp_id_hash()),
    };
    let mut data = authenticator_data(
        &hash,
        input.flags,
        input.counter,
        attested,
        input.extensions,
    );
    let full_length = data.len();
    if let Some(length) = input.cut {
        data.truncate(usize::from(length));
    }
    // What is signed decides: a cut that keeps the rp id hash, flags and counter (and,
    // for a sign-up, the attested credential) leaves a valid answer. Bytes after those
    // without the extension flag are ignored by webauthn-rs (they are signed, so no
    // forgery; found by this target, left as webauthn-rs's choice).
    let extensions = input.extensions.map_or(0, <[u8]>::len);
    let kept = if attested.is_some() {
        full_length - extensions
    } else {
        HEADER_LENGTH
    };
    let cut = data.len() < kept.min(full_length);
    let ok = hash_ok && input.flags & required_flags == required_flags && !cut;
    (data, ok)
}

async fn check_sign_in(auth: &Auth, enrolled: &Enrolled, input: SignIn<'_>) {
    let request = AuthenticateOptionsRequest {
        user_id: input.scoped.then(|| enrolled.user.id.clone()),
        qr_session_id: None,
    };
    let options = auth
        .passkeys()
        .start_sign_in(&request)
        .await
        .expect("sign-in options");
    let (client_data_json, client_data_ok) = build_client_data(
        &input.client_data,
        "webauthn.get",
        &options.options.challenge,
    );
    let (auth_data, auth_data_ok) =
        build_auth_data(&input.auth_data, None, USER_PRESENT | USER_VERIFIED);
    let valid = sign(&auth_data, &client_data_json);
    let (signature, signature_ok) = match input.signature {
        Signature::Valid => (valid, true),
        Signature::Flipped { index, mask } => {
            let mut signature = valid.clone();
            if let Some(byte) = signature.get_mut(usize::from(index) % valid.len()) {
                *byte ^= mask;
            }
            let same = signature == valid;
            (signature, same)
        }
        Signature::Other(other) => (other.to_vec(), other == valid.as_slice()),
    };
    let (credential_id, credential_ok) = match input.credential_id {
        Choice::Right => (CREDENTIAL_ID, true),
        Choice::Other(other) => (other, other == CREDENTIAL_ID),
    };
    let user_handle_bytes = enrolled.user.user_handle.as_bytes().to_vec();
    let (user_handle, user_handle_ok) = match input.user_handle {
        UserHandle::Enrolled => (Some(user_handle_bytes.as_slice()), true),
        // A usernameless sign-in needs the handle to find the user.
        UserHandle::Absent => (None, input.scoped),
        UserHandle::Other(other) => (Some(other), other == user_handle_bytes.as_slice()),
    };
    let counter = input.auth_data.counter;
    let counter_ok =
        counter > enrolled.credential.counter || (counter == 0 && enrolled.credential.counter == 0);
    let body = json!({
        "response": authentication_json(
            credential_id,
            &client_data_json,
            &auth_data,
            &signature,
            user_handle,
        ),
    });
    let Ok(request) =
        parse_body::<AuthenticateVerifyRequest>(&serde_json::to_vec(&body).expect("JSON"))
    else {
        return;
    };
    let result = auth
        .passkeys()
        .finish_sign_in(&request.response, &ClientInfo::default())
        .await;
    let valid = client_data_ok
        && auth_data_ok
        && signature_ok
        && credential_ok
        && user_handle_ok
        && counter_ok;
    match result {
        Ok(signed_in) => {
            assert!(
                valid,
                "a sign-in answer that is not valid by construction was accepted: {input:?}"
            );
            let token = signed_in.session.token.expect("a new session's token");
            let session = auth
                .sessions()
                .validate(token.expose())
                .await
                .expect("memory store")
                .expect("the new session is valid");
            assert_eq!(session.user.id, enrolled.user.id);
            let stored = auth
                .store()
                .credential_by_id(&base64url(CREDENTIAL_ID))
                .await
                .expect("memory store")
                .expect("the passkey");
            assert_eq!(stored.counter, counter, "the counter is recorded");
        }
        Err(error) => assert_client_error(&error),
    }
}

async fn check_register(auth: &Auth, input: Register<'_>) {
    let request = RegisterOptionsRequest {
        user_id: input.user_id.map(str::to_owned),
        email: input.email.map(str::to_owned),
        user_name: input.user_name.map(str::to_owned),
    };
    let options = match auth.passkeys().start_registration(&request).await {
        Ok(options) => options,
        Err(error) => return assert_client_error(&error),
    };
    let (client_data_json, client_data_ok) = build_client_data(
        &input.client_data,
        "webauthn.create",
        &options.options.challenge,
    );
    let enrolled_key = cose_key();
    let (key, key_ok) = match input.key {
        Choice::Right => (enrolled_key.as_slice(), true),
        Choice::Other(other) => (other, other == enrolled_key.as_slice()),
    };
    let (auth_data, auth_data_ok) = build_auth_data(
        &input.auth_data,
        Some((&input.aaguid, input.credential_id, key)),
        USER_PRESENT | USER_VERIFIED | ATTESTED_DATA,
    );
    let (format, format_ok) = match input.format {
        Choice::Right => ("none", true),
        Choice::Other(other) => (other, other == "none"),
    };
    let attestation = attestation_object(format, auth_data);
    let user_id = input
        .other_user_id
        .map_or(options.user_id.clone(), str::to_owned);
    let body = json!({
        "userId": user_id,
        "response": registration_json(input.credential_id, &client_data_json, &attestation),
    });
    let Ok(request) =
        parse_body::<RegisterVerifyRequest>(&serde_json::to_vec(&body).expect("JSON"))
    else {
        return;
    };
    let result = auth
        .passkeys()
        .finish_registration(&request, &ClientInfo::default())
        .await;
    let store = auth.store();
    let new_user = store
        .user_by_id(&options.user_id)
        .await
        .expect("memory store");
    match result {
        Ok(signed_up) => {
            let valid = client_data_ok
                && auth_data_ok
                && key_ok
                && format_ok
                && user_id == options.user_id
                && input.credential_id != CREDENTIAL_ID;
            assert!(
                valid,
                "a sign-up answer that is not valid by construction was accepted: {input:?}"
            );
            assert_eq!(signed_up.user.id, options.user_id);
            assert!(new_user.is_some(), "the new user is stored");
            let credential = store
                .credential_by_id(&signed_up.credential.id)
                .await
                .expect("memory store")
                .expect("the new passkey is stored");
            assert_eq!(credential.user_id, options.user_id);
        }
        Err(error) => {
            assert_client_error(&error);
            assert!(
                new_user.is_none(),
                "a refused sign-up left a user behind: {error:?}"
            );
        }
    }
}

fn assert_refused<T>(result: &Result<T>, what: &str) {
    match result {
        Ok(_) => panic!("{what} was accepted"),
        Err(error) => assert_client_error(error),
    }
}

/// Bad answers are the client's fault: a 4xx, never an internal error.
fn assert_client_error(error: &Error) {
    assert!(
        error.status().is_client_error(),
        "a bad answer must get a 4xx, got {} ({error:?})",
        error.status()
    );
}
