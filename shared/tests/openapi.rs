//! The OpenAPI document: the committed copy is current, every route is in it, and every
//! schema reference resolves.
//!
//! Regenerate `docs/openapi.json` with
//! `UPDATE_OPENAPI=1 cargo test -p passkey-magic-shared --features openapi --test openapi`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use passkey_magic_shared::limits::{
    MAX_CONFIRMATION_CODE_LEN, MAX_EMAIL_LEN, MAX_ID_LEN, MAX_LABEL_LEN, MAX_TOKEN_LEN,
    MAX_USER_NAME_LEN,
};
use passkey_magic_shared::openapi::{self, BEARER_SCHEME, COOKIE_SCHEME};
use passkey_magic_shared::routes::{Access, Endpoint, ROUTES};
use serde_json::Value;
use std::path::PathBuf;

const REGENERATE: &str =
    "UPDATE_OPENAPI=1 cargo test -p passkey-magic-shared --features openapi --test openapi";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

fn generated() -> Value {
    serde_json::to_value(openapi::document()).unwrap()
}

#[test]
fn the_committed_document_is_current() {
    let fresh = openapi::document_json().unwrap();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/openapi.json is stale (or missing): the route table or a wire type changed. \
         Regenerate it with `{REGENERATE}` and commit it."
    );
}

#[test]
fn it_is_openapi_3_1_relative_to_the_default_prefix() {
    let document = generated();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/auth");
}

#[test]
fn every_route_is_an_operation_with_its_method() {
    let document = generated();
    let mut ids = std::collections::HashSet::new();
    for route in ROUTES {
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = &document["paths"][route.path][&method];
        assert!(
            operation.is_object(),
            "{} {} is missing",
            route.method,
            route.path
        );
        let id = operation["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        assert!(operation["responses"]["200"].is_object());
        let security = operation["security"].as_array();
        match route.endpoint.access() {
            Access::Session => {
                let schemes: Vec<&str> = security
                    .unwrap()
                    .iter()
                    .flat_map(|requirement| requirement.as_object().unwrap().keys())
                    .map(String::as_str)
                    .collect();
                assert_eq!(schemes, [BEARER_SCHEME, COOKIE_SCHEME], "{id}");
                assert!(operation["responses"]["401"].is_object(), "{id}");
            }
            Access::Public | Access::QrStatusToken => assert!(security.is_none(), "{id}"),
        }
        if route.has_id() {
            let parameters = operation["parameters"].as_array().unwrap();
            assert!(
                parameters
                    .iter()
                    .any(|p| p["name"] == "id" && p["in"] == "path" && p["required"] == true),
                "{id} has no id parameter"
            );
        }
        if route.endpoint.rate_limit().is_some() {
            assert!(operation["responses"]["429"].is_object(), "{id}");
        }
    }
    // The routes, the two health probes and the document itself; nothing else.
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, ROUTES.len() + 3);
    assert!(document["paths"]["/healthz"]["get"].is_object());
    assert!(document["paths"]["/readyz"]["get"]["responses"]["503"].is_object());
    assert_eq!(Endpoint::ALL.len(), 30);
}

#[test]
fn account_events_take_the_limit_and_cursor_query() {
    let document = generated();
    let operation = &document["paths"]["/account/events"]["get"];
    let names: Vec<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == false)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["limit", "cursor"]);
    assert_eq!(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SecurityEventsResponse"
    );
}

#[test]
fn qr_status_takes_the_token_and_wait_query() {
    let document = generated();
    let parameters = document["paths"]["/qr/{id}/status"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let query: Vec<(&str, bool)> = parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| (p["name"].as_str().unwrap(), p["required"] == true))
        .collect();
    assert_eq!(query, [("token", true), ("wait", false)]);
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let document = generated();
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(found.len() > 50);
    for target in found {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(document.pointer(pointer).is_some(), "{target} is dangling");
    }
}

#[test]
fn errors_are_the_protocol_error_body() {
    let document = generated();
    let error = &document["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]));
    let codes = &error["properties"]["code"];
    assert!(codes.to_string().contains("ErrorCode"), "{codes}");
    let responses = document["components"]["responses"].as_object().unwrap();
    for response in responses.values() {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
    let retry = &responses["TooManyRequests"]["headers"]["Retry-After"];
    assert!(retry.is_object());
}

/// The length limits written in the schemas' attributes are the protocol's constants.
#[test]
fn string_limits_are_the_protocols() {
    let document = generated();
    let schemas = &document["components"]["schemas"];
    let max = |schema: &str, field: &str| {
        schemas[schema]["properties"][field]["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{schema}.{field} has no maxLength"))
    };
    let limit = |value: usize| u64::try_from(value).unwrap();
    assert_eq!(max("EmailRequest", "email"), limit(MAX_EMAIL_LEN));
    assert_eq!(max("SendMagicLinkRequest", "email"), limit(MAX_EMAIL_LEN));
    assert_eq!(max("RegisterOptionsRequest", "email"), limit(MAX_EMAIL_LEN));
    assert_eq!(max("RegisterOptionsRequest", "userId"), limit(MAX_ID_LEN));
    assert_eq!(
        max("RegisterOptionsRequest", "userName"),
        limit(MAX_USER_NAME_LEN)
    );
    assert_eq!(max("RegisterVerifyRequest", "userId"), limit(MAX_ID_LEN));
    assert_eq!(
        max("AuthenticateOptionsRequest", "userId"),
        limit(MAX_ID_LEN)
    );
    assert_eq!(
        max("AuthenticateOptionsRequest", "qrSessionId"),
        limit(MAX_ID_LEN)
    );
    assert_eq!(
        max("AddPasskeyOptionsRequest", "userName"),
        limit(MAX_USER_NAME_LEN)
    );
    assert_eq!(
        max("UpdateCredentialRequest", "label"),
        limit(MAX_LABEL_LEN)
    );
    assert_eq!(
        max("ConfirmQrRequest", "confirmationCode"),
        limit(MAX_CONFIRMATION_CODE_LEN)
    );
    assert_eq!(max("CancelQrRequest", "statusToken"), limit(MAX_TOKEN_LEN));
    assert_eq!(max("VerifyMagicLinkRequest", "token"), limit(MAX_TOKEN_LEN));
}

/// A new QR login links to every call on it, with its id (and the status poll's token).
#[test]
fn a_new_qr_login_links_to_the_calls_on_it() {
    let document = generated();
    let links = document["paths"]["/qr/create"]["post"]["responses"]["200"]["links"]
        .as_object()
        .unwrap();
    let mut targets: Vec<&str> = links.keys().map(String::as_str).collect();
    targets.sort_unstable();
    assert_eq!(
        targets,
        [
            "qrCancel",
            "qrComplete",
            "qrConfirm",
            "qrScanned",
            "qrStatus"
        ]
    );
    for (id, link) in links {
        assert_eq!(link["operationId"], id.as_str());
        assert_eq!(link["parameters"]["id"], "$response.body#/sessionId");
    }
    assert_eq!(
        links["qrStatus"]["parameters"]["token"],
        "$response.body#/statusToken"
    );
}
