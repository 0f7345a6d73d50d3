//! The route table: every endpoint of the wire protocol, written once.
//!
//! The server mounts [`ROUTES`]; the client calls [`Endpoint::client_route`]. Paths are
//! relative to the mount prefix (default `/auth`) and use `{id}` for the one path
//! parameter some routes take.
//!
//! Client transport convention (v0.4): a call with a body is `POST`, a call without a body
//! is `GET`. Every endpoint therefore has a `GET` or `POST` form; REST-style `PATCH` and
//! `DELETE` aliases exist for some.

use alloc::string::{String, ToString};
use core::fmt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// An HTTP method used by the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: calls without a body.
    Get,
    /// `POST`: calls with a JSON object body.
    Post,
    /// `PATCH`: REST alias of an update.
    Patch,
    /// `DELETE`: REST alias of a removal.
    Delete,
}

impl Method {
    /// The method's name as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone.
    Public,
    /// A signed-in caller: `Authorization: Bearer <session token>`.
    Session,
    /// The desktop that created a QR session, proven by its status token.
    QrStatusToken,
}

/// The named rate-limit rules of the protocol, with their default budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RateLimitRule {
    /// `passkey.register.options`: 20 per 5 minutes.
    PasskeyRegisterOptions,
    /// `passkey.authenticate.options`: 30 per 5 minutes.
    PasskeyAuthenticateOptions,
    /// `passkey.authenticate.verify`: 30 per 5 minutes.
    PasskeyAuthenticateVerify,
    /// `magicLink.send`: 5 per 15 minutes, per address and email.
    MagicLinkSend,
    /// `magicLink.send.address`: 20 per 15 minutes per address, whatever the emails (a
    /// ceiling on top of `magicLink.send`, so one client cannot mail many addresses).
    MagicLinkSendPerAddress,
    /// `magicLink.verify`: 10 per 15 minutes.
    MagicLinkVerify,
    /// `qr.create`: 20 per 5 minutes.
    QrCreate,
    /// `qr.scan`: 30 per 5 minutes.
    QrScan,
    /// `qr.confirm`: 15 per 5 minutes.
    QrConfirm,
    /// `qr.complete`: 15 per 5 minutes.
    QrComplete,
    /// `email.available`: 10 per minute.
    EmailAvailable,
}

impl RateLimitRule {
    /// Every rule, in spec order.
    pub const ALL: [RateLimitRule; 11] = [
        RateLimitRule::PasskeyRegisterOptions,
        RateLimitRule::PasskeyAuthenticateOptions,
        RateLimitRule::PasskeyAuthenticateVerify,
        RateLimitRule::MagicLinkSend,
        RateLimitRule::MagicLinkSendPerAddress,
        RateLimitRule::MagicLinkVerify,
        RateLimitRule::QrCreate,
        RateLimitRule::QrScan,
        RateLimitRule::QrConfirm,
        RateLimitRule::QrComplete,
        RateLimitRule::EmailAvailable,
    ];

    /// The rule's name, as used in configuration (`magicLink.send`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            RateLimitRule::PasskeyRegisterOptions => "passkey.register.options",
            RateLimitRule::PasskeyAuthenticateOptions => "passkey.authenticate.options",
            RateLimitRule::PasskeyAuthenticateVerify => "passkey.authenticate.verify",
            RateLimitRule::MagicLinkSend => "magicLink.send",
            RateLimitRule::MagicLinkSendPerAddress => "magicLink.send.address",
            RateLimitRule::MagicLinkVerify => "magicLink.verify",
            RateLimitRule::QrCreate => "qr.create",
            RateLimitRule::QrScan => "qr.scan",
            RateLimitRule::QrConfirm => "qr.confirm",
            RateLimitRule::QrComplete => "qr.complete",
            RateLimitRule::EmailAvailable => "email.available",
        }
    }

    /// Looks a rule up by its configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// The default budget: `(requests, window in seconds)`.
    pub const fn default_budget(self) -> (u32, u64) {
        const MINUTE: u64 = 60;
        match self {
            RateLimitRule::PasskeyRegisterOptions => (20, 5 * MINUTE),
            RateLimitRule::PasskeyAuthenticateOptions => (30, 5 * MINUTE),
            RateLimitRule::PasskeyAuthenticateVerify => (30, 5 * MINUTE),
            RateLimitRule::MagicLinkSend => (5, 15 * MINUTE),
            RateLimitRule::MagicLinkSendPerAddress => (20, 15 * MINUTE),
            RateLimitRule::MagicLinkVerify => (10, 15 * MINUTE),
            RateLimitRule::QrCreate => (20, 5 * MINUTE),
            RateLimitRule::QrScan => (30, 5 * MINUTE),
            RateLimitRule::QrConfirm => (15, 5 * MINUTE),
            RateLimitRule::QrComplete => (15, 5 * MINUTE),
            RateLimitRule::EmailAvailable => (10, MINUTE),
        }
    }

    /// Whether the rule counts per client address *and* an identifier from the request
    /// body (`magicLink.send`: address + email). Such rules are checked by the handler
    /// once the body is parsed, not by the per-address middleware.
    pub const fn keyed_by_identifier(self) -> bool {
        matches!(self, RateLimitRule::MagicLinkSend)
    }
}

