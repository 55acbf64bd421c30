//! The overview page's data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryGdp {
    pub code: String,
    pub name: String,
    pub region: String,
    pub gdp_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionTop5 {
    pub region: String,
    pub average_usd: f64,
    pub countries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub run_id: String,
    pub year: i32,
    pub years: Vec<i32>,
    pub countries_with_data: usize,
    pub large_economies: Vec<CountryGdp>,
    pub region_top5: Vec<RegionTop5>,
}

#[cfg(feature = "ssr")]
impl Overview {
    pub fn from_engine(run_id: String, o: engine::store::Overview) -> Self {
        Overview {
            run_id,
            year: o.year,
            years: o.years,
            countries_with_data: o.countries_with_data,
            large_economies: o
                .large_economies
                .into_iter()
                .map(|c| CountryGdp {
                    code: c.code,
                    name: c.name,
                    region: c.region,
                    gdp_usd: c.gdp_usd,
                })
                .collect(),
            region_top5: o
                .region_top5
                .into_iter()
                .map(|r| RegionTop5 {
                    region: r.region,
                    average_usd: r.average_usd,
                    countries: r.countries,
                })
                .collect(),
        }
    }
}
