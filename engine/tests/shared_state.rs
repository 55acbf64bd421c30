//! The shared state's own behaviour on a real PostgreSQL (Debian's, started by testkit): servers
//! starting together on an empty database, and moving a folder's SQLite state into it.

mod common;

use testkit::harness::or_skip;
use testkit::postgres::TempPostgres;

/// Both instances started at once on an empty database: each migration applied once, both
/// ready to serve.
#[test]
fn servers_starting_together_apply_each_migration_once() {
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let url = pg.url();
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    std::thread::scope(|scope| {
        for dir in &dirs {
            let url = &url;
            scope.spawn(move || engine::state::use_postgres(dir.path(), url).unwrap());
        }
    });
    let applied = testkit::postgres::applied_migrations(&url);
    assert!(applied.len() >= 2, "{applied:?}");
    assert!(applied.iter().all(|(_, n)| *n == 1), "{applied:?}");
    for dir in &dirs {
        let store = engine::state::AlertStore::open_in(dir.path()).unwrap();
        assert!(store
            .list(&engine::state::AlertFilter::everything())
            .unwrap()
            .is_empty());
        assert!(engine::state::StateWatch::new(dir.path())
            .version()
            .is_some());
    }
}

/// A folder's SQLite state moved into PostgreSQL: the same alerts, versions, history, people,
/// sessions and tokens, and the ids continue after the copied ones. A second move into the
/// now full database is refused.
#[test]
fn a_folders_state_moves_into_postgres_whole() {
    use chrono::Utc;
    use engine::rules::Evaluation;
    use engine::state::users::{Role, UserStore};
    use engine::state::{Act, AlertFilter, AlertStore};
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let mut store = AlertStore::open_in(files.path()).unwrap();
    let eval = Evaluation {
        run_id: "run1".into(),
        rules_digest: "digest".into(),
        alerts: (0..30).map(testkit::alerts::alert).collect(),
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    };
    store.merge(&eval, now).unwrap();
    let fp = testkit::alerts::alert(3).fingerprint;
    store
        .act(&fp, &Act::Acknowledge { note: None }, Some(1), "kim", now)
        .unwrap();
    store
        .act(
            &fp,
            &Act::Comment {
                text: "on it".into(),
            },
            Some(2),
            "kim",
            now,
        )
        .unwrap();
    let users = UserStore::open_in(files.path()).unwrap();
    users
        .set_user("kim", "kim password!", Role::Analyst)
        .unwrap();
    let session = users.sign_in("kim", "kim password!").unwrap().unwrap();
    let token = engine::state::tokens::TokenStore::open_in(files.path())
        .unwrap()
        .add("bot", Role::Analyst)
        .unwrap();
    // An export log still in its file from before it moved into the state.
    let exported = engine::state::ExportRecord {
        // Kept to the millisecond.
        at: chrono::DateTime::parse_from_rfc3339("2026-12-07T09:30:00.250Z")
            .unwrap()
            .to_utc(),
        by: "kim".into(),
        via: "web".into(),
        format: "csv".into(),
        filters: Default::default(),
        rows: 31,
        alerts: 30,
        error: None,
    };
    let old_log = files.path().join(engine::state::alerts::LEGACY_EXPORT_LOG);
    std::fs::write(
        &old_log,
        format!("{}\n", serde_json::to_string(&exported).unwrap()),
    )
    .unwrap();
    let before = store.list(&AlertFilter::everything()).unwrap();
    let history = store.history(&fp).unwrap();
    drop((store, users));

    let copied = engine::state::migrate::to_postgres(files.path(), &pg.url()).unwrap();
    let rows = |table: &str| copied.iter().find(|(t, _)| *t == table).unwrap().1;
    assert_eq!(rows("alerts"), 30);
    assert_eq!(rows("alert_events"), 32);
    assert_eq!(
        (rows("users"), rows("sessions"), rows("api_tokens")),
        (1, 1, 1)
    );
    assert_eq!(rows("export_log"), 1);

    let shared = tempfile::tempdir().unwrap();
    engine::state::use_postgres(shared.path(), &pg.url()).unwrap();
    let mut moved = AlertStore::open_in(shared.path()).unwrap();
    assert_eq!(moved.list(&AlertFilter::everything()).unwrap(), before);
    assert_eq!(moved.history(&fp).unwrap(), history);
    let users = UserStore::open_in(shared.path()).unwrap();
    assert_eq!(users.session(&session.token).unwrap(), Some(session.user));
    let found = engine::state::tokens::TokenStore::open_in(shared.path())
        .unwrap()
        .lookup(&token)
        .unwrap();
    assert_eq!(found.map(|t| t.0), Some("bot".to_string()));
    assert_eq!(moved.export_log(10).unwrap(), vec![exported]);
    // New events get ids after the copied ones, and the history stays in order.
    moved
        .act(&fp, &Act::Resolve { note: None }, Some(3), "kim", now)
        .unwrap();
    let after = moved.history(&fp).unwrap();
    assert_eq!(after.len(), history.len() + 1);
    assert_eq!(after[..history.len()], history[..]);

    let again = engine::state::migrate::to_postgres(files.path(), &pg.url());
    assert!(
        matches!(
            again,
            Err(engine::state::migrate::MigrateError::NotEmpty {
                alerts: 30,
                users: 1
            })
        ),
        "{again:?}"
    );
}

/// Two servers with their own data folders and one shared state: a pipeline run on one holds
/// the other off (the file lock alone would not: each has its own folder, or its own host), and
/// the other is told who holds it; once released, the other runs.
#[test]
fn the_pipeline_lock_holds_across_folders_sharing_a_state() {
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let url = pg.fresh_database().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    engine::state::use_postgres(a.path(), &url).unwrap();
    engine::state::use_postgres(b.path(), &url).unwrap();
    let held = engine::etl::pipeline::lock(a.path()).unwrap();
    match engine::etl::pipeline::lock(b.path()) {
        Err(engine::etl::PipelineError::Busy { holder, .. }) => assert!(
            holder.contains(&format!(
                "actionboard pipeline: process {}",
                std::process::id()
            )),
            "{holder}"
        ),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("two pipeline runs at once over one shared state"),
    }
    drop(held);
    let taken = engine::etl::pipeline::lock(b.path()).unwrap();
    drop(taken);
    // A folder whose state is not shared keeps to its own file lock.
    let alone = tempfile::tempdir().unwrap();
    let _own = engine::etl::pipeline::lock(alone.path()).unwrap();
    let _also = engine::etl::pipeline::lock(a.path()).unwrap();
    engine::state::shared::stop_sharing(a.path());
    engine::state::shared::stop_sharing(b.path());
}