macro_rules! endpoints {
    ($( $(#[doc = $doc:literal])* $name:ident => $access:ident, $rule:expr; )*) => {
        /// One operation of the protocol (a row of the spec's route table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Endpoint {
            /// Every endpoint, in spec order.
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$name),*];

            /// Who may call it.
            pub const fn access(self) -> Access {
                match self { $(Endpoint::$name => Access::$access,)* }
            }

            /// The rate-limit rule that guards it, if any.
            pub const fn rate_limit(self) -> Option<RateLimitRule> {
                match self { $(Endpoint::$name => $rule,)* }
            }
        }
    };
}

endpoints! {
    /// 1. `POST /passkey/register/options`
    RegisterOptions => Public, Some(RateLimitRule::PasskeyRegisterOptions);
    /// 2. `POST /passkey/register/verify`
    RegisterVerify => Public, None;
    /// 3. `POST /passkey/authenticate/options`
    AuthenticateOptions => Public, Some(RateLimitRule::PasskeyAuthenticateOptions);
    /// 4. `POST /passkey/authenticate/verify`
    AuthenticateVerify => Public, Some(RateLimitRule::PasskeyAuthenticateVerify);
    /// 5. `POST /passkey/add/options`
    AddPasskeyOptions => Session, None;
    /// 6. `POST /passkey/add/verify`
    AddPasskeyVerify => Session, None;
    /// 7. `POST /magic-link/send`
    MagicLinkSend => Public, Some(RateLimitRule::MagicLinkSend);
    /// 8. `POST /magic-link/verify`
    MagicLinkVerify => Public, Some(RateLimitRule::MagicLinkVerify);
    /// 9. `POST /qr/create`
    QrCreate => Public, Some(RateLimitRule::QrCreate);
    /// 10. `GET /qr/{id}/status?token=…`
    QrStatus => QrStatusToken, None;
    /// 11. `POST /qr/{id}/scanned`
    QrScanned => Public, Some(RateLimitRule::QrScan);
    /// 12. `POST /qr/{id}/confirm`
    QrConfirm => Public, Some(RateLimitRule::QrConfirm);
    /// 13. `POST /qr/{id}/complete`
    QrComplete => Public, Some(RateLimitRule::QrComplete);
    /// 14. `POST /qr/{id}/cancel`
    QrCancel => QrStatusToken, None;
    /// 15. `GET /session`
    GetSession => Session, None;
    /// 16. `POST /session/revoke` (`DELETE /session`)
    RevokeSession => Session, None;
    /// 17. `GET /account`
    GetAccount => Session, None;
    /// 18. `POST /account/update` (`PATCH /account`)
    UpdateAccount => Session, None;
    /// 19. `POST /account/delete` (`DELETE /account`)
    DeleteAccount => Session, None;
    /// 20. `GET /account/sessions`
    ListSessions => Session, None;
    /// 21. `POST /account/sessions/delete-all` (`DELETE /account/sessions`)
    RevokeAllSessions => Session, None;
    /// 22. `POST /account/sessions/{id}/delete` (`DELETE /account/sessions/{id}`)
    RevokeSessionById => Session, None;
    /// 23. `GET /account/credentials`
    ListCredentials => Session, None;
    /// 24. `POST /account/credentials/{id}` (`PATCH` too)
    UpdateCredential => Session, None;
    /// 25. `POST /account/credentials/{id}/delete` (`DELETE /account/credentials/{id}`)
    RemoveCredential => Session, None;
    /// 26. `POST /account/link-email`
    LinkEmail => Session, None;
    /// 27. `POST /account/unlink-email`
    UnlinkEmail => Session, None;
    /// 28. `POST /account/can-link-email`
    CanLinkEmail => Session, None;
    /// 29. `POST /account/email-available`
    EmailAvailable => Public, Some(RateLimitRule::EmailAvailable);
    /// 30. `GET /account/events?limit=&cursor=`
    AccountEvents => Session, None;
}

