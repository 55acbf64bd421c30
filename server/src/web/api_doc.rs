//! The JSON API's contract: its paths, the request body of each action and of the bulk route,
//! its answers, and the OpenAPI 3.1 document generated from those types (utoipa). Every request
//! body is checked against the schema this document publishes (jsonschema) before it is read, so
//! the document says exactly what the server accepts. `/api/docs` shows it to people.

use std::collections::HashMap;
use std::sync::OnceLock;

use display::alert::{ActionKind, DismissReason, Status};
use display::Text;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::alert_actions::BULK_ACTIONS;
use crate::acting::ActionFields;

pub const LIST_PATH: &str = "/api/v1/alerts";
pub const ONE_PATH: &str = "/api/v1/alerts/{fingerprint}";
pub const BULK_PATH: &str = "/api/v1/alerts/bulk";
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";
pub const EXPORT_PATH: &str = app::pages::alerts::EXPORT_PATH;

/// The path of an action's API route.
pub fn action_path(kind: ActionKind) -> String {
    format!("/api/v1/alerts/{{fingerprint}}/{}", kind.as_str())
}

/// Longest note or comment the API takes, in characters: at most four bytes each, so a text the
/// document allows always fits the alert state's limit in bytes.
pub const MAX_TEXT_CHARS: usize = 1024;
const _: () = assert!(MAX_TEXT_CHARS * 4 == engine::state::alerts::MAX_TEXT_BYTES);
const _: () = assert!(100 == engine::state::alerts::MAX_ASSIGNEE_CHARS);

// The patterns spell out the characters Rust's `trim` and `char::is_control` mean, so the schema
// and the alert state agree on what is blank and what is a control character.

/// Acknowledge, resolve, reopen: an optional note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteFields {
    /// A note for the history (trimmed; blank is none); no NUL character.
    #[schema(max_length = 1024, pattern = r"^[^\u0000]*$")]
    #[serde(default)]
    pub note: Option<String>,
}

/// Comment: the text, not blank.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentFields {
    /// The comment (trimmed); not blank, no NUL character.
    #[schema(
        min_length = 1,
        max_length = 1024,
        pattern = r"^[^\u0000]*[^\u0000\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000]*$"
    )]
    pub text: String,
}

/// Assign: to whom, and optionally by when.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignFields {
    /// A user, or an owner key of rules.yml (`owners:`); any other name answers 404
    /// `unknown_assignee`. Not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u001F\u007F-\u009F \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub owner: String,
    /// Due at the end of this day (UTC), not before the alert opened; absent keeps the
    /// current due date.
    #[schema(format = Date)]
    #[serde(default)]
    pub due: Option<String>,
}

/// Dismiss: why, and an optional note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissFields {
    #[schema(schema_with = dismiss_reason)]
    pub reason: String,
    /// A note for the history (trimmed; blank is none); no NUL character.
    #[schema(max_length = 1024, pattern = r"^[^\u0000]*$")]
    #[serde(default)]
    pub note: Option<String>,
}

/// Feedback: was the alert useful, and an optional note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackFields {
    pub useful: bool,
    /// A note for the history (trimmed; blank is none); no NUL character.
    #[schema(max_length = 1024, pattern = r"^[^\u0000]*$")]
    #[serde(default)]
    pub note: Option<String>,
}

/// Snooze: until a time, until the value gets a percentage worse, or until the next load.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "snooze", rename_all = "snake_case", deny_unknown_fields)]
pub enum SnoozeFields {
    /// Until a time in the future.
    Until {
        #[schema(schema_with = snooze_time)]
        until: String,
    },
    /// Until the alert's value is this many percent worse (the alert must have a value).
    Worse {
        #[schema(exclusive_minimum = 0.0, maximum = 1000.0)]
        pct: f64,
    },
    /// Until the next load.
    NextLoad {},
}

/// The version of the alert a change is based on.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Versioned {
    /// The alert's `version` the change is based on (from `GET /api/v1/alerts/{fingerprint}`);
    /// another version answers 409 with the changes made since.
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    pub version: i64,
}

