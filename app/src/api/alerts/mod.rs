mod backtest;
mod get_alert;
mod list_alerts;
mod rule_health;
#[cfg(feature = "ssr")]
pub(crate) mod summary;

pub use backtest::{get_backtest, GetBacktest};
pub use get_alert::{get_alert, GetAlert};
#[cfg(feature = "ssr")]
pub use list_alerts::page_number;
#[cfg(feature = "ssr")]
pub use list_alerts::store_filter;
pub use list_alerts::{list_alerts, ListAlerts, GROUP_BY_DEFAULT, INBOX_PAGE_SIZE};
pub use rule_health::{get_rule_health, GetRuleHealth};
