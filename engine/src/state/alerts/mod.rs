//! Alert state: each alert's lifecycle and its history, kept in its own SQLite file
//! (`data/state/alerts.sqlite`), apart from the replaceable data snapshots, so a reload never
//! loses who acknowledged what. SQLite in WAL mode lets the server read while the CLI merges the
//! alerts of a new load.
//!
//! Merging an evaluation: a new fingerprint opens an alert; one that still fires keeps its state
//! and gets the new evidence (an `updated` event only when the content changed); one that stops
//! firing is resolved (rules with `auto_resolve`) or marked cleared; a resolved or cleared alert
//! that fires again reopens. Merging the same run with the same rules again changes nothing.
//!
//! One module per concern: [`store`] opens the file ([`schema`] creates and migrates it),
//! [`filter`] and [`queries`] read, [`page`] reads a page at a time and counts, [`rows`] maps rows and writes events, [`merge`] folds an
//! evaluation in, [`snooze`] wakes snoozed alerts, [`input`] checks what a person asks and
//! [`act`] applies it through the transition table; [`health`] is the rules' track record;
//! [`outbox`] holds the notifications written with alert events, for the delivery worker, and
//! [`deliveries`] what people see of them (the Deliveries page, resend, channel health);
//! [`export_log`] records every export.

mod act;
pub use act::{LinkUse, Once, RequestKey, REQUEST_KEYS_KEPT_HOURS};
mod deliveries;
mod export_log;
mod filter;
mod health;
mod input;
mod merge;
mod outbox;
mod page;
mod queries;
mod rows;
mod schema;
mod snooze;
mod store;

pub use display::alert::{ActionKind, AlertRecord, DismissReason, Event, SnoozeCondition, Status};

pub use deliveries::{
    ChannelHealth, DeliveryFilter, DeliveryRow, DeliveryStatus, Retried, RetryWhen,
};
pub use export_log::{ExportRecord, LEGACY_EXPORT_LOG};
pub use filter::AlertFilter;
pub use input::{
    Act, ActError, Acted, InputError, SnoozeRequest, MAX_ASSIGNEE_CHARS, MAX_TEXT_BYTES,
};
pub use merge::{evaluation_digest, MergeSummary};
pub use outbox::{Attempt, Enqueued, OutboxMessage, Topic, GIVE_UP_AFTER_HOURS};
pub use page::{AlertGroup, AlertPage, FacetColumn, FacetCount, Keyset};
pub use rows::{BadRecord, RawAlert};
pub use store::{AlertStore, StateError, StateWatch, STATE_FILE};
