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
    let (_, targets, _) =
        read_bulk(br#"{"action": "resolve", "alerts": [{"fingerprint": "a", "version": 2.0}]}"#)
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
