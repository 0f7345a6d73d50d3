//! The security events of an account (route 30, `GET /account/events`): an append-only
//! record of sign-ins, failed sign-ins of a known user, and changes to passkeys, sessions,
//! email and the account itself, listed newest first, a page at a time.
//!
//! Pages are cut by a keyset cursor (the time and id of the last event of a page), never
//! by an offset: a page costs the same however deep it is, and events recorded meanwhile
//! neither repeat nor skip entries.

use crate::entities::AuthMethod;
use crate::error::RequestError;
use crate::limits::MAX_ID_LEN;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Events per page when the query does not say.
pub const DEFAULT_EVENTS_LIMIT: usize = 20;
/// Most events per page.
pub const MAX_EVENTS_LIMIT: usize = 100;

/// What happened (`type` on the wire).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecurityEventType {
    /// A session was created: a sign-in (or the sign-in that ends a sign-up). Has
    /// `method`, `sessionId`, and `credentialId` for a passkey.
    SignIn,
    /// A sign-in of a known user was refused. Has `method` and `reason`.
    SignInFailed,
    /// A passkey was added (`credentialId`).
    PasskeyAdded,
    /// A passkey's label was changed (`credentialId`).
    PasskeyRenamed,
    /// A passkey was removed (`credentialId`).
    PasskeyRemoved,
    /// One session was ended: sign-out or revoked by id (`sessionId`).
    SessionRevoked,
    /// All of the user's sessions were ended.
    AllSessionsRevoked,
    /// An email address was attached to the account.
    EmailLinked,
    /// The account's email address was removed.
    EmailUnlinked,
    /// The account was deleted.
    AccountDeleted,
}

impl SecurityEventType {
    /// Every type, in declaration order.
    pub const ALL: [SecurityEventType; 10] = [
        SecurityEventType::SignIn,
        SecurityEventType::SignInFailed,
        SecurityEventType::PasskeyAdded,
        SecurityEventType::PasskeyRenamed,
        SecurityEventType::PasskeyRemoved,
        SecurityEventType::SessionRevoked,
        SecurityEventType::AllSessionsRevoked,
        SecurityEventType::EmailLinked,
        SecurityEventType::EmailUnlinked,
        SecurityEventType::AccountDeleted,
    ];

    /// The wire name (`signIn`, `passkeyAdded`, ...), also the stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            SecurityEventType::SignIn => "signIn",
            SecurityEventType::SignInFailed => "signInFailed",
            SecurityEventType::PasskeyAdded => "passkeyAdded",
            SecurityEventType::PasskeyRenamed => "passkeyRenamed",
            SecurityEventType::PasskeyRemoved => "passkeyRemoved",
            SecurityEventType::SessionRevoked => "sessionRevoked",
            SecurityEventType::AllSessionsRevoked => "allSessionsRevoked",
            SecurityEventType::EmailLinked => "emailLinked",
            SecurityEventType::EmailUnlinked => "emailUnlinked",
            SecurityEventType::AccountDeleted => "accountDeleted",
        }
    }

    /// The type with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Why a sign-in of a known user was refused (`reason` on the wire).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInFailure {
    /// The passkey's signature or the ceremony did not verify.
    VerificationFailed,
    /// The authenticator's signature counter did not increase: a possible clone.
    CounterRegression,
    /// The application's `before_authenticate` hook refused the sign-in.
    Blocked,
}

impl SignInFailure {
    /// Every reason, in declaration order.
    pub const ALL: [SignInFailure; 3] = [
        SignInFailure::VerificationFailed,
        SignInFailure::CounterRegression,
        SignInFailure::Blocked,
    ];

    /// The wire name, also the stored form.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInFailure::VerificationFailed => "verificationFailed",
            SignInFailure::CounterRegression => "counterRegression",
            SignInFailure::Blocked => "blocked",
        }
    }

    /// The reason with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == name)
    }
}

/// One entry of an account's security log. Never carries a token or a secret.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityEvent {
    /// Unique id.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: SecurityEventType,
    /// When it happened.
    pub created_at: Timestamp,
    /// How the user signed in (sign-in events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<AuthMethod>,
    /// Why a sign-in was refused (`signInFailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SignInFailure>,
    /// The client's address, as far as the server could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// The client's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The passkey concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The session concerned (created or ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// `GET /account/events`: a page of events, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityEventsResponse {
    /// At most `limit` events, newest first.
    pub events: Vec<SecurityEvent>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next_cursor: Option<EventCursor>,
}

/// Where a page of events ends: the time and id of its last (oldest) event. The next page
/// holds the events strictly older in `(time, id)` order. Opaque to clients; written
/// `<unix millis>.<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventCursor {
    /// Time of the last event returned.
    pub created_at: Timestamp,
    /// Id of the last event returned.
    pub id: String,
}

impl EventCursor {
    /// The cursor just after `event`.
    pub fn after(event: &SecurityEvent) -> Self {
        EventCursor {
            created_at: event.created_at,
            id: event.id.clone(),
        }
    }
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.created_at.as_unix_millis(), self.id)
    }
}

impl std::str::FromStr for EventCursor {
    type Err = RequestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = RequestError::InvalidField("cursor");
        let (millis, id) = text.split_once('.').ok_or(invalid.clone())?;
        let digits = !millis.is_empty() && millis.bytes().all(|b| b.is_ascii_digit());
        let id_ok =
            !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic());
        if !digits || !id_ok {
            return Err(invalid);
        }
        let millis: i64 = millis.parse().map_err(|_| invalid)?;
        Ok(EventCursor {
            created_at: Timestamp::from_unix_millis(millis),
            id: id.to_owned(),
        })
    }
}

