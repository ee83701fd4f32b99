//! The paths of Autobahn's fuzzingserver protocol: where a request to the client listener goes
//! ([`Route`]), and what its query names (the agent, a driver's observation).

use std::collections::HashMap;

use wsspec_suite::results::Observation;
use wsspec_wire::Request;

/// The query parameters of a request.
pub(super) type Query = HashMap<String, String>;

/// Where a request goes.
pub(super) enum Route {
    Page,
    CaseCount,
    CaseInfo(Query),
    CaseStatus(Query),
    RunCase(Query),
    Observation(Query),
    UpdateReports(Query),
    Unknown(String),
}

impl Route {
    pub(super) fn of(request: &Request) -> Route {
        Route::of_target(&request.target)
    }

    /// The route of a request-target, in origin form (`/runCase?case=1`) or absolute form
    /// (`http://host/runCase?case=1`, which RFC 9112 §3.2.2 has a server accept).
    pub(super) fn of_target(target: &str) -> Route {
        let absolute = (!target.starts_with('/'))
            .then(|| url::Url::parse(target).ok())
            .flatten();
        let target = match &absolute {
            Some(url) => &url[url::Position::BeforePath..url::Position::AfterQuery],
            None => target,
        };
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query: Query = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        match path {
            "/" | "/index.html" => Route::Page,
            "/getCaseCount" => Route::CaseCount,
            "/getCaseInfo" => Route::CaseInfo(query),
            "/getCaseStatus" => Route::CaseStatus(query),
            "/runCase" => Route::RunCase(query),
            "/reportObservation" => Route::Observation(query),
            "/updateReports" => Route::UpdateReports(query),
            other => Route::Unknown(other.to_owned()),
        }
    }
}

pub(super) fn agent(query: &Query) -> Result<String, String> {
    query
        .get("agent")
        .filter(|agent| !agent.is_empty())
        .cloned()
        .ok_or_else(|| "missing agent=NAME".to_owned())
}

pub(super) fn observation(query: &Query) -> Observation {
    Observation {
        code: query.get("code").and_then(|code| code.parse().ok()),
        reason: query.get("reason").cloned().unwrap_or_default(),
        clean: query.get("clean").is_some_and(|clean| clean == "true"),
    }
}
