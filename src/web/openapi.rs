//! The OpenAPI document of the JSON API, built from the route table so it lists exactly what the router serves.

use super::routes::{Access, Answer, Doc, RouteEntry, Schemas};
use axum::http::Method;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

pub const API_PREFIX: &str = "/api/v1";

use crate::domain::ids::ID_PATTERN;

/// The names of a path's `{placeholders}`, in order.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// The operation's id: its method and path, such as `get_hives__hive_id_`.
pub fn operation_id(method: &Method, relative: &str) -> String {
    format!(
        "{}{}",
        method.as_str().to_lowercase(),
        relative.replace(['/', '{', '}', '.', '-'], "_")
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => {
            "The body or query could not be read (not JSON, no JSON content type, a malformed query)."
        }
        401 => "No valid credentials: log in with POST /session and send the token.",
        402 => "The card was declined.",
        403 => {
            "Not allowed to do this, or a change sent with the session cookie lacks its x-csrf-token."
        }
        404 => "No such resource, or not one the caller may see.",
        409 => "The resource is not in a state that allows this; the error's code says which.",
        410 => "The link is used, expired or unknown.",
        413 => "The body is too large.",
        422 => "Invalid input: the error's fields name each field and what is wrong with it.",
        429 => "Too many attempts; Retry-After says when to try again.",
        503 => "The payment provider cannot be reached; nothing was charged.",
        _ => "Refused.",
    }
}

fn description(status: u16) -> &'static str {
    match status {
        200 => "Done.",
        201 => "Created.",
        202 => "Accepted: the work is taken and happens in the background.",
        204 => "Done; nothing to answer.",
        _ => "Done.",
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn path_parameter(name: &str) -> Value {
    let schema = if name.ends_with("id") {
        json!({"type": "string", "pattern": ID_PATTERN})
    } else {
        json!({"type": "string", "minLength": 1})
    };
    let text = if name.ends_with("id") {
        "An id, as the API writes ids: a string of digits."
    } else {
        "The token a mailed link carries."
    };
    json!({"name": name, "in": "path", "required": true, "description": text, "schema": schema})
}

/// The statuses an operation may refuse with: the declared ones and those its shape implies.
fn refusals(method: &Method, doc: &Doc, relative: &str) -> BTreeSet<u16> {
    let mut out: BTreeSet<u16> = doc.refusals.iter().copied().collect();
    if doc.access == Access::SignedIn {
        out.insert(401);
    }
    // A change sent with the session cookie but without its CSRF token is refused.
    if doc.access != Access::Anyone && !matches!(*method, Method::GET | Method::HEAD) {
        out.insert(403);
    }
    if !placeholders(relative).is_empty() {
        out.insert(404);
    }
    if doc.body.is_some() {
        out.extend([400, 413, 422]);
    }
    if doc.query.is_some() {
        out.extend([400, 422]);
    }
    out
}

fn success(doc: &Doc, links: Value) -> (String, Value) {
    match doc.answer {
        Answer::Unknown => (
            "200".into(),
            json!({"description": "Done.", "content": {"application/json": {"schema": {}}}}),
        ),
        Answer::Json {
            status,
            schema,
            list,
            paged,
        } => {
            let one = schema_ref(&(schema.name)());
            let body = if list {
                json!({"type": "array", "items": one})
            } else {
                one
            };
            let mut r = json!({"description": description(status), "content": {"application/json": {"schema": body}}});
            if paged {
                r["headers"] = json!({
                    "X-Total-Count": {"description": "How many items there are in all pages.",
                                      "schema": {"type": "integer", "minimum": 0}},
                    "Link": {"description": "The next and previous pages (RFC 8288), when there are any.",
                             "schema": {"type": "string"}}
                });
            }
            if links.as_object().is_some_and(|l| !l.is_empty()) {
                r["links"] = links;
            }
            (status.to_string(), r)
        }
        Answer::Empty(status) => (
            status.to_string(),
            json!({"description": description(status)}),
        ),
        Answer::Csv => (
            "200".into(),
            json!({"description": "A CSV file (UTF-8, comma separated, with a header row).",
                   "content": {"text/csv": {"schema": {"type": "string"}}}}),
        ),
    }
}

fn security(access: Access) -> Value {
    match access {
        Access::SignedIn => json!([{"bearer": []}, {"session": []}]),
        Access::Optional => json!([{"bearer": []}, {"session": []}, {}]),
        Access::Anyone => json!([]),
    }
}

fn operation(e: &RouteEntry, relative: &str, table: &[RouteEntry]) -> Value {
    let doc = &e.doc;
    let tag = relative.split('/').nth(1).unwrap_or("api");
    let mut parameters: Vec<Value> = placeholders(relative)
        .into_iter()
        .map(path_parameter)
        .collect();
    if let Some(query) = doc.query {
        for p in (query.0)() {
            parameters.push(serde_json::to_value(p).unwrap_or_default());
        }
    }
    for h in &doc.headers {
        let schema = json!({"type": "string", "minLength": 1, "maxLength": h.max_length});
        parameters.push(
            json!({"name": h.name, "in": "header", "required": h.required,
                               "description": h.description, "schema": schema}),
        );
    }
    let changes = !matches!(e.method, Method::GET | Method::HEAD);
    if changes && doc.access != Access::Anyone {
        parameters.push(json!({
            "name": "x-csrf-token", "in": "header", "required": false,
            "description": "Required with the pages' session cookie: the token the pages carry. Not used with a bearer token.",
            "schema": {"type": "string"}
        }));
    }
    let mut links = Map::new();
    for l in &doc.links {
        let target = table
            .iter()
            .filter_map(|t| Some((t, t.path.strip_prefix(API_PREFIX)?)))
            .find(|(t, rel)| format!("{} {rel}", t.method) == l.target);
        if let Some((t, rel)) = target {
            links.insert(
                l.name.to_owned(),
                json!({"operationId": operation_id(&t.method, rel),
                       "parameters": {l.parameter: format!("$response.body#{}", l.pointer)}}),
            );
        }
    }
    let mut responses = Map::new();
    let (status, answer) = success(doc, Value::Object(links));
    responses.insert(status, answer);
    for status in refusals(&e.method, doc, relative) {
        let mut r = json!({"description": reason(status),
                           "content": {"application/json": {"schema": schema_ref("Error")}}});
        if status == 429 {
            r["headers"] = json!({"Retry-After": {"description": "Seconds to wait.",
                                                  "schema": {"type": "integer", "minimum": 0}}});
        }
        responses.insert(status.to_string(), r);
    }
    let mut op = json!({
        "operationId": operation_id(&e.method, relative),
        "summary": doc.summary.unwrap_or_default(),
        "tags": [tag],
        "parameters": parameters,
        "security": security(doc.access),
        "responses": responses,
    });
    if let Some(body) = &doc.body {
        let kind = if doc.multipart {
            "multipart/form-data"
        } else {
            "application/json"
        };
        op["requestBody"] = json!({
            "required": !doc.body_optional,
            "content": {kind: {"schema": schema_ref(&(body.name)())}}
        });
    }
    op
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "What went wrong, for programs: `validation`, `not_found`, `conflict`…"},
                "message": {"type": "string", "description": "What went wrong, for people, in the caller's language."},
                "fields": {"type": "object", "description": "Per field, what is wrong with it.",
                           "additionalProperties": {"type": "array", "items": {"type": "string"}}}
            }
        }}
    })
}