/// One alert of a bulk action, at the version it was seen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTarget {
    #[schema(min_length = 1)]
    pub fingerprint: String,
    #[schema(minimum = 1, maximum = 9223372036854775807_i64)]
    #[serde(deserialize_with = "integer")]
    pub version: i64,
}

/// Which alerts a bulk action changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BulkTargets {
    /// These alerts, each at the version it was seen.
    #[serde(default)]
    #[schema(inline)]
    pub alerts: Vec<BulkTarget>,
    /// `true`: every alert matching `filter`, each at its current version (`alerts` is then
    /// not read).
    #[serde(default)]
    pub all: bool,
    #[serde(default)]
    #[schema(schema_with = filter_schema)]
    pub filter: app::model::alerts::InboxFilter,
}

/// An integer as JSON Schema means it: `3` or `3.0`.
fn as_integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
            .map(|f| f as i64)
    })
}

fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    as_integer(&v).ok_or_else(|| serde::de::Error::custom(format!("{v} is not an integer")))
}

fn dismiss_reason() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DismissReason::ALL.map(|r| r.as_str())))
        .description(Some("Why the alert is dismissed"))
}

fn snooze_time() -> AnyOfBuilder {
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    AnyOfBuilder::new()
        .item(string(KnownFormat::Date))
        .item(string(KnownFormat::DateTime))
        .description(Some(
            "A date (midnight UTC) or an RFC 3339 time, in the future",
        ))
}

/// The inbox filter's parameters with what each means (the query of `GET /api/v1/alerts` and
/// of the export; the `filter` of a bulk action). Any string is taken: a value nothing has
/// matches nothing.
pub const FILTER_PARAMS: [(&str, &str); 9] = [
    (
        "status",
        "a status (open, acknowledged, snoozed, resolved, dismissed, cleared), `active` (the default: open, acknowledged or snoozed) or `all`",
    ),
    ("severity", "critical, high, medium or low"),
    ("rule", "a rule id"),
    ("region", "a region"),
    ("owner", "an owner key of rules.yml or an assignee"),
    ("data_issue", "`yes` (only data issues) or `no`"),
    ("mine", "`1`: only the alerts assigned to the caller"),
    ("overdue", "`yes` (only overdue) or `no`"),
    ("period", "the period an alert is about, e.g. `2025`"),
];

fn filter_schema() -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .description(Some(
            "The inbox filter: the query parameters of GET /api/v1/alerts",
        ));
    for (name, what) in FILTER_PARAMS {
        object = object.property(
            name,
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::String,
                    Type::Null,
                ]))
                .description(Some(what)),
        );
    }
    object
}

impl From<NoteFields> for ActionFields {
    fn from(f: NoteFields) -> Self {
        ActionFields {
            note: f.note,
            ..ActionFields::default()
        }
    }
}

impl From<CommentFields> for ActionFields {
    fn from(f: CommentFields) -> Self {
        ActionFields {
            text: Some(f.text),
            ..ActionFields::default()
        }
    }
}

impl From<AssignFields> for ActionFields {
    fn from(f: AssignFields) -> Self {
        ActionFields {
            owner: Some(f.owner),
            due: f.due,
            ..ActionFields::default()
        }
    }
}

impl From<DismissFields> for ActionFields {
    fn from(f: DismissFields) -> Self {
        ActionFields {
            reason: Some(f.reason),
            note: f.note,
            ..ActionFields::default()
        }
    }
}

impl From<FeedbackFields> for ActionFields {
    fn from(f: FeedbackFields) -> Self {
        ActionFields {
            useful: Some(if f.useful { "useful" } else { "not_useful" }.into()),
            note: f.note,
            ..ActionFields::default()
        }
    }
}

