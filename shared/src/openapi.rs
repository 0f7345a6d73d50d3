//! The OpenAPI 3.1 document of the wire protocol (feature `openapi`).
//!
//! Built from the route table ([`ROUTES`]) and the wire types' schemas (derived with
//! utoipa next to their serde attributes), so it cannot drift from what the server mounts
//! and parses. What each endpoint takes and returns is one exhaustive `match` on
//! [`Endpoint`] (`contract`): adding an endpoint without documenting it does not compile.
//!
//! The server serves the document at `{prefix}/openapi.json`; the repository keeps a
//! pretty-printed copy in `docs/openapi.json`, checked by a test.
//!
//! ```
//! let document = passkey_magic_shared::openapi::document();
//! let json = serde_json::to_value(&document).unwrap();
//! assert_eq!(json["openapi"], "3.1.0");
//! assert!(json["paths"]["/qr/{id}/status"]["get"].is_object());
//! ```

use crate::accounts::{
    AccountResponse, CanLinkEmailResponse, CredentialsResponse, EmailAvailableResponse,
    EmailRequest, UpdateAccountRequest, UpdateCredentialRequest,
};
use crate::error::ErrorBody;
use crate::limits::{MAX_ID_LEN, MAX_QR_WAIT_SECONDS};
use crate::magic_links::{
    SendMagicLinkRequest, SendMagicLinkResponse, VerifyMagicLinkRequest, VerifyMagicLinkResponse,
};
use crate::passkeys::{
    AddPasskeyOptionsRequest, AddPasskeyVerifyResponse, AuthenticateOptionsRequest,
    OptionsResponse, RegisterOptionsRequest, RegisterOptionsResponse, RegisterVerifyRequest,
    RegisterVerifyResponse, ResponseRequest,
};
use crate::qr::{CancelQrRequest, ConfirmQrRequest, CreateQrResponse};
use crate::request::Empty;
use crate::routes::{Access, Endpoint, Method, ROUTES, Route};
use crate::security_events::{DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT, SecurityEventsResponse};
use crate::sessions::{OkResponse, SessionResponse, SessionsResponse, SignInResponse};
use crate::{QrStatus, RateLimitRule};
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, Paths, Ref,
    RefOr, Required, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

/// Where the `passkey-magic` binary mounts the API by default: the document's server URL.
pub const DEFAULT_PREFIX: &str = "/auth";

/// The document's own path below the prefix.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// The health probes the server answers under the prefix (not protocol endpoints, so not
/// in [`ROUTES`]).
pub const HEALTH_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// The security scheme of `Authorization: Bearer <session token>`.
pub const BEARER_SCHEME: &str = "bearerAuth";

/// The security scheme of the session cookie (servers in cookie mode only).
pub const COOKIE_SCHEME: &str = "sessionCookie";

/// The session cookie's default name (`CookieConfig::new()` on the server).
const DEFAULT_COOKIE_NAME: &str = "__Host-passkey-magic";

/// What one endpoint takes and returns, for its operations in the document.
struct Contract {
    /// One line for the operation list.
    summary: &'static str,
    /// The JSON object the request body must be; `None` when the handler reads no body
    /// (clients send `{}` with `POST`, and any JSON object is accepted).
    body: Option<RefOr<Schema>>,
    /// The `200` body.
    response: RefOr<Schema>,
}

/// Registers component schemas as operations reference them.
#[derive(Default)]
struct Schemas {
    found: BTreeMap<String, RefOr<Schema>>,
}

impl Schemas {
    /// A `$ref` to `T`'s schema, registered with every schema it references.
    fn of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut dependencies = Vec::new();
        T::schemas(&mut dependencies);
        self.found.extend(dependencies);
        let name = T::name().into_owned();
        self.found.insert(name.clone(), T::schema());
        RefOr::Ref(Ref::from_schema_name(name))
    }

    /// A request body of `T`, required.
    fn body<T: ToSchema>(&mut self) -> Option<RefOr<Schema>> {
        Some(self.of::<T>())
    }
}

