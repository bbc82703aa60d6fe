//! What the API sends and takes, as JSON, with their OpenAPI schemas.

use serde::{Deserialize, Serialize};
use utoipa::{IntoResponses, ToSchema};

use crate::models::{Paginated, PostWithAuthor, User};
use crate::web::display::iso_time;

/// An image file's bytes, as the body of a request (a name for the OpenAPI document).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
// Never built: only its schema is used, to say the body is the file's bytes.
#[allow(dead_code)]
pub struct ImageBytes(Vec<u8>);

/// What a JSON route says to a body of another type (415).
pub const SEND_JSON: &str = "That kind of content is not accepted here: send JSON.";

/// A user, as anyone may see them.
#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: i32,
    pub username: String,
    pub about_me: String,
    /// ISO 8601, UTC.
    pub last_seen: String,
    pub role: String,
    /// Only on your own record and for admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub _links: UserLinks,
}

#[derive(Serialize, ToSchema)]
pub struct UserLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub followers: String,
    pub following: String,
    pub posts: String,
    /// The picture the user uploaded, if any (`PUT /api/users/{id}/avatar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

impl UserOut {
    /// `user`, with the email address when `show_email`.
    pub fn new(user: User, show_email: bool) -> Self {
        let base = format!("/api/users/{}", user.id);
        UserOut {
            id: user.id,
            last_seen: iso_time(user.last_seen),
            email: show_email.then_some(user.email),
            username: user.username,
            about_me: user.about_me,
            role: user.role,
            _links: UserLinks {
                followers: format!("{base}/followers"),
                following: format!("{base}/following"),
                posts: format!("{base}/posts"),
                avatar: user
                    .avatar_version
                    .map(|version| format!("/avatars/{}/{version}", user.id)),
                this: base,
            },
        }
    }
}

/// A post.
#[derive(Serialize, ToSchema)]
pub struct PostOut {
    pub id: i32,
    pub body: String,
    /// ISO 8601, UTC.
    pub timestamp: String,
    pub author_id: i32,
    pub author: String,
    pub _links: PostLinks,
}

#[derive(Serialize, ToSchema)]
pub struct PostLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub author: String,
}

impl From<PostWithAuthor> for PostOut {
    fn from(post: PostWithAuthor) -> Self {
        PostOut {
            _links: PostLinks {
                this: format!("/api/posts/{}", post.id),
                author: format!("/api/users/{}", post.user_id),
            },
            id: post.id,
            timestamp: iso_time(post.timestamp),
            author_id: post.user_id,
            author: post.author,
            body: post.body,
        }
    }
}

/// One page of a collection, as the Flask API has it.
#[derive(Serialize, ToSchema)]
pub struct Collection<T: ToSchema> {
    pub items: Vec<T>,
    pub _meta: Meta,
    pub _links: PageLinks,
}

#[derive(Serialize, ToSchema)]
pub struct Meta {
    pub page: i64,
    pub per_page: i64,
    /// The next page's number, if there is one.
    pub next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl<T: ToSchema> Collection<T> {
    /// The page `list` of the collection at `path`, its items turned into `T`.
    pub fn new<R>(path: &str, list: Paginated<R>, per_page: i64, item: impl FnMut(R) -> T) -> Self {
        let link = |page: i64| format!("{path}?page={page}&per_page={per_page}");
        let page = list.page;
        let next = list.has_next.then_some(page + 1);
        Collection {
            _links: PageLinks {
                this: link(page),
                next: next.map(link),
                prev: (page > 1).then(|| link(page - 1)),
            },
            _meta: Meta {
                page,
                per_page,
                next,
            },
            items: list.items.into_iter().map(item).collect(),
        }
    }
}

/// `?page=&per_page=` for collections.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based; 1 by default.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i32>,
    /// 1 to 100; 10 by default.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i32>,
}

impl PageQuery {
    /// The page and its size, or a 400 naming the rule broken.
    pub fn window(&self) -> Result<(i64, i64), crate::errors::AppError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(10);
        if !(1..=1_000_000).contains(&page) || !(1..=100).contains(&per_page) {
            return Err(crate::errors::AppError::BadRequest(
                "page must be from 1 to 1000000 and per_page from 1 to 100.".to_string(),
            ));
        }
        Ok((i64::from(page), i64::from(per_page)))
    }
}

// The patterns with `\u0000-…` say in the schema what `web/control_characters.rs` enforces for
// every JSON body: no control characters but tab and line breaks. Unknown members are refused,
// so none can carry one past the contract either.

/// `POST /api/users`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    /// Letters, digits, dots, dashes and underscores, with at least one letter or digit.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9_.-]*[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )]
    pub username: String,
    #[schema(format = Email, max_length = 120)]
    pub email: String,
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub password: String,
}

/// `PUT /api/users/{id}`: what to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdateIn {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9_.-]*[A-Za-z0-9][A-Za-z0-9_.-]*$"
    )]
    pub username: Option<String>,
    #[schema(
        max_length = 140,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub about_me: Option<String>,
}

/// `POST /api/posts`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPostIn {
    /// 1 to 140 characters, not only spaces, and no control characters but tab and line breaks.
    #[schema(
        min_length = 1,
        max_length = 140,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\s][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub body: String,
}

/// A token pair.
#[derive(Serialize, ToSchema)]
pub struct TokensOut {
    /// A JWT (HS256) for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque; exchange it at `/api/tokens/refresh`, once.
    pub refresh_token: String,
    pub token_type: String,
    /// Seconds the access token stays valid.
    pub expires_in: i64,
}

/// `POST /api/tokens/refresh`, and optionally `DELETE /api/tokens` (to revoke just this one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    #[schema(pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub refresh_token: String,
}

/// RFC 9457 problem details: every failure of the API.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub request_id: String,
    /// For 422: the messages for each field.
    pub errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// The failures any API call can meet.
#[derive(IntoResponses)]
#[allow(dead_code)] // Only documents the responses.
pub enum Failures {
    /// Malformed: bad JSON (naming the line and column) or a bad query or path value.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid access token (or credentials): see `WWW-Authenticate`.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's role, or the record's owner, does not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such record or route.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// Wrong method; `Allow` says which.
    #[response(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Problem),
    /// A uniqueness race lost at the database.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body is over 64 KiB (an avatar: over AVATAR_MAX_BYTES).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not JSON (an avatar: not `image/…`).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// The data breaks a rule; `errors` says which, per field.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// Rate-limited; `Retry-After` says when to come back.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
    /// A failure of ours: no internals, the request id, and a mail to the admins.
    #[response(status = 500, content_type = "application/problem+json")]
    ServerError(Problem),
    /// Busy (the database, or too many password checks at once); `Retry-After` may say when.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}