impl From<SnoozeFields> for ActionFields {
    fn from(f: SnoozeFields) -> Self {
        let (snooze, until, pct) = match f {
            SnoozeFields::Until { until } => ("until", Some(until), None),
            SnoozeFields::Worse { pct } => ("worse", None, Some(pct.to_string())),
            SnoozeFields::NextLoad {} => ("next_load", None, None),
        };
        ActionFields {
            snooze: Some(snooze.into()),
            until,
            pct,
            ..ActionFields::default()
        }
    }
}

/// How an action's fields are read from its checked body.
type ReadFields = fn(Value) -> serde_json::Result<ActionFields>;

/// The fields `kind` takes: their schema, and how they are read.
fn fields_of(kind: ActionKind) -> (RefOr<Schema>, ReadFields) {
    fn read<T: DeserializeOwned + Into<ActionFields>>(
        v: Value,
    ) -> serde_json::Result<ActionFields> {
        serde_json::from_value::<T>(v).map(Into::into)
    }
    match kind {
        ActionKind::Acknowledge | ActionKind::Resolve | ActionKind::Reopen => {
            (NoteFields::schema(), read::<NoteFields>)
        }
        ActionKind::Comment => (CommentFields::schema(), read::<CommentFields>),
        ActionKind::Assign => (AssignFields::schema(), read::<AssignFields>),
        ActionKind::Dismiss => (DismissFields::schema(), read::<DismissFields>),
        ActionKind::Feedback => (FeedbackFields::schema(), read::<FeedbackFields>),
        ActionKind::Snooze => (SnoozeFields::schema(), read::<SnoozeFields>),
    }
}

/// The name of `kind`'s request body in the document (`SnoozeBody`).
pub fn body_name(kind: ActionKind) -> String {
    let name = kind.as_str();
    format!("{}{}Body", name[..1].to_uppercase(), &name[1..])
}

fn to_value(schema: impl Serialize) -> Value {
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// Each alternative of a schema (`oneOf`), or the schema itself.
fn alternatives(schema: Value) -> Vec<Value> {
    match schema {
        Value::Object(mut map) if map.contains_key("oneOf") => match map.remove("oneOf") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

/// `fields` with more properties (required), and no property besides.
fn with_properties(fields: Value, extra: &Map<String, Value>) -> Value {
    let mut object = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("type".into(), json!("object"));
    object.insert("additionalProperties".into(), json!(false));
    let properties = object
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("properties are an object");
    for (name, schema) in extra {
        properties.insert(name.clone(), schema.clone());
    }
    let required = object
        .entry("required")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("required is a list");
    for name in extra.keys() {
        if name != "alerts" && name != "all" && name != "filter" {
            required.push(json!(name));
        }
    }
    Value::Object(object)
}

fn one_of(mut alternatives: Vec<Value>, description: String) -> Value {
    if alternatives.len() == 1 {
        let mut only = alternatives.remove(0);
        only["description"] = json!(description);
        return only;
    }
    json!({ "oneOf": alternatives, "description": description })
}

/// The body of `kind`'s route: its fields and the version they are based on.
fn action_body(kind: ActionKind) -> Value {
    let version = to_value(Versioned::schema());
    let extra = version["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let items = alternatives(to_value(fields_of(kind).0))
        .into_iter()
        .map(|fields| with_properties(fields, &extra))
        .collect();
    one_of(
        items,
        format!(
            "{}: the fields it takes, and the version they are based on",
            kind.label().en
        ),
    )
}

/// The bulk route's body: one of its actions with that action's fields, and the targets.
fn bulk_body() -> Value {
    let targets = to_value(BulkTargets::schema());
    let mut items = Vec::new();
    for kind in BULK_ACTIONS {
        let mut extra = targets["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        extra.insert(
            "action".into(),
            json!({ "type": "string", "enum": [kind.as_str()] }),
        );
        for fields in alternatives(to_value(fields_of(kind).0)) {
            items.push(with_properties(fields, &extra));
        }
    }
    one_of(
        items,
        "One action (acknowledge, assign, snooze, resolve) with its fields, on `alerts` or on every alert matching `filter` (`all`)".into(),
    )
}

/// An error's message in both languages.
#[derive(Debug, Serialize, ToSchema)]
pub struct LangText {
    pub en: String,
    pub ko: String,
}

/// What an error is, for programs. `invalid_input` always means the request does not fit the
/// document; `not_allowed`, `not_found`, `unknown_assignee` and `conflict` come from the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotSignedIn,
    BadToken,
    Forbidden,
    BadCsrf,
    NotFound,
    UnknownAssignee,
    Conflict,
    NotAllowed,
    InvalidInput,
    TooManyRows,
    TooLarge,
    TooSlow,
    Internal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    #[schema(value_type = LangText)]
    pub message: Text,
}

/// An error: `{"error": {"code", "message": {"en", "ko"}}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

/// A change refused because the alert changed since `version`: nothing was changed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Conflict)]
pub struct ConflictBody {
    pub error: ErrorInfo,
    pub current_version: i64,
    #[schema(schema_with = events)]
    pub changes: Vec<display::alert::Event>,
}

/// An action done: the alert's new status and version.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Acted)]
pub struct ActedReply {
    pub fingerprint: String,
    #[schema(schema_with = status)]
    pub status: Status,
    pub version: i64,
}

/// One alert of a bulk action: what it became, or why it was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub fingerprint: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = status)]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// A bulk action's answer: how many changed, and each alert's outcome.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BulkResult)]
pub struct BulkReply {
    #[schema(value_type = String)]
    pub action: ActionKind,
    pub changed: usize,
    pub refused: usize,
    pub results: Vec<BulkOutcome>,
}

fn status() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Status::ALL.map(|s| s.as_str())))
}