/// OpenAPI 3.1 for every route under `/api/v1` in `table`.
pub fn document(table: &[RouteEntry]) -> Value {
    let api: Vec<&RouteEntry> = table
        .iter()
        .filter(|e| e.path.starts_with(API_PREFIX))
        .collect();
    let mut schemas: Schemas = Vec::new();
    for e in &api {
        if let Some(body) = &e.doc.body {
            (body.collect)(&mut schemas);
        }
        if let Answer::Json { schema, .. } = e.doc.answer {
            (schema.collect)(&mut schemas);
        }
    }
    let mut components = Map::new();
    components.insert("Error".to_owned(), error_schema());
    for (name, schema) in schemas {
        components.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    let mut paths = Map::new();
    for e in &api {
        let Some(relative) = e.path.strip_prefix(API_PREFIX) else {
            continue;
        };
        let item = paths
            .entry(relative.to_owned())
            .or_insert_with(|| json!({}));
        item[e.method.as_str().to_lowercase()] = operation(e, relative, table);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Alvéole API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Pre-orders for local food: hives, producers, distributions, orders, pick lists and payouts. \
                            Money is integer cents, times are RFC 3339, ids are strings."
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The token POST /session returns."},
                "session": {"type": "apiKey", "in": "cookie", "name": super::ctx::SESSION_COOKIE,
                            "description": "The pages' session; changes must then carry the x-csrf-token header."}
            },
            "schemas": components
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn paths_keep_their_placeholders_as_parameters() {
        let table = vec![
            RouteEntry {
                method: Method::GET,
                path: "/api/v1/distributions/{id}/producers/{producer_id}/pick-list.csv".into(),
                doc: Doc {
                    summary: Some("A pick list"),
                    ..Doc::default()
                },
            },
            RouteEntry {
                method: Method::GET,
                path: "/hives".into(),
                doc: Doc::default(),
            },
        ];
        let doc = document(&table);
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 1, "pages stay out of the API document");
        let op = &doc["paths"]["/distributions/{id}/producers/{producer_id}/pick-list.csv"]["get"];
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["id", "producer_id"]);
        assert_eq!(op["summary"], "A pick list");
        assert_eq!(op["tags"][0], "distributions");
    }

    #[test]
    fn every_link_names_an_operation_and_one_of_its_parameters() {
        let table = crate::web::route_table();
        for e in &table {
            for l in &e.doc.links {
                let target = table.iter().find(|t| {
                    t.path
                        .strip_prefix(API_PREFIX)
                        .is_some_and(|rel| format!("{} {rel}", t.method) == l.target)
                });
                let Some(t) = target else {
                    panic!(
                        "{} {}: link {} names no operation",
                        e.method, e.path, l.target
                    );
                };
                assert!(
                    placeholders(&t.path).contains(&l.parameter),
                    "{}: link {} fills {}, which it does not have",
                    e.path,
                    l.target,
                    l.parameter
                );
            }
        }
    }

    #[test]
    fn every_api_operation_says_what_it_answers() {
        for e in crate::web::route_table() {
            if e.path.starts_with(API_PREFIX) {
                assert!(
                    !matches!(e.doc.answer, Answer::Unknown),
                    "{} {}: declare its answer (.ok, .created, .empty, .csv…)",
                    e.method,
                    e.path
                );
            }
        }
    }
}
