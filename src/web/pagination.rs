//! Pagination as a page shows it: the `?page=N` query and the "Newer posts" / "Older posts"
//! links. (The rows of one page are read in `models`, as a `Paginated`.)

use serde::Deserialize;

use crate::models::Paginated;

/// `?page=N` (1-based); a missing or non-positive page is the first.
#[derive(Debug, Deserialize)]
pub struct PageNumber {
    page: Option<i64>,
}

impl PageNumber {
    /// The page asked for, at least 1.
    pub fn get(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }
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
