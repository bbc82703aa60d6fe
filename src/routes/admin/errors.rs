//! The error inbox: `/admin/errors` (each failure once, unresolved first), `/admin/errors/{id}`
//! (a group and its latest occurrences) and the POST forms that resolve, mute and reopen one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tera::Context;

use crate::db;
use crate::errors::report::ErrorReport;
use crate::errors::AppError;
use crate::tracking::fingerprint::is_group_id;
use crate::tracking::inbox::{self, Filter, Group, Status};
use crate::web::flash::Level;
use crate::web::page::Page;
use crate::web::pagination::page_links;
use crate::web::redirect::see_other;
use crate::web::state::AppState;

/// Groups per page of the inbox.
const PER_PAGE: i64 = 25;

/// The longest search the inbox takes (a title is at most 200 characters).
const SEARCH_CHARS: usize = 200;

/// `?status=&q=&page=`, all as text: a query that does not parse must not answer a visitor
/// before the admin check does (an anonymous one is sent to the login page).
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    status: Option<String>,
    q: Option<String>,
    page: Option<String>,
}

/// A status named in a query or a path: `all` (or nothing) is every status.
pub fn parse_status(text: &str) -> Result<Option<Status>, AppError> {
    match text {
        "" | "all" => Ok(None),
        "unresolved" => Ok(Some(Status::Unresolved)),
        "resolved" => Ok(Some(Status::Resolved)),
        "muted" => Ok(Some(Status::Muted)),
        _ => Err(AppError::BadRequest(
            "status must be unresolved, resolved, muted or all.".to_string(),
        )),
    }
}

/// One group as the pages show it.
#[derive(Serialize)]
struct GroupView {
    id: String,
    title: String,
    fingerprint: String,
    status: String,
    first_seen: String,
    last_seen: String,
    resolved_at: Option<String>,
    occurrences: i64,
    users_affected: i64,
    /// The last 24 hours, one bar per hour, oldest first.
    chart: Vec<Bar>,
}

/// One hour of a group's chart: its count, and the bar's height out of 20.
#[derive(Serialize)]
struct Bar {
    x: usize,
    y: i64,
    height: i64,
    count: i64,
}

/// How the pages write a time.
pub fn shown_time(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn group_view(group: Group, hours: &[i64; 24]) -> GroupView {
    let highest = hours.iter().copied().max().unwrap_or(0).max(1);
    let chart = hours
        .iter()
        .enumerate()
        .map(|(hour, &count)| {
            // A bar for any count at all, so one occurrence still shows.
            let height = if count > 0 {
                (count * 20 / highest).max(2)
            } else {
                0
            };
            Bar {
                x: hour * 4,
                y: 20 - height,
                height,
                count,
            }
        })
        .collect();
    GroupView {
        id: group.id,
        title: group.title,
        fingerprint: group.fingerprint,
        status: group.status,
        first_seen: shown_time(group.first_seen),
        last_seen: shown_time(group.last_seen),
        resolved_at: group.resolved_at.map(shown_time),
        occurrences: group.occurrences,
        users_affected: group.users_affected,
        chart,
    }
}

/// `GET /admin/errors`: every group, unresolved first, most recently seen first.
#[tracing::instrument(name = "Error inbox", skip_all)]
pub async fn inbox(
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    page.require_admin()?;
    let status_text = query.status.clone().unwrap_or_default();
    let filter = Filter {
        status: parse_status(&status_text)?,
        search: query
            .q
            .as_deref()
            .map(|q| q.trim().chars().take(SEARCH_CHARS).collect()),
    };
    let page_number = query
        .page
        .as_deref()
        .and_then(|page| page.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let search = filter.search.clone().unwrap_or_default();
    let (groups, hours) = db::run(&state.pool, move |conn| {
        let groups = inbox::groups(conn, &filter, page_number, PER_PAGE)?;
        let ids: Vec<String> = groups.items.iter().map(|g| g.id.clone()).collect();
        let hours = inbox::last_day(conn, &ids)?;
        Ok::<_, AppError>((groups, hours))
    })
    .await?;
    let (newer_url, older_url) = page_links(
        "/admin/errors",
        &[("status", &status_text), ("q", &search)],
        &groups,
    );
    let views: Vec<GroupView> = groups
        .items
        .into_iter()
        .zip(hours)
        .map(|(group, (_, hours))| group_view(group, &hours))
        .collect();
    let mut context = Context::new();
    context.insert("title", "Errors");
    context.insert("groups", &views);
    context.insert("status", &status_text);
    context.insert("q", &search);
    context.insert("newer_url", &newer_url);
    context.insert("older_url", &older_url);
    page.render("admin/errors.html", StatusCode::OK, context)
}

/// One occurrence as the group's page shows it.
#[derive(Serialize)]
struct OccurrenceView {
    seen_at: String,
    request_id: String,
    report: ErrorReport,
}

/// `GET /admin/errors/{id}`: the group, its chart and its latest occurrences.
#[tracing::instrument(name = "Error group", skip_all)]
pub async fn group(
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    page.require_admin()?;
    let id = known_shape(id.into_inner())?;
    let (group, occurrences, hours) = db::run(&state.pool, move |conn| {
        let group = inbox::group(conn, &id)?.ok_or_else(no_such_group)?;
        let occurrences = inbox::occurrences(conn, &id)?;
        let hours = inbox::last_day(conn, std::slice::from_ref(&id))?;
        Ok::<_, AppError>((group, occurrences, hours))
    })
    .await?;
    let hours = hours.first().map(|(_, hours)| *hours).unwrap_or([0; 24]);
    let occurrences: Vec<OccurrenceView> = occurrences
        .into_iter()
        .map(|occurrence| OccurrenceView {
            seen_at: shown_time(occurrence.seen_at),
            request_id: occurrence.request_id,
            report: occurrence.report,
        })
        .collect();
    let mut context = Context::new();
    context.insert("title", &format!("Error {}", group.id));
    context.insert("group", &group_view(group, &hours));
    context.insert("occurrences", &occurrences);
    page.render("admin/error_group.html", StatusCode::OK, context)
}

/// `POST /admin/errors/{id}/resolve`, `/mute` and `/reopen`.
#[tracing::instrument(name = "Change error group", skip_all)]
pub async fn change(
    page: Page,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let admin = page.require_admin()?.id;
    let (id, action) = path.into_inner();
    let (status, done) = match action.as_str() {
        "resolve" => (
            Status::Resolved,
            "Resolved: a new occurrence will reopen it as a regression.",
        ),
        "mute" => (
            Status::Muted,
            "Muted: it is still counted, and no longer mailed.",
        ),
        "reopen" => (Status::Unresolved, "Reopened."),
        _ => return Err(AppError::NotFound),
    };
    let id = known_shape(id)?;
    let group = id.clone();
    let unresolved = db::run(&state.pool, move |conn| {
        if !inbox::set_status(conn, &group, status)? {
            return Err(no_such_group());
        }
        inbox::unresolved_count(conn)
    })
    .await?;
    state.error_reporter.set_unresolved(unresolved);
    tracing::info!(group = %id, status = status.as_str(), admin, "Error group changed");
    page.flash(Level::Success, done);
    Ok(see_other(&format!("/admin/errors/{id}")))
}

/// A path's group id, refused before any query when it cannot be one.
fn known_shape(id: String) -> Result<String, AppError> {
    if is_group_id(&id) {
        Ok(id)
    } else {
        Err(no_such_group())
    }
}

fn no_such_group() -> AppError {
    AppError::Missing("There is no such error group.".to_string())
}
