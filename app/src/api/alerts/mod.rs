mod backtest;
mod get_alert;
mod list_alerts;
mod rule_health;
#[cfg(feature = "ssr")]
pub(crate) mod summary;

pub use backtest::{get_backtest, GetBacktest};
pub use get_alert::{get_alert, GetAlert};
pub use list_alerts::{list_alerts, ListAlerts};
#[cfg(feature = "ssr")]
pub use list_alerts::{matching, store_filter};
pub use rule_health::{get_rule_health, GetRuleHealth};