/// The request and response of `endpoint`. Exhaustive on purpose: a new endpoint must be
/// documented here before the crate compiles with `openapi`.
fn contract(endpoint: Endpoint, schemas: &mut Schemas) -> Contract {
    use Endpoint as E;
    let (summary, body, response) = match endpoint {
        E::RegisterOptions => (
            "Start a passkey sign-up: WebAuthn creation options for a new user",
            schemas.body::<RegisterOptionsRequest>(),
            schemas.of::<RegisterOptionsResponse>(),
        ),
        E::RegisterVerify => (
            "Finish a passkey sign-up: creates the user, the passkey and a session",
            schemas.body::<RegisterVerifyRequest>(),
            schemas.of::<RegisterVerifyResponse>(),
        ),
        E::AuthenticateOptions => (
            "Start a passkey sign-in: WebAuthn request options",
            schemas.body::<AuthenticateOptionsRequest>(),
            schemas.of::<OptionsResponse<()>>(),
        ),
        E::AuthenticateVerify => (
            "Finish a passkey sign-in: a new session",
            schemas.body::<ResponseRequest<()>>(),
            schemas.of::<SignInResponse>(),
        ),
        E::AddPasskeyOptions => (
            "Start adding a passkey to the signed-in account",
            schemas.body::<AddPasskeyOptionsRequest>(),
            schemas.of::<OptionsResponse<()>>(),
        ),
        E::AddPasskeyVerify => (
            "Finish adding a passkey to the signed-in account",
            schemas.body::<ResponseRequest<()>>(),
            schemas.of::<AddPasskeyVerifyResponse>(),
        ),
        E::MagicLinkSend => (
            "Email a sign-in link",
            schemas.body::<SendMagicLinkRequest>(),
            schemas.of::<SendMagicLinkResponse>(),
        ),
        E::MagicLinkVerify => (
            "Sign in with the token of an emailed link (creates the user if new)",
            schemas.body::<VerifyMagicLinkRequest>(),
            schemas.of::<VerifyMagicLinkResponse>(),
        ),
        E::QrCreate => (
            "Desktop: start a QR cross-device login",
            schemas.body::<Empty>(),
            schemas.of::<CreateQrResponse>(),
        ),
        E::QrStatus => (
            "Desktop: the QR login's state (long-poll with `wait`); the session once authenticated",
            None,
            schemas.of::<QrStatus>(),
        ),
        E::QrScanned => (
            "Phone: mark the QR code scanned",
            schemas.body::<Empty>(),
            schemas.of::<OkResponse>(),
        ),
        E::QrConfirm => (
            "Phone: enter the confirmation code shown on the desktop",
            schemas.body::<ConfirmQrRequest>(),
            schemas.of::<OkResponse>(),
        ),
        E::QrComplete => (
            "Phone: sign the desktop in with a passkey assertion",
            schemas.body::<ResponseRequest<()>>(),
            schemas.of::<SignInResponse>(),
        ),
        E::QrCancel => (
            "Desktop: cancel the QR login",
            schemas.body::<CancelQrRequest>(),
            schemas.of::<OkResponse>(),
        ),
        E::GetSession => (
            "The signed-in user and the current session",
            None,
            schemas.of::<SessionResponse>(),
        ),
        E::RevokeSession => (
            "Sign out: revoke the current session",
            None,
            schemas.of::<OkResponse>(),
        ),
        E::GetAccount => ("The signed-in user", None, schemas.of::<AccountResponse>()),
        E::UpdateAccount => (
            "Replace the signed-in user's metadata",
            schemas.body::<UpdateAccountRequest>(),
            schemas.of::<AccountResponse>(),
        ),
        E::DeleteAccount => (
            "Delete the signed-in user with its passkeys and sessions",
            None,
            schemas.of::<OkResponse>(),
        ),
        E::ListSessions => (
            "The signed-in user's active sessions (without tokens)",
            None,
            schemas.of::<SessionsResponse>(),
        ),
        E::RevokeAllSessions => (
            "Revoke every session of the signed-in user",
            None,
            schemas.of::<OkResponse>(),
        ),
        E::RevokeSessionById => (
            "Revoke one of the signed-in user's sessions",
            None,
            schemas.of::<OkResponse>(),
        ),
        E::ListCredentials => (
            "The signed-in user's passkeys",
            None,
            schemas.of::<CredentialsResponse>(),
        ),
        E::UpdateCredential => (
            "Rename a passkey or replace its metadata",
            schemas.body::<UpdateCredentialRequest>(),
            schemas.of::<OkResponse>(),
        ),
        E::RemoveCredential => (
            "Remove a passkey (not the last one of a user without email)",
            None,
            schemas.of::<OkResponse>(),
        ),
        E::LinkEmail => (
            "Link an email address to the signed-in user",
            schemas.body::<EmailRequest>(),
            schemas.of::<AccountResponse>(),
        ),
        E::UnlinkEmail => (
            "Unlink the signed-in user's email (not when it has no passkey)",
            None,
            schemas.of::<AccountResponse>(),
        ),
        E::CanLinkEmail => (
            "Whether the signed-in user may link an email address",
            schemas.body::<EmailRequest>(),
            schemas.of::<CanLinkEmailResponse>(),
        ),
        E::EmailAvailable => (
            "Whether an email address is free for a new account",
            schemas.body::<EmailRequest>(),
            schemas.of::<EmailAvailableResponse>(),
        ),
        E::AccountEvents => (
            "The signed-in user's security events (sign-ins, passkey, session and email \
             changes), newest first, a page at a time",
            None,
            schemas.of::<SecurityEventsResponse>(),
        ),
    };
    Contract {
        summary,
        body,
        response,
    }
}

