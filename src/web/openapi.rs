//! The OpenAPI document of the JSON API, built from the route table so it lists exactly what the router serves.

use super::routes::RouteEntry;
use serde_json::{Map, Value, json};

pub const API_PREFIX: &str = "/api/v1";

/// The names of a path's `{placeholders}`, in order.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn operation(e: &RouteEntry, relative: &str) -> Value {
    let method = e.method.as_str().to_lowercase();
    let tag = relative.split('/').nth(1).unwrap_or("api");
    let id: String = format!(
        "{method}{}",
        relative.replace(['/', '{', '}', '.', '-'], "_")
    );
    let mut op = json!({
        "operationId": id,
        "summary": e.summary.unwrap_or_default(),
        "tags": [tag],
        "parameters": placeholders(relative).iter().map(|name| json!({
            "name": name, "in": "path", "required": true,
            "description": "An id, as the API writes ids: a string of digits.",
            "schema": {"type": "string"}
        })).collect::<Vec<_>>(),
        "responses": {
            "2XX": {"description": "Done.", "content": {"application/json": {"schema": {}}}},
            "4XX": {"description": "Refused: see the error's code, message and field messages.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
    });
    if let Some(body) = &e.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", (body.name)())}}}
        });
    }
    op
}

/// OpenAPI 3.1 for every route under `/api/v1` in `table`.
pub fn document(table: &[RouteEntry]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Vec::new();
    for e in table.iter().filter(|e| e.path.starts_with(API_PREFIX)) {
        if let Some(body) = &e.body {
            (body.collect)(&mut schemas);
        }
    }
    let mut components = Map::new();
    components.insert(
        "Error".to_owned(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
                }
            }}
        }),
    );
    for (name, schema) in schemas {
        components.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    for e in table {
        let Some(relative) = e.path.strip_prefix(API_PREFIX) else {
            continue;
        };
        let item = paths
            .entry(relative.to_owned())
            .or_insert_with(|| json!({}));
        item[e.method.as_str().to_lowercase()] = operation(e, relative);
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
        "security": [{"bearer": []}, {"session": []}, {}],
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
                summary: Some("A pick list"),
                body: None,
            },
            RouteEntry {
                method: Method::GET,
                path: "/hives".into(),
                summary: None,
                body: None,
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
}
