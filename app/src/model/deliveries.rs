//! The deliveries page's data (admins only).

use serde::{Deserialize, Serialize};

pub use display::notify::{ChannelHealth, DeliveryRow, DeliveryStatus};

/// A page of the notification outbox, with its filters and the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deliveries {
    /// Newest first.
    pub rows: Vec<DeliveryRow>,
    /// Every channel with messages or a health record: failing, disabled, or working.
    pub channels: Vec<ChannelHealth>,
    /// Messages per status and per channel (all messages, by the database).
    pub by_status: Vec<(DeliveryStatus, usize)>,
    pub by_channel: Vec<(String, usize)>,
    /// The filter in the URL (`status`, `channel`), as given.
    pub status: Option<DeliveryStatus>,
    pub channel: Option<String>,
    /// Messages the filter selects.
    pub matching: usize,
    pub page: usize,
    pub page_size: usize,
}
