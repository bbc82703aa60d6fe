//! The error inbox as JSON, for admins' tokens: `GET /api/admin/errors` (a collection like the
//! others) and `GET /api/admin/errors/{id}` (one group with its latest occurrences).

use actix_web::{web, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::representations::{Collection, Failures, PageQuery};
use crate::db;
use crate::errors::AppError;
use crate::tracking::fingerprint::is_group_id;
use crate::tracking::inbox::{self, Filter, Group, Occurrence, Status};
use crate::web::state::AppState;

/// One group of failures.
#[derive(Serialize, ToSchema)]
pub struct ErrorGroupOut {
    /// 16 hex digits, the same on every instance.
    pub id: String,
    /// The latest occurrence's headline.
    pub title: String,
    /// The error's kind and the place in the code that failed.
    pub fingerprint: String,
    pub status: Status,
    /// RFC 3339, UTC.
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    pub occurrences: i64,
    pub users_affected: i64,
    /// Occurrences in each of the last 24 hours, oldest first.
    pub last_24_hours: Vec<i64>,
    pub _links: ErrorGroupLinks,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorGroupLinks {
    #[serde(rename = "self")]
    pub this: String,
    /// The admin page of the group.
    pub page: String,
}

/// One group and its latest occurrences (at most 20), newest first.
#[derive(Serialize, ToSchema)]
pub struct ErrorGroupDetailOut {
    #[serde(flatten)]
    pub group: ErrorGroupOut,
    pub latest: Vec<OccurrenceOut>,
}

/// One occurrence: its report, secrets already redacted.
#[derive(Serialize, ToSchema)]
pub struct OccurrenceOut {
    pub seen_at: String,
    /// Empty for a failure outside any request (a background task).
    pub request_id: String,
    /// The error, then each cause.
    pub chain: Vec<String>,
    pub method: String,
    pub path: String,
    pub user_id: Option<i32>,
    pub task: String,
    pub backtrace: String,
}

/// `?status=&q=` besides the page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErrorsQuery {
    /// Only groups with this status.
    pub status: Option<Status>,
    /// Words the title contains, regardless of case (at most 200 characters). No control
    /// characters: `web/control_characters.rs` refuses them in every query.
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub q: Option<String>,
}

fn rfc3339(time: NaiveDateTime) -> String {
    time.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn status_of(text: &str) -> Status {
    match text {
        "resolved" => Status::Resolved,
        "muted" => Status::Muted,
        _ => Status::Unresolved,
    }
}

fn group_out(group: Group, hours: [i64; 24]) -> ErrorGroupOut {
    ErrorGroupOut {
        _links: ErrorGroupLinks {
            this: format!("/api/admin/errors/{}", group.id),
            page: format!("/admin/errors/{}", group.id),
        },
        status: status_of(&group.status),
        id: group.id,
        title: group.title,
        fingerprint: group.fingerprint,
        first_seen: rfc3339(group.first_seen),
        last_seen: rfc3339(group.last_seen),
        resolved_at: group.resolved_at.map(rfc3339),
        occurrences: group.occurrences,
        users_affected: group.users_affected,
        last_24_hours: hours.to_vec(),
    }
}

fn occurrence_out(occurrence: Occurrence) -> OccurrenceOut {
    let report = occurrence.report;
    OccurrenceOut {
        seen_at: rfc3339(occurrence.seen_at),
        request_id: occurrence.request_id,
        chain: report.chain,
        method: report.method,
        path: report.path,
        user_id: report.user_id,
        task: report.task,
        backtrace: report.backtrace,
    }
}

/// Admins only: the error groups, unresolved first, then the most recently seen.
#[utoipa::path(get, path = "/api/admin/errors", tag = "admin", params(PageQuery, ErrorsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Collection<ErrorGroupOut>), Failures))]
#[tracing::instrument(name = "API: admin errors", skip_all)]
pub async fn list(
    caller: ApiUser,
    page: web::Query<PageQuery>,
    query: web::Query<ErrorsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let (page, per_page) = page.window()?;
    let query = query.into_inner();
    if query.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(AppError::BadRequest(
            "q must be at most 200 characters.".to_string(),
        ));
    }
    let filter = Filter {
        status: query.status,
        search: query.q,
    };
    let (groups, hours) = db::run(&state.pool, move |conn| {
        let groups = inbox::groups(conn, &filter, page, per_page)?;
        let ids: Vec<String> = groups.items.iter().map(|g| g.id.clone()).collect();
        Ok::<_, AppError>((groups, inbox::last_day(conn, &ids)?))
    })
    .await?;
    let mut hours = hours.into_iter();
    Ok(HttpResponse::Ok().json(Collection::new(
        "/api/admin/errors",
        groups,
        per_page,
        |group| group_out(group, hours.next().map(|(_, h)| h).unwrap_or([0; 24])),
    )))
}

/// Admins only: one error group and its latest occurrences.
#[utoipa::path(get, path = "/api/admin/errors/{id}", tag = "admin",
    params(("id" = String, Path, pattern = "^[0-9a-f]{16}$")),
    security(("bearer" = [])),
    responses((status = 200, body = ErrorGroupDetailOut), Failures))]
#[tracing::instrument(name = "API: admin error", skip(caller, state))]
pub async fn get(
    caller: ApiUser,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    caller.require_admin()?;
    let id = id.into_inner();
    if !is_group_id(&id) {
        return Err(no_such_group());
    }
    let (group, occurrences, hours) = db::run(&state.pool, move |conn| {
        let group = inbox::group(conn, &id)?.ok_or_else(no_such_group)?;
        let occurrences = inbox::occurrences(conn, &id)?;
        let hours = inbox::last_day(conn, std::slice::from_ref(&id))?;
        Ok::<_, AppError>((group, occurrences, hours))
    })
    .await?;
    let hours = hours.first().map(|(_, h)| *h).unwrap_or([0; 24]);
    Ok(HttpResponse::Ok().json(ErrorGroupDetailOut {
        group: group_out(group, hours),
        latest: occurrences.into_iter().map(occurrence_out).collect(),
    }))
}

fn no_such_group() -> AppError {
    AppError::Missing("There is no such error group.".to_string())
}
