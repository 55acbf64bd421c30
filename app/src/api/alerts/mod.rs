mod get_alert;
mod list_alerts;
#[cfg(feature = "ssr")]
pub(crate) mod summary;

pub use get_alert::{get_alert, GetAlert};
pub use list_alerts::{list_alerts, ListAlerts};