/// The error responses operations share, in `components/responses`.
const ERROR_RESPONSES: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "Malformed request or a broken rule; nothing changed (`invalid_request`).",
    ),
    (
        "401",
        "Unauthorized",
        "Missing, invalid or expired session or status token (`unauthorized`).",
    ),
    (
        "404",
        "NotFound",
        "Unknown id, or a resource the caller does not own, or a route switched off \
         (`not_found`).",
    ),
    (
        "413",
        "PayloadTooLarge",
        "Request body larger than 64 KiB (`invalid_request`).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "A request body whose `Content-Type` is not `application/json` (`invalid_request`).",
    ),
    (
        "429",
        "TooManyRequests",
        "Rate limited: retry after `Retry-After` seconds (`rate_limited`).",
    ),
    (
        "503",
        "ServiceUnavailable",
        "Storage or email delivery unavailable; retry later (`unavailable`).",
    ),
];

/// `{"$ref": "#/components/responses/NAME"}` of an error status.
fn error_response(status: &str) -> Option<RefOr<utoipa::openapi::Response>> {
    ERROR_RESPONSES
        .iter()
        .find(|(code, _, _)| *code == status)
        .map(|(_, name, _)| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))))
}

/// A `200` response with a JSON body of `schema`.
fn json_response(description: &str, schema: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// The `200` response of `endpoint`. A new QR login links to the operations on it: the
/// `sessionId` is their `{id}`, the `statusToken` the status poll's `token` (OpenAPI
/// links, which clients and Schemathesis's stateful phase follow).
fn success(endpoint: Endpoint, schema: RefOr<Schema>) -> utoipa::openapi::Response {
    let mut response = json_response("Success.", schema);
    if endpoint == Endpoint::QrCreate {
        for target in [
            Endpoint::QrStatus,
            Endpoint::QrScanned,
            Endpoint::QrConfirm,
            Endpoint::QrComplete,
            Endpoint::QrCancel,
        ] {
            let id = operation_id(target.client_route());
            let mut link = LinkBuilder::new()
                .operation_id(id.clone())
                .parameter("id", "$response.body#/sessionId");
            if target == Endpoint::QrStatus {
                link = link.parameter("token", "$response.body#/statusToken");
            }
            response.links.insert(id, RefOr::T(link.build()));
        }
    }
    response
}

/// The operation id of a route: the endpoint's name for its client form, with the method
/// appended for aliases (`revokeSession`, `revokeSessionDelete`).
fn operation_id(route: &Route) -> String {
    let name = format!("{:?}", route.endpoint);
    let mut id: String = name
        .chars()
        .take(1)
        .flat_map(char::to_lowercase)
        .chain(name.chars().skip(1))
        .collect();
    if route.endpoint.client_route() != route {
        let method = route.method.as_str();
        id.push_str(&method[..1]);
        id.push_str(&method[1..].to_ascii_lowercase());
    }
    id
}

/// The tag of a route: its first path segment (`passkey`, `magic-link`, `qr`, ...).
fn tag(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

fn http_method(method: Method) -> HttpMethod {
    match method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

/// A string schema with length bounds.
fn string_schema(min: usize, max: Option<usize>) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min))
            .max_length(max)
            .build(),
    )
}

/// The rate-limit sentence of an operation's description.
fn rate_limit_note(rule: RateLimitRule) -> String {
    let (requests, seconds) = rule.default_budget();
    let scope = if rule.keyed_by_identifier() {
        format!(
            "per client address and email, and at most {} per address (`{}`)",
            RateLimitRule::MagicLinkSendPerAddress.default_budget().0,
            RateLimitRule::MagicLinkSendPerAddress.name()
        )
    } else {
        "per client address".to_owned()
    };
    format!(
        "Rate limit `{}`: {requests} requests per {seconds} s {scope} by default (configurable).",
        rule.name()
    )
}

