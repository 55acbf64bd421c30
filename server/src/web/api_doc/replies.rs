//! The answers: errors, an action done, a bulk action's outcomes, and the alert state's records.

use super::*;

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
    KeyReused,
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

pub(super) fn status() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Status::ALL.map(|s| s.as_str())))
}

pub(super) fn events() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name("Event"))
}

/// The schemas of the alert state's own records, as they serialise (display::alert).
pub(super) fn record_schemas() -> Value {
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
        "AlertList": { "type": "object", "required": ["total", "count", "limit", "next", "alerts"], "properties": {
            "total": { "type": "integer", "description": "alerts matching the filter, on every page (counted by the database)" },
            "count": { "type": "integer", "description": "alerts in this answer" },
            "limit": { "type": "integer", "description": "the page size asked for" },
            "next": { "type": ["string", "null"], "description": "the `cursor` of the page after this one; null on the last page" },
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
pub(super) fn component<T: ToSchema>(schemas: &mut Map<String, Value>) {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    for (name, schema) in refs {
        schemas.insert(name, to_value(schema));
    }
    schemas.insert(T::name().into_owned(), to_value(T::schema()));
}