fn events() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name("Event"))
}

/// The schemas of the alert state's own records, as they serialise (display::alert).
fn record_schemas() -> Value {
    let opt_string = json!({ "type": ["string", "null"] });
    let opt_status =
        json!({ "anyOf": [ { "$ref": "#/components/schemas/Status" }, { "type": "null" } ] });
    json!({
        "Status": { "type": "string", "enum": Status::ALL.map(|s| s.as_str()) },
        "Event": { "type": "object", "required": ["at", "actor", "kind"], "properties": {
            "at": { "type": "string", "format": "date-time" }, "actor": { "type": "string" },
            "kind": { "type": "string" }, "from_status": opt_status, "to_status": opt_status,
            "note": opt_string, "run_id": opt_string, "version": { "type": ["integer", "null"] }
        } },
        "AlertRecord": { "type": "object", "required": ["alert", "status", "version"], "properties": {
            "alert": { "type": "object", "description": "the alert: fingerprint, rule, entity, period, severity, title, evidence, recommended actions" },
            "status": { "$ref": "#/components/schemas/Status" }, "version": { "type": "integer" },
            "assignee": opt_string, "due_at": opt_string, "snooze": { "type": ["object", "null"] }
        } },
        "AlertList": { "type": "object", "required": ["total", "count", "alerts"], "properties": {
            "total": { "type": "integer", "description": "alerts in the store, whatever their status" },
            "count": { "type": "integer" },
            "alerts": { "type": "array", "items": { "$ref": "#/components/schemas/AlertRecord" } }
        } },
        "AlertDetail": { "type": "object", "required": ["record", "history"], "properties": {
            "record": { "$ref": "#/components/schemas/AlertRecord" },
            "history": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } }
        } },
        "Export": { "type": "object", "required": ["about", "items", "count"], "properties": {
            "about": { "type": "object", "description": "exported_at, exported_by, filters, format, lang, snapshot (run_id, loaded_at), sources (source_id, edition, sha256, …)" },
            "items": { "type": "array", "items": { "type": "object", "description": "one recommended action: fingerprint, priority, severity, status, rule, entity, region, period, title, action, owner, assignee, due_date, overdue, snoozed_until, last_comment, value, previous, change_pct, data_issue, source_id, edition, run_id, source_sha256, link" } },
            "history": { "type": "array", "items": { "type": "object" }, "description": "with history=1" },
            "count": { "type": "integer" }
        } }
    })
}

