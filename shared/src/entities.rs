//! JSON views of the protocol's entities: what clients see of users, sessions,
//! credentials and QR logins. Optional fields are omitted when absent, never `null`.
//!
//! `User` and `Credential` are generic over their metadata type (default: a JSON object),
//! so apps can use their own serde types, like v0.4's `createAuth<UserMeta, CredentialMeta>`.

use crate::secret::BearerToken;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Free-form JSON metadata: any JSON object.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// An account. Email is optional: passkey-only accounts have none.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User<M = Metadata> {
    /// Stable user id.
    pub id: String,
    /// The linked email, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When the account was created.
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// App-defined metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<M>,
}

/// How a session was signed in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthMethod {
    /// A passkey on this device.
    #[serde(rename = "passkey")]
    Passkey,
    /// A magic link from an email.
    #[serde(rename = "magic-link")]
    MagicLink,
    /// A QR code scanned by a phone holding a passkey.
    #[serde(rename = "qr")]
    Qr,
}

impl AuthMethod {
    /// The wire name (`passkey`, `magic-link`, `qr`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Passkey => "passkey",
            AuthMethod::MagicLink => "magic-link",
            AuthMethod::Qr => "qr",
        }
    }
}

/// Where a session came from, beyond its method.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthContext {
    /// The QR login that created this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_session_id: Option<String>,
}

/// A signed-in session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Session id (not a secret; used to revoke one session).
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    /// The bearer token: present only in the response that created the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<BearerToken>,
    /// The signed-in user.
    pub user_id: String,
    /// How the user signed in.
    pub auth_method: AuthMethod,
    /// When the session stops being valid.
    pub expires_at: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// The `User-Agent` that signed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client address that signed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Extra context (the QR login behind a `qr` session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_context: Option<AuthContext>,
}

/// Whether a passkey is bound to one device or synced across devices.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceType {
    /// Not backup-eligible: lives on one authenticator.
    #[serde(rename = "singleDevice")]
    SingleDevice,
    /// Backup-eligible: may be synced (iCloud Keychain, Google Password Manager, ...).
    #[serde(rename = "multiDevice")]
    MultiDevice,
}

/// A registered passkey.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential<M = Metadata> {
    /// Credential id, base64url.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// COSE public key, base64url. Clients must not depend on this field.
    pub public_key: String,
    /// Signature counter last seen.
    pub counter: u32,
    /// Single- or multi-device.
    pub device_type: DeviceType,
    /// Whether the passkey is currently backed up.
    pub backed_up: bool,
    /// Transports the authenticator reported (`internal`, `hybrid`, `usb`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transports: Option<Vec<String>>,
    /// User-chosen label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When it was registered.
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    /// App-defined metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<M>,
    /// The authenticator model's AAGUID (lowercase, hyphenated), when the authenticator
    /// named one: it tells the passkey provider ("iCloud Keychain", "1Password", ...).
    /// Our addition to v0.4's shape; omitted for authenticators that report none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// When the passkey last signed in. Our addition to v0.4's shape; omitted until its
    /// first sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
}

/// The states of a QR login.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QrState {
    /// Shown on the desktop, not yet scanned.
    Created,
    /// A phone opened it.
    Scanned,
    /// The phone asked for a passkey challenge.
    Challenged,
    /// The phone signed in; the desktop may collect its session.
    Authenticated,
    /// Its time ran out.
    Expired,
    /// The desktop cancelled it.
    Cancelled,
}

impl QrState {
    /// Whether no further transition is possible (polling stops here).
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            QrState::Authenticated | QrState::Expired | QrState::Cancelled
        )
    }
}

