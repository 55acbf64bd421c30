//! The large generated workspace ([`testkit::world`]): tens of thousands of entities through the
//! real pipeline and the default rules (the IMF ones left out), raising tens of thousands of
//! alerts. Built once per test binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine::config::Sources;
use engine::etl::Pipeline;
use engine::snapshot::SnapshotStore;
use testkit::world::LargeWorld;

/// Entities of the large workspace: about 23,000 alerts.
pub const ENTITIES: u64 = 60_000;

pub struct Large {
    pub data: PathBuf,
    pub config: PathBuf,
    pub world: LargeWorld,
}

impl Large {
    pub fn run_config(&self) -> server::web::RunConfig {
        server::web::RunConfig {
            sources: self.config.join("sources.yml"),
            mirror: self.config.clone(),
            metrics: self.config.join("metrics.yml"),
            rules: self.config.join("rules.yml"),
            lake: None,
            // No scheduled jobs: the workspace has no schedule file.
            schedule: self.config.join("schedule.yml"),
        }
    }

    /// The real router over the large workspace on a free loopback port; its base URL.
    pub async fn serve(&self) -> String {
        let listener =
            tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .unwrap();
        let addr = listener.local_addr().unwrap();
        let router = server::web::router_with(
            SnapshotStore::new(&self.data),
            Path::new("target/site"),
            addr,
            self.run_config(),
            server::web::WebOptions::default(),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }
}

/// Writes the generated source and its configuration into `config`, loads it into `data` and
/// merges the alerts its rules raise.
pub fn build(config: &Path, data: &Path, world: LargeWorld) {
    world.write(config).unwrap();
    let project = super::config_dir();
    let (metrics, rules) = testkit::world::without_imf(
        &std::fs::read_to_string(project.join("metrics.yml")).unwrap(),
        &std::fs::read_to_string(project.join("rules.yml")).unwrap(),
    )
    .unwrap();
    std::fs::write(config.join("metrics.yml"), metrics).unwrap();
    std::fs::write(config.join("rules.yml"), rules).unwrap();
    let sources = Sources::load(&config.join("sources.yml"), config).unwrap();
    let started = std::time::Instant::now();
    Pipeline::new(sources.clone(), data).run().unwrap();
    eprintln!(
        "large workspace: pipeline {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let set = engine::rules::RuleSet::load(
        &config.join("metrics.yml"),
        &config.join("rules.yml"),
        &sources,
    )
    .unwrap();
    let snapshots = SnapshotStore::new(data);
    let started = std::time::Instant::now();
    let (run, conn) = snapshots.open_current().unwrap();
    let facts = engine::rules::PipelineFacts::gather(data, run.as_str());
    let evaluation = engine::rules::evaluate(&conn, &set.metrics, &set.rules, &facts).unwrap();
    drop(conn);
    eprintln!(
        "large workspace: rules {:.1} s, {} alerts",
        started.elapsed().as_secs_f64(),
        evaluation.alerts.len()
    );
    let started = std::time::Instant::now();
    engine::state::AlertStore::open_in(data)
        .unwrap()
        .merge(&evaluation, chrono::Utc::now())
        .unwrap();
    eprintln!(
        "large workspace: merge {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The large workspace of this test binary, built on first use.
pub fn large() -> &'static Large {
    static LARGE: OnceLock<Large> = OnceLock::new();
    LARGE.get_or_init(|| {
        // One folder per test binary under the target's temporary folder, emptied at each run:
        // a static is never dropped, so a temporary folder would be left behind every time.
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("large-{binary}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let (config, data) = (dir.join("config"), dir.join("data"));
        let world = LargeWorld::new(ENTITIES);
        let started = std::time::Instant::now();
        build(&config, &data, world);
        eprintln!(
            "large workspace: {ENTITIES} entities loaded with alerts in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Large {
            data,
            config,
            world,
        }
    })
}