/// One method + path that reaches an [`Endpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The operation.
    pub endpoint: Endpoint,
    /// The HTTP method.
    pub method: Method,
    /// The path below the mount prefix; `{id}` marks the path parameter.
    pub path: &'static str,
}

/// The name of the one path parameter some routes take.
pub const ID_PARAM: &str = "{id}";

const fn route(endpoint: Endpoint, method: Method, path: &'static str) -> Route {
    Route {
        endpoint,
        method,
        path,
    }
}

use Endpoint as E;
use Method::{Delete, Get, Patch, Post};

/// Every route the server answers. For each endpoint the first `GET`/`POST` entry is the
/// form clients use ([`Endpoint::client_route`]); the others are aliases.
pub const ROUTES: &[Route] = &[
    route(E::RegisterOptions, Post, "/passkey/register/options"),
    route(E::RegisterVerify, Post, "/passkey/register/verify"),
    route(
        E::AuthenticateOptions,
        Post,
        "/passkey/authenticate/options",
    ),
    route(E::AuthenticateVerify, Post, "/passkey/authenticate/verify"),
    route(E::AddPasskeyOptions, Post, "/passkey/add/options"),
    route(E::AddPasskeyVerify, Post, "/passkey/add/verify"),
    route(E::MagicLinkSend, Post, "/magic-link/send"),
    route(E::MagicLinkVerify, Post, "/magic-link/verify"),
    route(E::QrCreate, Post, "/qr/create"),
    route(E::QrStatus, Get, "/qr/{id}/status"),
    route(E::QrScanned, Post, "/qr/{id}/scanned"),
    route(E::QrConfirm, Post, "/qr/{id}/confirm"),
    route(E::QrComplete, Post, "/qr/{id}/complete"),
    route(E::QrCancel, Post, "/qr/{id}/cancel"),
    route(E::GetSession, Get, "/session"),
    route(E::RevokeSession, Post, "/session/revoke"),
    route(E::RevokeSession, Delete, "/session"),
    route(E::GetAccount, Get, "/account"),
    route(E::UpdateAccount, Post, "/account/update"),
    route(E::UpdateAccount, Patch, "/account"),
    route(E::DeleteAccount, Post, "/account/delete"),
    route(E::DeleteAccount, Delete, "/account"),
    route(E::ListSessions, Get, "/account/sessions"),
    route(E::RevokeAllSessions, Post, "/account/sessions/delete-all"),
    route(E::RevokeAllSessions, Delete, "/account/sessions"),
    route(E::RevokeSessionById, Post, "/account/sessions/{id}/delete"),
    route(E::RevokeSessionById, Delete, "/account/sessions/{id}"),
    route(E::ListCredentials, Get, "/account/credentials"),
    route(E::UpdateCredential, Post, "/account/credentials/{id}"),
    route(E::UpdateCredential, Patch, "/account/credentials/{id}"),
    route(
        E::RemoveCredential,
        Post,
        "/account/credentials/{id}/delete",
    ),
    route(E::RemoveCredential, Delete, "/account/credentials/{id}"),
    route(E::LinkEmail, Post, "/account/link-email"),
    route(E::UnlinkEmail, Post, "/account/unlink-email"),
    route(E::CanLinkEmail, Post, "/account/can-link-email"),
    route(E::EmailAvailable, Post, "/account/email-available"),
    route(E::AccountEvents, Get, "/account/events"),
];

