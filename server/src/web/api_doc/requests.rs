//! The request bodies: one per action, with exact constraints, and the bulk route's.

use super::*;

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
pub(super) fn as_integer(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
            .map(|f| f as i64)
    })
}

pub(super) fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    as_integer(&v).ok_or_else(|| serde::de::Error::custom(format!("{v} is not an integer")))
}

pub(super) fn dismiss_reason() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DismissReason::ALL.map(|r| r.as_str())))
        .description(Some("Why the alert is dismissed"))
}

pub(super) fn snooze_time() -> AnyOfBuilder {
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

pub(super) fn filter_schema() -> ObjectBuilder {
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
pub(super) type ReadFields = fn(Value) -> serde_json::Result<ActionFields>;

/// The fields `kind` takes: their schema, and how they are read.
pub(super) fn fields_of(kind: ActionKind) -> (RefOr<Schema>, ReadFields) {
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

pub(super) fn to_value(schema: impl Serialize) -> Value {
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// Each alternative of a schema (`oneOf`), or the schema itself.
pub(super) fn alternatives(schema: Value) -> Vec<Value> {
    match schema {
        Value::Object(mut map) if map.contains_key("oneOf") => match map.remove("oneOf") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        other => vec![other],
    }
}

/// `fields` with more properties (required), and no property besides.
pub(super) fn with_properties(fields: Value, extra: &Map<String, Value>) -> Value {
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

pub(super) fn one_of(mut alternatives: Vec<Value>, description: String) -> Value {
    if alternatives.len() == 1 {
        let mut only = alternatives.remove(0);
        only["description"] = json!(description);
        return only;
    }
    json!({ "oneOf": alternatives, "description": description })
}

/// The body of `kind`'s route: its fields and the version they are based on.
pub(super) fn action_body(kind: ActionKind) -> Value {
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
pub(super) fn bulk_body() -> Value {
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
        "One action (acknowledge, assign, snooze, resolve, dismiss) with its fields, on `alerts` or on every alert matching `filter` (`all`)".into(),
    )
}