/// `T`'s schema under its name, with the schemas it refers to.
fn component<T: ToSchema>(schemas: &mut Map<String, Value>) {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    for (name, schema) in refs {
        schemas.insert(name, to_value(schema));
    }
    schemas.insert(T::name().into_owned(), to_value(T::schema()));
}

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

const REFUSED: (u16, &str, &str) = (400, "The body does not fit its schema (`invalid_input`), or the alert's state refuses it (`not_allowed`: its status, a snooze time already past, a due date before it opened, no value to watch)", "Error");
const NOT_SIGNED_IN: (u16, &str, &str) = (401, "Not signed in, or an unknown token", "Error");
const FORBIDDEN: (u16, &str, &str) = (
    403,
    "The role may not act, or the CSRF header is missing or wrong",
    "Error",
);

pub fn operations() -> Vec<Operation> {
    let mut ops = vec![
        Operation {
            method: "get",
            path: LIST_PATH.into(),
            summary: "The inbox, highest priority first, with the filters of /alerts".into(),
            body: None,
            query: &[],
            responses: vec![(200, "The alerts", "AlertList"), (304, "Unchanged since the `ETag` sent in `If-None-Match`", ""), (400, "A parameter given twice", "Error")],
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

fn parameters(op: &Operation) -> Vec<Value> {
    let mut parameters = Vec::new();
    if op.path.contains("{fingerprint}") {
        parameters.push(json!({
            "name": "fingerprint", "in": "path", "required": true,
            "schema": { "type": "string", "minLength": 1 }, "description": "rule:entity:period"
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
            "name": "If-None-Match", "in": "header", "required": false,
            "schema": { "type": "string" }, "description": "the `ETag` of an earlier answer: 304 while the inbox is unchanged"
        }));
    }
    parameters
}

fn content(schema: &str) -> Value {
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
fn build() -> Value {
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

struct Contract {
    document: Value,
    bytes: axum::body::Bytes,
    validators: HashMap<String, jsonschema::Validator>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let document = build();
        let mut validators = HashMap::new();
        let names = ActionKind::ALL
            .map(body_name)
            .into_iter()
            .chain(["BulkBody".to_string()]);
        for name in names {
            let mut schema = document["components"]["schemas"][&name].clone();
            schema["components"] = document["components"].clone();
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("the schema {name} compiles: {e}"));
            validators.insert(name, validator);
        }
        let bytes = serde_json::to_vec(&document)
            .expect("the document is JSON")
            .into();
        Contract {
            document,
            bytes,
            validators,
        }
    })
}

/// The OpenAPI document.
pub fn openapi() -> &'static Value {
    &contract().document
}

/// The OpenAPI document as served.
pub fn openapi_bytes() -> axum::body::Bytes {
    contract().bytes.clone()
}

/// The JSON body, checked against the schema `name`; an empty body is `{}`.
fn checked(name: &str, body: &[u8]) -> Result<Map<String, Value>, Text> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            Text::new(
                format!("The body is not JSON: {e}. See /api/docs."),
                format!("본문이 JSON이 아닙니다: {e}. /api/docs를 참고하세요."),
            )
        })?
    };
    let validator = &contract().validators[name];
    if let Some(e) = validator.iter_errors(&value).next() {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() {
            "the body".to_string()
        } else {
            format!("`{at}`")
        };
        return Err(Text::new(
            format!("{at} does not fit {name}: {e}. See {OPENAPI_PATH}."),
            format!("{at}이(가) {name}에 맞지 않습니다: {e}. {OPENAPI_PATH}를 참고하세요."),
        ));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("the schema admits objects only"),
    }
}

fn unreadable(e: serde_json::Error) -> Text {
    Text::new(
        format!("The body could not be read: {e}. See /api/docs."),
        format!("본문을 읽을 수 없습니다: {e}. /api/docs를 참고하세요."),
    )
}