/// One operation of `route`.
fn operation(route: &Route, contract: &Contract) -> utoipa::openapi::path::Operation {
    let endpoint = route.endpoint;
    let mut description = Vec::new();
    if endpoint.client_route() != route {
        let client = endpoint.client_route();
        description.push(format!(
            "REST alias of `{} {}`.",
            client.method, client.path
        ));
    }
    let mut operation = OperationBuilder::new()
        .operation_id(Some(operation_id(route)))
        .summary(Some(contract.summary))
        .tag(tag(route.path))
        .response("200", success(endpoint, contract.response.clone()));
    if route.has_id() {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The id of the QR login, session or passkey."))
                .schema(Some(string_schema(1, Some(MAX_ID_LEN)))),
        );
    }
    let body = match (&contract.body, route.method) {
        (Some(schema), _) => Some((schema.clone(), Required::True)),
        (None, Method::Post) => Some((Empty::schema(), Required::False)),
        (None, _) => None,
    };
    let has_body = body.is_some();
    if let Some((schema, required)) = body {
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .required(Some(required))
                .build(),
        ));
    }
    match endpoint.access() {
        Access::Public => {}
        Access::Session => {
            operation = operation
                .security(SecurityRequirement::new(
                    BEARER_SCHEME,
                    Vec::<String>::new(),
                ))
                .security(SecurityRequirement::new(
                    COOKIE_SCHEME,
                    Vec::<String>::new(),
                ));
        }
        Access::QrStatusToken => description.push(
            "Authorised by the QR login's status token (from `POST /qr/create`), which never \
             leaves the desktop."
                .to_owned(),
        ),
    }
    if endpoint == Endpoint::QrStatus {
        operation = operation
            .parameter(
                ParameterBuilder::new()
                    .name("token")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::True)
                    .description(Some("The status token from `POST /qr/create`."))
                    .schema(Some(string_schema(1, None))),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("wait")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(format!(
                        "Long-poll: answer when the state changes or after this many seconds \
                         (capped at {MAX_QR_WAIT_SECONDS}). Absent: answer at once."
                    )))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0))
                            .maximum(Some(u32::MAX)),
                    )),
            );
    }
    if endpoint == Endpoint::AccountEvents {
        operation = operation
            .parameter(
                ParameterBuilder::new()
                    .name("limit")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(format!(
                        "Events per page (default {DEFAULT_EVENTS_LIMIT}, at most \
                         {MAX_EVENTS_LIMIT})."
                    )))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(MAX_EVENTS_LIMIT)),
                    )),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("cursor")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "`nextCursor` of the previous page: the next, older page. Opaque.",
                    ))
                    .schema(Some(string_schema(1, None))),
            );
    }
    let mut errors = vec!["400"];
    if endpoint.access() != Access::Public {
        errors.push("401");
    }
    // 404: an id the caller does not own; a signed-in user deleted meanwhile; a
    // `qrSessionId` that names no QR login; the email-available route switched off.
    if route.has_id()
        || endpoint.access() == Access::Session
        || matches!(
            endpoint,
            Endpoint::AuthenticateOptions | Endpoint::EmailAvailable
        )
    {
        errors.push("404");
    }
    if has_body {
        errors.extend(["413", "415"]);
    }
    if let Some(rule) = endpoint.rate_limit() {
        errors.push("429");
        description.push(rate_limit_note(rule));
    }
    errors.push("503");
    for status in errors {
        if let Some(response) = error_response(status) {
            operation = operation.response(status, response);
        }
    }
    if !description.is_empty() {
        operation = operation.description(Some(description.join("\n\n")));
    }
    operation.build()
}

/// `{"type": "object", "properties": {...}, "required": [...]}` of string properties.
fn object_of(properties: &[(&str, RefOr<Schema>)], description: &str) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description));
    for (name, schema) in properties {
        object = object.property(*name, schema.clone()).required(*name);
    }
    object.into()
}

