//! The operations of the API and the OpenAPI document built from them.

use super::*;

/// One operation of the API, as the document and `/api/docs` list it.
pub struct Operation {
    pub method: &'static str,
    pub path: String,
    pub summary: String,
    pub body: Option<String>,
    pub query: &'static [(&'static str, &'static str)],
    pub responses: Vec<(u16, &'static str, &'static str)>,
    pub changes: bool,
}

/// The export's own parameters, with the values each takes (an empty value is the default).
pub const EXPORT_PARAMS: [(&str, &[&str], &str); 4] = [
    (
        "format",
        &["", "csv", "xlsx", "json", "ndjson", "jsonl"],
        "the file's format (default csv; jsonl is ndjson)",
    ),
    (
        "bom",
        &["", "0", "1", "no", "yes", "false", "true"],
        "`1`: CSV starts with a UTF-8 byte-order mark (for Excel)",
    ),
    (
        "history",
        &["", "0", "1", "no", "yes", "false", "true"],
        "`1`: also the audit trail (XLSX always has it)",
    ),
    (
        "lang",
        &["", "en", "ko"],
        "titles, actions, headers (default: the request's language)",
    ),
];

pub(super) const REFUSED: (u16, &str, &str) = (400, "The body does not fit its schema (`invalid_input`), or the alert's state refuses it (`not_allowed`: its status, a snooze time already past, a due date before it opened, no value to watch)", "Error");
pub(super) const NOT_SIGNED_IN: (u16, &str, &str) =
    (401, "Not signed in, or an unknown token", "Error");
pub(super) const FORBIDDEN: (u16, &str, &str) = (
    403,
    "The role may not act, or the CSRF header is missing or wrong",
    "Error",
);

pub fn operations() -> Vec<Operation> {
    let mut ops = vec![
        Operation {
            method: "get",
            path: LIST_PATH.into(),
            summary: "A page of the inbox, highest priority first, with the filters of /alerts: `limit` alerts (default 100, at most 1,000) after `cursor`; follow `next` for the rest (stable while alerts are acted on), or take everything with the export".into(),
            body: None,
            query: &[],
            responses: vec![(200, "The alerts", "AlertList"), (304, "Unchanged since the `ETag` sent in `If-None-Match`", ""), (400, "A parameter given twice, a `limit` out of 1–1000, or a `cursor` not of this API", "Error")],
            changes: false,
        },
        Operation {
            method: "get",
            path: EXPORT_PATH.into(),
            summary: "The action list of an inbox filter as a file (CSV, XLSX, JSON, NDJSON), one row per recommended action; streamed, no row cap but XLSX's".into(),
            body: None,
            query: &[],
            responses: vec![
                (200, "The file (Content-Disposition: attachment)", "Export"),
                (400, "A wrong parameter, or more rows than XLSX holds (`too_many_rows`)", "Error"),
            ],
            changes: false,
        },
        Operation {
            method: "get",
            path: ONE_PATH.into(),
            summary: "One alert: its state, version and history".into(),
            body: None,
            query: &[],
            responses: vec![(200, "The alert", "AlertDetail"), (404, "No such alert", "Error")],
            changes: false,
        },
    ];
    for kind in ActionKind::ALL {
        let mut responses = vec![
            (200, "Done: the new status and version", "Acted"),
            REFUSED,
            NOT_SIGNED_IN,
            FORBIDDEN,
            (404, "No such alert", "Error"),
            (
                409,
                "The alert changed since `version`: nothing was changed",
                "Conflict",
            ),
            (
                422,
                "The `Idempotency-Key` came with another request before (`key_reused`): nothing was changed",
                "Error",
            ),
        ];
        if kind == ActionKind::Assign {
            responses[4] = (
                404,
                "No such alert, or no such assignee (`unknown_assignee`)",
                "Error",
            );
        }
        ops.push(Operation {
            method: "post",
            path: action_path(kind),
            summary: format!("{} the alert", kind.label().en),
            body: Some(body_name(kind)),
            query: &[],
            responses,
            changes: true,
        });
    }
    ops.push(Operation {
        method: "post",
        path: BULK_PATH.into(),
        summary:
            "One action (acknowledge, assign, snooze, resolve) on many alerts, each on its own"
                .into(),
        body: Some("BulkBody".into()),
        query: &[],
        responses: vec![
            (
                200,
                "How many changed, and each alert's result",
                "BulkResult",
            ),
            (400, "The body does not fit its schema", "Error"),
            NOT_SIGNED_IN,
            FORBIDDEN,
            (404, "No such assignee (`unknown_assignee`)", "Error"),
        ],
        changes: true,
    });
    ops
}

