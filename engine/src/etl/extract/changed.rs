//! Whether a source changed since an earlier extract, asked before a scheduled run so that an
//! unchanged world starts no run. Each place a source is read from answers its own way: a URL
//! by a conditional request with the `ETag` and `Last-Modified` its last answer carried (304:
//! unchanged; a server that ignores them is judged by the SHA-256 of what it sends), a local
//! file or mirror by its size and then its SHA-256 against the provenance the extract recorded.

use std::path::{Path, PathBuf};

use super::fetch::{absolute, http_get_if, is_http, FetchSettings, HttpAnswer, Validators};
use super::Provenance;
use crate::config::{Fetch, Source};

/// A source's answer: unchanged, or changed (or not known to be unchanged), and how it was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    No { how: String },
    Yes { why: String },
}

impl Changed {
    pub fn is_changed(&self) -> bool {
        matches!(self, Changed::Yes { .. })
    }
}

/// Whether `source`, read as configured (or as `settings.force` says), holds other bytes than
/// `last` (its provenance in the last completed extract; `None`: never extracted).
pub fn changed_since(
    source: &Source,
    settings: &FetchSettings,
    last: Option<&Provenance>,
) -> Changed {
    let Some(last) = last else {
        return Changed::Yes {
            why: "no earlier extract of it".into(),
        };
    };
    let mode = settings.force.unwrap_or(source.fetch);
    match (mode, source.url.as_deref()) {
        (Fetch::Live, Some(url)) if is_http(url) => match url_changed(url, settings, last) {
            Ok(answer) => answer,
            // The run would read the mirror instead: that is what is compared then.
            Err(failure) => match &source.mirror {
                Some(mirror) => match file_changed(mirror, last) {
                    Changed::No { how } => Changed::No {
                        how: format!("GET {url} failed ({failure}); the mirror {how}"),
                    },
                    yes => yes,
                },
                None => Changed::Yes {
                    why: format!("GET {url} failed ({failure}): not known to be unchanged"),
                },
            },
        },
        (Fetch::Live, Some(path)) => file_changed(
            &PathBuf::from(path.strip_prefix("file://").unwrap_or(path)),
            last,
        ),
        _ => match &source.mirror {
            Some(mirror) => file_changed(mirror, last),
            None => Changed::Yes {
                why: "no mirror is configured".into(),
            },
        },
    }
}

/// A conditional GET of `url` with the validators `last` recorded (when it was read from there).
fn url_changed(
    url: &str,
    settings: &FetchSettings,
    last: &Provenance,
) -> Result<Changed, super::fetch::HttpFailure> {
    let from_url = last.read_from == "url" && last.location == url;
    let known = Validators {
        etag: last.etag.clone(),
        last_modified: last.last_modified.clone(),
    };
    let conditional = (from_url && !known.is_empty()).then_some(&known);
    Ok(match http_get_if(url, settings, conditional)? {
        HttpAnswer::NotModified => Changed::No {
            how: format!("{url} answered 304 Not Modified"),
        },
        HttpAnswer::Body(bytes, _) => {
            if from_url && crate::base::files::sha256_hex(&bytes) == last.sha256 {
                Changed::No {
                    how: format!("{url} sent the same bytes (SHA-256) as the last extract"),
                }
            } else if from_url {
                Changed::Yes {
                    why: format!("{url} sent other bytes than the last extract"),
                }
            } else {
                Changed::Yes {
                    why: format!("{url} was not read last time ({})", last.location),
                }
            }
        }
    })
}

/// The file at `path` against the copy `last` recorded: its size, then its SHA-256.
fn file_changed(path: &Path, last: &Provenance) -> Changed {
    let location = absolute(path);
    if last.location != location {
        return Changed::Yes {
            why: format!("{location} was not read last time ({})", last.location),
        };
    }
    let size = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) => {
            return Changed::Yes {
                why: format!("{location} cannot be read ({e})"),
            }
        }
    };
    if size != last.size_bytes {
        return Changed::Yes {
            why: format!(
                "{location} is {size} bytes, {} at the last extract",
                last.size_bytes
            ),
        };
    }
    match crate::base::files::sha256_file(path) {
        Ok((sha256, _)) if sha256 == last.sha256 => Changed::No {
            how: format!("{location} has the size and SHA-256 of the last extract"),
        },
        Ok(_) => Changed::Yes {
            why: format!("{location} has the same size but other bytes (SHA-256)"),
        },
        Err(e) => Changed::Yes {
            why: format!("{location} cannot be read ({e})"),
        },
    }
}
