//! A progress bar for long ETL stages on a terminal; silent when stderr is not a terminal or
//! under CI, so logs stay clean.

use std::io::IsTerminal;
use std::sync::Mutex;

use engine::etl::progress::{NoProgress, Progress};
use indicatif::{ProgressBar, ProgressStyle};

pub struct TerminalProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for TerminalProgress {
    fn begin(&self, what: &str, total: u64) {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>16} [{bar:40}] {human_pos}/{human_len} rows ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advance(&self, units: u64) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            bar.inc(units);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}

/// A bar on an interactive terminal, nothing otherwise.
pub fn for_stderr() -> std::sync::Arc<dyn Progress> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    if std::io::stderr().is_terminal() && !ci {
        std::sync::Arc::new(TerminalProgress {
            bar: Mutex::new(None),
        })
    } else {
        std::sync::Arc::new(NoProgress)
    }
}