impl Serialize for EventCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Which page to list: `?limit=` (1 to [`MAX_EVENTS_LIMIT`], default
/// [`DEFAULT_EVENTS_LIMIT`]) and `?cursor=` (a `nextCursor` from the previous page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPage {
    /// Most events to return.
    pub limit: usize,
    /// Start after this event; `None` for the newest.
    pub cursor: Option<EventCursor>,
}

impl Default for EventsPage {
    fn default() -> Self {
        EventsPage {
            limit: DEFAULT_EVENTS_LIMIT,
            cursor: None,
        }
    }
}

impl EventsPage {
    /// The first page with `limit` events per page.
    ///
    /// # Errors
    /// [`RequestError::InvalidField`]`("limit")` outside 1 to [`MAX_EVENTS_LIMIT`].
    pub fn first(limit: usize) -> Result<Self, RequestError> {
        if !(1..=MAX_EVENTS_LIMIT).contains(&limit) {
            return Err(RequestError::InvalidField("limit"));
        }
        Ok(EventsPage {
            limit,
            cursor: None,
        })
    }

    /// The page after `cursor`, with the same `limit`.
    pub fn after(self, cursor: EventCursor) -> Self {
        EventsPage {
            cursor: Some(cursor),
            ..self
        }
    }

    /// Reads a decoded query string's pairs. Unknown parameters are ignored (as other
    /// routes ignore unknown query parameters); a repeated or malformed `limit` or
    /// `cursor` is refused.
    ///
    /// ```
    /// use passkey_magic_shared::security_events::EventsPage;
    /// let page = EventsPage::from_query([("limit", "5"), ("cursor", "1700000000000.e-1")])
    ///     .unwrap();
    /// assert_eq!(page.limit, 5);
    /// assert_eq!(page.cursor.unwrap().id, "e-1");
    /// assert!(EventsPage::from_query([("limit", "0")]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`RequestError::InvalidField`] naming `limit` or `cursor`.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RequestError> {
        let mut limit = None;
        let mut cursor = None;
        for (name, value) in pairs {
            match name {
                "limit" => {
                    let parsed = value
                        .parse::<usize>()
                        .ok()
                        .filter(|_| limit.is_none() && value.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or(RequestError::InvalidField("limit"))?;
                    limit = Some(parsed);
                }
                "cursor" => {
                    if cursor.is_some() {
                        return Err(RequestError::InvalidField("cursor"));
                    }
                    cursor = Some(value.parse::<EventCursor>()?);
                }
                _ => {}
            }
        }
        let page = Self::first(limit.unwrap_or(DEFAULT_EVENTS_LIMIT))?;
        Ok(match cursor {
            Some(cursor) => page.after(cursor),
            None => page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_camel_case_without_absent_fields() {
        let event = SecurityEvent {
            id: "e1".into(),
            kind: SecurityEventType::SignInFailed,
            created_at: Timestamp::from_unix_millis(1_795_988_498_000),
            method: Some(AuthMethod::MagicLink),
            reason: Some(SignInFailure::CounterRegression),
            ip_address: Some("203.0.113.7".into()),
            user_agent: None,
            credential_id: None,
            session_id: None,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            json!({"id": "e1", "type": "signInFailed", "createdAt": "2026-11-29T21:41:38.000Z",
                   "method": "magic-link", "reason": "counterRegression",
                   "ipAddress": "203.0.113.7"})
        );
        assert_eq!(
            serde_json::from_value::<SecurityEvent>(json).unwrap(),
            event
        );
    }

    #[test]
    fn type_and_reason_names_match_serde() {
        for kind in SecurityEventType::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(SecurityEventType::from_name(kind.as_str()), Some(kind));
        }
        for reason in SignInFailure::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
            assert_eq!(SignInFailure::from_name(reason.as_str()), Some(reason));
        }
    }

    #[test]
    fn the_last_page_has_a_null_cursor() {
        let page = SecurityEventsResponse {
            events: vec![],
            next_cursor: None,
        };
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"events": [], "nextCursor": null})
        );
        let more = SecurityEventsResponse {
            events: vec![],
            next_cursor: Some(EventCursor {
                created_at: Timestamp::from_unix_millis(12),
                id: "a.b".into(),
            }),
        };
        let json = serde_json::to_value(&more).unwrap();
        assert_eq!(json["nextCursor"], "12.a.b");
        assert_eq!(
            serde_json::from_value::<SecurityEventsResponse>(json).unwrap(),
            more
        );
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(
            EventsPage::from_query([]).unwrap(),
            EventsPage {
                limit: 20,
                cursor: None
            }
        );
        assert_eq!(
            EventsPage::from_query([("limit", "100"), ("other", "x")])
                .unwrap()
                .limit,
            100
        );
        for bad in ["0", "101", "-1", "+5", "", "abc", "99999999999999999999999"] {
            assert_eq!(
                EventsPage::from_query([("limit", bad)]),
                Err(RequestError::InvalidField("limit")),
                "{bad:?}"
            );
        }
        assert!(EventsPage::from_query([("limit", "5"), ("limit", "6")]).is_err());
        for bad in [
            "",
            "abc",
            "12",
            ".x",
            "12.",
            "-5.x",
            "1.a b",
            "99999999999999999999.x",
        ] {
            assert_eq!(
                EventsPage::from_query([("cursor", bad)]),
                Err(RequestError::InvalidField("cursor")),
                "{bad:?}"
            );
        }
        let cursor: EventCursor = "1700000000000.3f2a-b".parse().unwrap();
        assert_eq!(cursor.created_at.as_unix_millis(), 1_700_000_000_000);
        assert_eq!(cursor.to_string(), "1700000000000.3f2a-b");
    }
}