pub(super) fn parameters(op: &Operation) -> Vec<Value> {
    let mut parameters = Vec::new();
    if op.path.contains("{fingerprint}") {
        parameters.push(json!({
            "name": "fingerprint", "in": "path", "required": true,
            "schema": { "type": "string", "minLength": 1 }, "description": "rule:entity:period"
        }));
    }
    if op.changes && op.path != BULK_PATH {
        parameters.push(json!({
            "name": IDEMPOTENCY_KEY, "in": "header", "required": false,
            "schema": { "type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN },
            "description": "a key of the client's choosing for this request: sent again with the same request (a retry, on any server), it gets the first answer and changes nothing more; kept a day"
        }));
    }
    if op.path == EXPORT_PATH {
        for (name, values, what) in EXPORT_PARAMS {
            parameters.push(json!({
                "name": name, "in": "query", "required": false,
                "schema": { "type": "string", "enum": values }, "description": what
            }));
        }
    }
    if op.path == LIST_PATH || op.path == EXPORT_PATH {
        for (name, what) in FILTER_PARAMS {
            parameters.push(json!({
                "name": name, "in": "query", "required": false,
                "schema": { "type": "string" }, "description": what
            }));
        }
    }
    if op.path == LIST_PATH {
        parameters.push(json!({
            "name": "limit", "in": "query", "required": false,
            "schema": { "type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX, "default": LIST_LIMIT_DEFAULT },
            "description": "alerts in this answer (default 100, at most 1,000)"
        }));
        parameters.push(json!({
            "name": "cursor", "in": "query", "required": false,
            "schema": { "type": "string", "pattern": engine::state::Keyset::PATTERN },
            "description": "the `next` of the previous answer, unchanged (opaque): the page after it; left out, the first page"
        }));
        parameters.push(json!({
            "name": "If-None-Match", "in": "header", "required": false,
            "schema": { "type": "string" }, "description": "the `ETag` of an earlier answer: 304 while the inbox is unchanged"
        }));
    }
    parameters
}

pub(super) fn content(schema: &str) -> Value {
    match schema {
        "" => json!(null),
        "Export" => json!({
            "text/csv": { "schema": { "type": "string" } },
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } },
            "application/json": { "schema": { "$ref": "#/components/schemas/Export" } },
            "application/x-ndjson": { "schema": { "type": "string" } }
        }),
        name => {
            json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } })
        }
    }
}

/// The OpenAPI 3.1 document of the API.
pub(super) fn build() -> Value {
    let mut schemas = Map::new();
    for kind in ActionKind::ALL {
        schemas.insert(body_name(kind), action_body(kind));
    }
    schemas.insert("BulkBody".into(), bulk_body());
    component::<ErrorBody>(&mut schemas);
    component::<ConflictBody>(&mut schemas);
    component::<ActedReply>(&mut schemas);
    component::<BulkReply>(&mut schemas);
    if let Value::Object(records) = record_schemas() {
        schemas.extend(records);
    }
    let mut paths = Map::new();
    for op in operations() {
        let responses: Map<String, Value> = op
            .responses
            .iter()
            .map(|(code, what, schema)| {
                let mut response = json!({ "description": what });
                let content = content(schema);
                if !content.is_null() {
                    response["content"] = content;
                }
                (code.to_string(), response)
            })
            .collect();
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}_{}", op.method, op.path.trim_start_matches("/api/v1/").replace(['/', '{', '}'], "_")),
            "parameters": parameters(&op),
            "responses": responses,
        });
        if let Some(body) = &op.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } }
            });
        }
        if op.changes {
            operation["security"] = json!([{ "bearer": [] }, { "session": [], "csrf": [] }]);
        }
        paths
            .entry(op.path.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path is an object")
            .insert(op.method.to_string(), operation);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Actionboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Alerts and the actions people take on them. Reading needs no account; a change needs a bearer token (`actionboard tokens add NAME --role analyst`) or the session cookie with the session's CSRF token in `X-CSRF-Token`, and the role analyst or admin. Every request body is checked against its schema here before it is read."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": app::auth::SESSION_COOKIE },
                "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token" }
            },
            "schemas": schemas,
        }
    })
}
