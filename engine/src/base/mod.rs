//! The shared vocabulary every layer speaks: run ids, run folders and their manifests, hashed
//! files, time as stored, SQL literals. It imports no other module of the engine.

pub mod files;
pub mod process;
pub mod run;
pub mod run_id;
pub mod sql;
pub mod time;

pub use files::sha256_hex;
pub use run::{RunDir, Stage};
pub use run_id::{BadRunId, RunId};
