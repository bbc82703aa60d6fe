//! The handlers, one file per area of the site. `startup.rs` maps them to URLs.

pub mod auth;
pub mod avatar;
pub mod health;
pub mod lab;
pub mod password_reset;
pub mod posts;
pub mod users;

use actix_web::http::header;
use actix_web::HttpResponse;
use serde::Deserialize;

use crate::models::Paginated;

/// `?page=N` (1-based); a missing or non-positive page is the first.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

impl PageQuery {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
}

/// A 303 redirect: after a POST, the browser follows it with a GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The "Newer posts" and "Older posts" links of a paginated list at `path`, keeping `params`.
pub fn page_links<T>(
    path: &str,
    params: &[(&str, &str)],
    list: &Paginated<T>,
) -> (Option<String>, Option<String>) {
    let link = |page: i64| {
        let page = page.to_string();
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("page", &page));
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&query).unwrap_or_default()
        )
    };
    let newer = (list.page > 1).then(|| link(list.page - 1));
    let older = list.has_next.then(|| link(list.page + 1));
    (newer, older)
}

/// Every URL without a route: our 404 page, with the navigation of the logged-in user.
pub async fn not_found(
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, crate::errors::AppError> {
    // Loading the user here lets the error page show the right navigation; if even that
    // fails, the 404 is still the answer.
    let _ = crate::session::current_user(&req).await;
    Err(crate::errors::AppError::NotFound)
}
