use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::deliveries::Deliveries;

/// Messages on a page of the deliveries.
pub const DELIVERIES_PAGE_SIZE: usize = 50;

/// A page of the notification outbox (`page` 1 is the newest), filtered by `status` and
/// `channel`, with every channel's health; every count by the database. Admins only.
#[server(input = GetUrl, endpoint = "get_deliveries")]
pub async fn get_deliveries(
    #[server(default)] status: Option<String>,
    #[server(default)] channel: Option<String>,
    #[server(default)] page: Option<String>,
) -> Result<Deliveries, ApiError> {
    use crate::i18n::Lang;
    use crate::model::deliveries::{ChannelHealth, DeliveryStatus};
    use crate::state::AppState;
    use engine::state::alerts::DeliveryFilter;

    let lang = crate::i18n::initial_lang();
    if crate::auth::current_viewer().is_none_or(|v| v.role != "admin") {
        return Err(ApiError::Forbidden(
            match lang {
                Lang::En => "The deliveries are for admins; ask an admin.",
                Lang::Ko => "알림 전송 내역은 관리자만 볼 수 있습니다. 관리자에게 문의하세요.",
            }
            .into(),
        ));
    }
    let page = crate::api::alerts::page_number(page.as_deref())?;
    let status = match status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).filter(|d| d.as_str() == s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`status` is one of pending, delivered, failed, cancelled, not `{s}` / `status`는 pending, delivered, failed, cancelled 중 하나여야 합니다"
            ))
        })?),
    };
    let channel = channel
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    let state = expect_context::<AppState>();
    tokio::task::spawn_blocking(move || {
        let err = |e: &dyn std::fmt::Display| ApiError::internal("deliveries", e);
        let store = engine::state::AlertStore::open_in(&state.data_dir).map_err(|e| err(&e))?;
        let filter = DeliveryFilter {
            status,
            channel: channel.clone(),
        };
        let matching = store.count_deliveries(&filter).map_err(|e| err(&e))?;
        let rows = store
            .deliveries_page(
                &filter,
                (page - 1).saturating_mul(DELIVERIES_PAGE_SIZE),
                DELIVERIES_PAGE_SIZE,
            )
            .map_err(|e| err(&e))?
            .iter()
            .map(|m| m.row())
            .collect();
        let by_channel = store.delivery_channel_counts().map_err(|e| err(&e))?;
        // Every channel with a record, and those with messages that never failed.
        let mut channels = store.channel_health().map_err(|e| err(&e))?;
        for (id, _) in &by_channel {
            if !channels.iter().any(|c| &c.id == id) {
                channels.push(ChannelHealth {
                    id: id.clone(),
                    failures: 0,
                    failing_since: None,
                    disabled_at: None,
                    disabled_reason: None,
                });
            }
        }
        channels.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Deliveries {
            rows,
            channels,
            by_status: store.delivery_counts().map_err(|e| err(&e))?,
            by_channel,
            status,
            channel,
            matching,
            page,
            page_size: DELIVERIES_PAGE_SIZE,
        })
    })
    .await
    .map_err(|e| ApiError::stopped("deliveries", e))?
}