/// A string schema of one or more fixed values.
fn one_of_strings(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

/// The health probes' and the document's own operations.
fn add_service_paths(paths: &mut Paths, schemas: &mut Schemas) {
    let health = object_of(
        &[("status", one_of_strings(&["ok"]))],
        "The process serves HTTP.",
    );
    let check = one_of_strings(&["ok", "unavailable"]);
    let checks = object_of(
        &[("store", check.clone()), ("limiter", check)],
        "Each dependency's state.",
    );
    let ready = object_of(
        &[
            ("status", one_of_strings(&["ready"])),
            ("checks", checks.clone()),
        ],
        "The store and the rate limiter answered.",
    );
    let error = schemas.of::<ErrorBody>();
    let not_ready: RefOr<Schema> = utoipa::openapi::schema::AllOfBuilder::new()
        .item(error)
        .item(object_of(&[("checks", checks)], "Which check failed."))
        .into();
    paths.add_path_operation(
        HEALTH_PATHS[0],
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .operation_id(Some("healthz"))
            .tag("health")
            .summary(Some("Liveness probe: touches no dependency"))
            .response("200", json_response("Alive.", health))
            .build(),
    );
    paths.add_path_operation(
        HEALTH_PATHS[1],
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .operation_id(Some("readyz"))
            .tag("health")
            .summary(Some(
                "Readiness probe: one round trip to the store and the limiter",
            ))
            .response("200", json_response("Ready.", ready))
            .response("503", json_response("Not ready.", not_ready))
            .build(),
    );
    paths.add_path_operation(
        DOCUMENT_PATH,
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .operation_id(Some("openapi"))
            .tag("meta")
            .summary(Some("This OpenAPI 3.1 document"))
            .response(
                "200",
                json_response(
                    "The document.",
                    ObjectBuilder::new().schema_type(Type::Object).into(),
                ),
            )
            .build(),
    );
}

/// The shared error responses and security schemes.
fn components(schemas: &mut Schemas) -> Components {
    let error = schemas.of::<ErrorBody>();
    let mut components = Components::builder();
    for (status, name, description) in ERROR_RESPONSES {
        let mut response = ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new().schema(Some(error.clone())).build(),
        );
        if status == "429" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    ))
                    .description(Some("Seconds until the budget allows another request."))
                    .build(),
            );
        }
        components = components.response(name, response.build());
    }
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some(
        "The session token of a sign-in response (`session.token`, or the QR status's \
         `session.token`)."
            .to_owned(),
    );
    let cookie = ApiKey::Cookie(ApiKeyValue::with_description(
        DEFAULT_COOKIE_NAME,
        "Cookie mode only (`passkey-magic serve --cookies true`, or `PasskeyMagic::cookies`): \
         the session token in an HttpOnly cookie set by every sign-in. The name is \
         configurable. A request authenticated by the cookie with a method other than GET, \
         HEAD or OPTIONS must carry an `Origin` equal to a configured origin (or \
         `Sec-Fetch-Site: same-origin`); otherwise it counts as signed out (401).",
    ));
    components
        .security_scheme(BEARER_SCHEME, SecurityScheme::Http(bearer))
        .security_scheme(COOKIE_SCHEME, SecurityScheme::ApiKey(cookie))
        .build()
}

/// The whole document: every route of [`ROUTES`] (REST aliases included), the health
/// probes and the document's own path, relative to the server URL [`DEFAULT_PREFIX`].
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let mut paths = Paths::new();
    for route in ROUTES {
        let contract = contract(route.endpoint, &mut schemas);
        paths.add_path_operation(
            route.path,
            vec![http_method(route.method)],
            operation(route, &contract),
        );
    }
    add_service_paths(&mut paths, &mut schemas);
    let mut components = components(&mut schemas);
    components.schemas = schemas.found;
    let info = InfoBuilder::new()
        .title("passkey-magic")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Passkey-first authentication with QR cross-device login and magic-link \
             fallback: the HTTP wire protocol (v0.4-compatible). Every request body is a JSON \
             object sent as `application/json`; every error is `{\"error\": message, \"code\": \
             category}`; anything not listed answers 404.",
        ))
        .license(Some(LicenseBuilder::new().name("MIT").build()))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .servers(Some([Server::new(DEFAULT_PREFIX)]))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The document as pretty-printed JSON with a final newline: the form of
/// `docs/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json().map(|json| json + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_name_the_endpoint_and_the_alias_method() {
        let ids: Vec<String> = Endpoint::RevokeSession.routes().map(operation_id).collect();
        assert_eq!(ids, ["revokeSession", "revokeSessionDelete"]);
        let ids: Vec<String> = Endpoint::UpdateCredential
            .routes()
            .map(operation_id)
            .collect();
        assert_eq!(ids, ["updateCredential", "updateCredentialPatch"]);
    }

    #[test]
    fn tags_are_first_path_segments() {
        assert_eq!(tag("/magic-link/send"), "magic-link");
        assert_eq!(tag("/session"), "session");
    }
}
