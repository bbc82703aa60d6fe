//! `cargo run -- seed`: demo data, so a newcomer sees a living site, and the data set the
//! benchmark uses: users `user1` … `user100` (password `pass`), 20 posts each, each following
//! the next 10 users. Running it again changes nothing.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use secrecy::SecretString;

use crate::config::Settings;
use crate::db;
use crate::db::schema::{followers, posts, users};
use crate::errors::AppError;
use crate::on_each_backend;
use crate::password::hash_password;

const USERS: i32 = 100;
const POSTS_PER_USER: i32 = 20;
const FOLLOWS_PER_USER: i32 = 10;
/// The password of every demo user.
pub const PASSWORD: &str = "pass";

const SENTENCES: [&str; 10] = [
    "Just shipped a new feature and nothing caught fire.",
    "Reading about error handling in Rust: Result everywhere, and I like it.",
    "Coffee first, then the borrow checker.",
    "Why does every bug live in the code I was sure about?",
    "Today I learned that SQLite can do a lot more than I thought.",
    "Walked the dog, wrote a test, fixed the test.",
    "Anyone else rewriting their side project for the third time?",
    "A 404 page with a search box is a small kindness.",
    "Logs that rotate are logs you can keep.",
    "The best error message says what to do next.",
];

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Setup(#[from] db::DatabaseSetupError),
    #[error("seeding failed: {0}")]
    Write(String),
}

/// Creates the demo data unless `user1` already exists.
pub fn run(settings: &Settings) -> Result<(), SeedError> {
    let pool = db::connect(&settings.database_url, 1, settings.database_timeout())?;
    let mut pooled = pool.get().map_err(|e| SeedError::Write(e.to_string()))?;
    let conn: &mut db::DbConnection = &mut pooled;
    let exists: bool = diesel::select(diesel::dsl::exists(
        users::table.filter(users::username.eq("user1")),
    ))
    .get_result(conn)
    .map_err(|e| SeedError::Write(e.to_string()))?;
    if exists {
        println!("The demo data is already there (user1 exists): nothing to do.");
        return Ok(());
    }
    // One hash for all demo users: hashing 100 times would take seconds and protect nothing.
    let hash = hash_password(&SecretString::from(PASSWORD))
        .map_err(|e| SeedError::Write(format!("{e:?}")))?;
    let now = Utc::now().naive_utc();
    db::write_transaction(conn, |conn| {
        let names: Vec<(String, String)> = (1..=USERS)
            .map(|n| (format!("user{n}"), format!("user{n}@example.com")))
            .collect();
        let new_users: Vec<_> = names
            .iter()
            .map(|(name, email)| {
                (
                    users::username.eq(name),
                    users::email.eq(email),
                    users::password_hash.eq(&hash),
                    users::about_me.eq(format!("Hi, I am {name}, a demo user.")),
                )
            })
            .collect();
        // Multi-row INSERTs are beyond the common SQL of both databases: one statement each.
        let insert = diesel::insert_into(users::table).values(&new_users);
        let ids: Vec<i32> =
            on_each_backend!(conn, |conn| insert.returning(users::id).get_results(conn))?;

        insert_posts(conn, &ids, now)?;
        insert_follows(conn, &ids)?;
        Ok(())
    })
    .map_err(|e| SeedError::Write(e.to_string()))?;
    println!(
        "Seeded {USERS} users (user1 … user{USERS}, password \"{PASSWORD}\"), {} posts and {} follows.",
        USERS * POSTS_PER_USER,
        USERS * FOLLOWS_PER_USER
    );
    Ok(())
}

/// Every user's posts, interleaved over the last days so every timeline mixes authors.
fn insert_posts(
    conn: &mut db::DbConnection,
    ids: &[i32],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let mut new_posts = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        for n in 0..POSTS_PER_USER {
            let sequence = index as i32 * POSTS_PER_USER + n;
            let body = SENTENCES[(sequence as usize) % SENTENCES.len()];
            let age = TimeDelta::minutes((USERS * POSTS_PER_USER - sequence) as i64 * 7 % 50_000);
            new_posts.push((
                posts::body.eq(body),
                posts::timestamp.eq(now - age),
                posts::user_id.eq(*id),
            ));
        }
    }
    for chunk in new_posts.chunks(500) {
        let insert = diesel::insert_into(posts::table).values(chunk);
        on_each_backend!(conn, |conn| insert.execute(conn))?;
    }

    Ok(())
}

/// Each user follows the next FOLLOWS_PER_USER users.
fn insert_follows(conn: &mut db::DbConnection, ids: &[i32]) -> Result<(), AppError> {
    let mut follows = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        for step in 1..=FOLLOWS_PER_USER as usize {
            let followed = ids[(index + step) % ids.len()];
            follows.push((
                followers::follower_id.eq(*id),
                followers::followed_id.eq(followed),
            ));
        }
    }
    for chunk in follows.chunks(500) {
        let insert = diesel::insert_into(followers::table).values(chunk);
        on_each_backend!(conn, |conn| insert.execute(conn))?;
    }
    Ok(())
}