/// A session token handed to the desktop of a completed QR login.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionGrant {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    /// The desktop's new bearer token.
    pub token: BearerToken,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// What the desktop learns when it polls a QR login.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrStatus {
    /// Current state.
    pub state: QrState,
    /// Whether the phone must enter the confirmation code shown on the desktop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_required: Option<bool>,
    /// Whether the confirmation code was entered correctly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<bool>,
    /// The desktop's session: present in exactly one `authenticated` response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionGrant>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T>(value: &T, expected: serde_json::Value)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(json, expected);
        let back: T = serde_json::from_value(json).unwrap();
        assert_eq!(&back, value);
    }

    const T0: Timestamp = Timestamp::from_unix_millis(1_795_988_498_000);

    #[test]
    fn user_round_trip_omits_absent_fields() {
        let bare = User::<Metadata> {
            id: "u1".into(),
            email: None,
            created_at: T0,
            metadata: None,
        };
        round_trip(
            &bare,
            json!({"id": "u1", "createdAt": "2026-11-29T21:41:38.000Z"}),
        );
        let mut meta = Metadata::new();
        meta.insert("plan".into(), json!("pro"));
        let full = User {
            email: Some("ada@example.com".into()),
            metadata: Some(meta),
            ..bare
        };
        round_trip(
            &full,
            json!({"id": "u1", "email": "ada@example.com",
                   "createdAt": "2026-11-29T21:41:38.000Z", "metadata": {"plan": "pro"}}),
        );
    }

    #[test]
    fn user_accepts_typed_metadata() {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        struct Prefs {
            theme: String,
        }
        let user: User<Prefs> = serde_json::from_value(json!({
            "id": "u1", "createdAt": "2026-11-29T21:41:38.000Z", "metadata": {"theme": "dark"}
        }))
        .unwrap();
        assert_eq!(user.metadata.unwrap().theme, "dark");
    }

    #[test]
    fn session_round_trip() {
        let session = Session {
            id: "s1".into(),
            token: Some("tok".into()),
            user_id: "u1".into(),
            auth_method: AuthMethod::Qr,
            expires_at: T0.plus_millis(1000),
            created_at: T0,
            user_agent: Some("UA".into()),
            ip_address: Some("127.0.0.1".into()),
            auth_context: Some(AuthContext {
                qr_session_id: Some("q1".into()),
            }),
        };
        round_trip(
            &session,
            json!({"id": "s1", "token": "tok", "userId": "u1", "authMethod": "qr",
                   "expiresAt": "2026-11-29T21:41:39.000Z",
                   "createdAt": "2026-11-29T21:41:38.000Z", "userAgent": "UA",
                   "ipAddress": "127.0.0.1", "authContext": {"qrSessionId": "q1"}}),
        );
        let listed = Session {
            token: None,
            user_agent: None,
            ip_address: None,
            auth_context: None,
            auth_method: AuthMethod::MagicLink,
            ..session
        };
        let json = serde_json::to_value(&listed).unwrap();
        assert!(json.get("token").is_none());
        assert_eq!(json["authMethod"], "magic-link");
    }

    #[test]
    fn credential_round_trip() {
        let credential = Credential::<Metadata> {
            id: "Y3JlZA".into(),
            user_id: "u1".into(),
            public_key: "pQECAyYgASFY".into(),
            counter: 7,
            device_type: DeviceType::MultiDevice,
            backed_up: true,
            transports: Some(vec!["internal".into(), "hybrid".into()]),
            label: Some("iPhone".into()),
            created_at: T0,
            metadata: None,
            aaguid: None,
            last_used_at: None,
        };
        round_trip(
            &credential,
            json!({"id": "Y3JlZA", "userId": "u1", "publicKey": "pQECAyYgASFY", "counter": 7,
                   "deviceType": "multiDevice", "backedUp": true,
                   "transports": ["internal", "hybrid"], "label": "iPhone",
                   "createdAt": "2026-11-29T21:41:38.000Z"}),
        );
        let used = Credential::<Metadata> {
            aaguid: Some("fbfc3007-154e-4ecc-8c0b-6e020557d7bd".into()),
            last_used_at: Some(T0),
            ..credential
        };
        let json = serde_json::to_value(&used).unwrap();
        assert_eq!(json["aaguid"], "fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
        assert_eq!(json["lastUsedAt"], "2026-11-29T21:41:38.000Z");
    }

    #[test]
    fn qr_status_round_trip() {
        round_trip(
            &QrStatus {
                state: QrState::Created,
                confirmation_required: None,
                confirmed: None,
                session: None,
            },
            json!({"state": "created"}),
        );
        round_trip(
            &QrStatus {
                state: QrState::Authenticated,
                confirmation_required: Some(true),
                confirmed: Some(true),
                session: Some(SessionGrant {
                    token: "t".into(),
                    expires_at: T0,
                }),
            },
            json!({"state": "authenticated", "confirmationRequired": true, "confirmed": true,
                   "session": {"token": "t", "expiresAt": "2026-11-29T21:41:38.000Z"}}),
        );
        for (state, name) in [
            (QrState::Scanned, "scanned"),
            (QrState::Challenged, "challenged"),
            (QrState::Expired, "expired"),
            (QrState::Cancelled, "cancelled"),
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), name);
        }
        assert!(QrState::Cancelled.is_terminal());
        assert!(!QrState::Challenged.is_terminal());
    }
}