/// The body of `kind`'s route: the version it is based on and the action's fields.
pub fn read_action(kind: ActionKind, body: &[u8]) -> Result<(i64, ActionFields), Text> {
    let mut map = checked(&body_name(kind), body)?;
    let version = map
        .remove("version")
        .as_ref()
        .and_then(as_integer)
        .unwrap_or_default();
    let fields = (fields_of(kind).1)(Value::Object(map)).map_err(unreadable)?;
    Ok((version, fields))
}

/// The bulk route's body: the action, its targets and its fields.
pub fn read_bulk(body: &[u8]) -> Result<(ActionKind, BulkTargets, ActionFields), Text> {
    let mut map = checked("BulkBody", body)?;
    let kind = map
        .remove("action")
        .and_then(|a| a.as_str().and_then(ActionKind::parse))
        .filter(|k| BULK_ACTIONS.contains(k))
        .ok_or_else(|| {
            Text::new(
                "`action` must be acknowledge, assign, snooze or resolve.",
                "`action`은 acknowledge, assign, snooze, resolve 중 하나여야 합니다.",
            )
        })?;
    let mut targets = Map::new();
    for key in ["alerts", "all", "filter"] {
        if let Some(v) = map.remove(key) {
            targets.insert(key.into(), v);
        }
    }
    let targets: BulkTargets =
        serde_json::from_value(Value::Object(targets)).map_err(unreadable)?;
    let fields = (fields_of(kind).1)(Value::Object(map)).map_err(unreadable)?;
    Ok((kind, targets, fields))
}