impl Endpoint {
    /// Every route (the client form and its aliases) that reaches this endpoint.
    pub fn routes(self) -> impl Iterator<Item = &'static Route> {
        ROUTES.iter().filter(move |route| route.endpoint == self)
    }

    /// The route clients call: the `GET` form when the call has no body, else `POST`.
    pub fn client_route(self) -> &'static Route {
        // Every endpoint has a GET or POST entry; `routes::tests` proves it for all of them.
        let mut forms = self
            .routes()
            .filter(|route| matches!(route.method, Method::Get | Method::Post));
        match forms.next() {
            Some(route) => route,
            None => &ROUTES[0],
        }
    }

    /// Whether the endpoint's paths carry an `{id}` parameter.
    pub fn has_id(self) -> bool {
        self.client_route().has_id()
    }
}

/// Characters escaped in a path segment: everything but unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Route {
    /// Whether the path has an `{id}` parameter.
    pub fn has_id(&self) -> bool {
        self.path.contains(ID_PARAM)
    }

    /// The path with `{id}` replaced by `id`, percent-encoded as one path segment.
    ///
    /// ```
    /// use passkey_magic_shared::routes::Endpoint;
    /// let path = Endpoint::RemoveCredential.client_route().path_with_id("a/b c");
    /// assert_eq!(path, "/account/credentials/a%2Fb%20c/delete");
    /// ```
    pub fn path_with_id(&self, id: &str) -> String {
        let encoded = utf8_percent_encode(id, PATH_SEGMENT).to_string();
        self.path.replacen(ID_PARAM, &encoded, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_endpoint_has_a_get_or_post_route() {
        assert_eq!(Endpoint::ALL.len(), 30, "the spec has 30 routes");
        for &endpoint in Endpoint::ALL {
            let found = endpoint
                .routes()
                .any(|r| matches!(r.method, Method::Get | Method::Post));
            assert!(found, "{endpoint:?} has no GET/POST form");
            assert_eq!(endpoint.client_route().endpoint, endpoint);
        }
    }

    #[test]
    fn method_and_path_pairs_are_unique() {
        let mut seen = HashSet::new();
        for route in ROUTES {
            assert!(
                seen.insert((route.method, route.path)),
                "duplicate route {} {}",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn get_routes_are_bodyless_calls() {
        let gets: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.method == Method::Get)
            .map(|r| r.endpoint)
            .collect();
        assert_eq!(
            gets,
            [
                Endpoint::QrStatus,
                Endpoint::GetSession,
                Endpoint::GetAccount,
                Endpoint::ListSessions,
                Endpoint::ListCredentials,
                Endpoint::AccountEvents
            ]
        );
    }

    #[test]
    fn rule_names_round_trip() {
        for rule in RateLimitRule::ALL {
            assert_eq!(RateLimitRule::from_name(rule.name()), Some(rule));
        }
        assert_eq!(RateLimitRule::from_name("nope"), None);
        assert_eq!(RateLimitRule::MagicLinkSend.default_budget(), (5, 900));
    }

    #[test]
    fn only_magic_link_send_is_keyed_by_an_identifier() {
        let keyed: Vec<_> = RateLimitRule::ALL
            .into_iter()
            .filter(|rule| rule.keyed_by_identifier())
            .collect();
        assert_eq!(keyed, [RateLimitRule::MagicLinkSend]);
    }

    #[test]
    fn id_routes_are_the_spec_ones() {
        let with_id: HashSet<_> = Endpoint::ALL.iter().filter(|e| e.has_id()).collect();
        assert_eq!(with_id.len(), 8);
        assert!(with_id.contains(&Endpoint::QrStatus));
        assert!(!Endpoint::GetSession.has_id());
        assert_eq!(
            Endpoint::QrScanned.client_route().path_with_id("q1"),
            "/qr/q1/scanned"
        );
    }

    #[test]
    fn access_rules_follow_the_spec() {
        assert_eq!(Endpoint::EmailAvailable.access(), Access::Public);
        assert_eq!(Endpoint::CanLinkEmail.access(), Access::Session);
        assert_eq!(Endpoint::QrCancel.access(), Access::QrStatusToken);
        assert_eq!(
            Endpoint::QrScanned.rate_limit(),
            Some(RateLimitRule::QrScan)
        );
    }
}