/// `GET /api/docs`: the document for people.
pub async fn docs() -> axum::response::Html<String> {
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let mut rows = String::new();
    for op in operations() {
        let codes: Vec<String> = op
            .responses
            .iter()
            .map(|(c, w, _)| format!("{c} {}", escape(w)))
            .collect();
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            op.method.to_uppercase(),
            escape(&op.path),
            escape(&op.summary),
            if op.changes { " (analyst or admin)" } else { "" },
            op.body.as_deref().unwrap_or("—"),
            codes.join("<br>")
        ));
    }
    axum::response::Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Actionboard API</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
         <h1>Actionboard API</h1>\
         <p>Reading needs no account. A change needs <code>Authorization: Bearer TOKEN</code> \
         (<code>actionboard tokens add NAME --role analyst</code>) or the session cookie with the session's CSRF token in \
         <code>X-CSRF-Token</code>. Each action carries the alert's <code>version</code>; a stale one answers 409 with the \
         changes made meanwhile. Each body is checked against its schema in the document before it is read. \
         Errors are JSON: <code>{{\"error\": {{\"code\", \"message\": {{\"en\", \"ko\"}}}}}}</code>. \
         The OpenAPI 3.1 document: <a href=\"{OPENAPI_PATH}\">{OPENAPI_PATH}</a>.</p>\
         <table class=\"data\"><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Body</th><th>Answers</th></tr></thead>\
         <tbody>{rows}</tbody></table></main></body></html>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(kind: ActionKind, body: Value) -> Result<ActionFields, Text> {
        read_action(kind, body.to_string().as_bytes()).map(|(_, f)| f)
    }

    #[test]
    fn each_action_takes_exactly_its_fields() {
        let ok = |kind, body: Value| {
            fields(kind, body.clone()).unwrap_or_else(|e| panic!("{kind:?} {body}: {}", e.en))
        };
        let refused = |kind, body: Value| {
            assert!(fields(kind, body.clone()).is_err(), "{kind:?} took {body}");
        };
        let f = ok(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "worse", "pct": 15 }),
        );
        assert_eq!(
            (f.snooze.as_deref(), f.pct.as_deref()),
            (Some("worse"), Some("15"))
        );
        ok(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "until", "until": "2099-01-31" }),
        );
        ok(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "until", "until": "2099-01-31T09:30:00+09:00" }),
        );
        ok(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "next_load" }),
        );
        refused(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "worse", "pct": -3 }),
        );
        refused(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "worse", "pct": 0 }),
        );
        refused(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "until", "until": "soon" }),
        );
        refused(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "until" }),
        );
        refused(
            ActionKind::Snooze,
            json!({ "version": 2, "snooze": "next_load", "pct": 3 }),
        );
        refused(ActionKind::Snooze, json!({ "version": 2 }));
        refused(ActionKind::Comment, json!({ "text": "no version" }));
        refused(
            ActionKind::Comment,
            json!({ "version": 2, "text": " \n\u{3000}" }),
        );
        refused(
            ActionKind::Comment,
            json!({ "version": 2, "text": "a\u{0}b" }),
        );
        refused(ActionKind::Comment, json!({ "version": 0, "text": "x" }));
        ok(ActionKind::Comment, json!({ "version": 2, "text": " x " }));
        assert_eq!(
            read_action(ActionKind::Comment, br#"{"version": 3.0, "text": "x"}"#)
                .unwrap()
                .0,
            3
        );
        refused(
            ActionKind::Comment,
            json!({ "version": 2, "text": "x".repeat(MAX_TEXT_CHARS + 1) }),
        );
        ok(
            ActionKind::Comment,
            json!({ "version": 2, "text": "한".repeat(MAX_TEXT_CHARS) }),
        );
        refused(
            ActionKind::Acknowledge,
            json!({ "version": 2, "colour": "red" }),
        );
        ok(
            ActionKind::Acknowledge,
            json!({ "version": 2, "note": null }),
        );
        ok(
            ActionKind::Dismiss,
            json!({ "version": 2, "reason": "noise" }),
        );
        refused(
            ActionKind::Dismiss,
            json!({ "version": 2, "reason": "bored" }),
        );
        let f = ok(
            ActionKind::Feedback,
            json!({ "version": 2, "useful": false }),
        );
        assert_eq!(f.useful.as_deref(), Some("not_useful"));
        refused(
            ActionKind::Feedback,
            json!({ "version": 2, "useful": "yes" }),
        );
        ok(
            ActionKind::Assign,
            json!({ "version": 2, "owner": "kim", "due": "2099-01-31" }),
        );
        refused(
            ActionKind::Assign,
            json!({ "version": 2, "owner": "kim", "due": "1/2/2026" }),
        );
        refused(
            ActionKind::Assign,
            json!({ "version": 2, "owner": "k\tim" }),
        );
        refused(ActionKind::Assign, json!({ "version": 2, "owner": "  " }));
        refused(ActionKind::Assign, json!({ "version": 2 }));
    }

    #[test]
    fn the_bulk_body_names_its_action_and_targets() {
        let (kind, targets, fields) = read_bulk(
            json!({ "action": "snooze", "snooze": "next_load", "all": true, "filter": { "severity": "high" } })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(kind, ActionKind::Snooze);
        assert!(targets.all);
        assert_eq!(targets.filter.severity.as_deref(), Some("high"));
        assert_eq!(fields.snooze.as_deref(), Some("next_load"));
        let (_, targets, _) = read_bulk(
            br#"{"action": "resolve", "alerts": [{"fingerprint": "a", "version": 2.0}]}"#,
        )
        .unwrap();
        assert_eq!(targets.alerts[0].version, 2);
        for bad in [
            json!({ "action": "comment", "text": "x" }),
            json!({ "action": "acknowledge", "filter": { "colour": "red" } }),
            json!({ "action": "resolve", "alerts": [ { "fingerprint": "a" } ] }),
            json!({ "action": "assign" }),
        ] {
            assert!(read_bulk(bad.to_string().as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_action_has_its_own_body_in_the_document() {
        let doc = openapi();
        for kind in ActionKind::ALL {
            let op = &doc["paths"][action_path(kind)]["post"];
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/{}", body_name(kind))
            );
        }
        assert_eq!(
            doc["components"]["schemas"]["DismissBody"]["properties"]["reason"]["enum"],
            json!(["noise", "expected", "duplicate", "data_issue"])
        );
    }
}
