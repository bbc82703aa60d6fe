//! The model rules, as the Flask microblog's tests.py checks them, on a real SQLite file.

use super::*;
use crate::config::DatabaseUrl;
use crate::db::{self, DbPool};
use crate::errors::{AppError, UniqueField};

fn database() -> (tempfile::TempDir, DbPool) {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect(
        &DatabaseUrl::parse(dir.path().join("test.db").to_str().unwrap()),
        1,
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    (dir, pool)
}

fn add_user(conn: &mut crate::db::DbConnection, name: &str) -> User {
    let email = format!("{name}@example.com");
    User::insert(
        conn,
        &NewUser {
            username: name,
            email: &email,
            password_hash: "not a real hash",
        },
    )
    .unwrap()
}

#[test]
fn follow_and_unfollow_are_idempotent() {
    let (_dir, pool) = database();
    let conn = &mut pool.get().unwrap();
    let john = add_user(conn, "john");
    let susan = add_user(conn, "susan");
    assert!(!is_following(conn, john.id, susan.id).unwrap());

    follow(conn, john.id, susan.id).unwrap();
    follow(conn, john.id, susan.id).unwrap();
    assert!(is_following(conn, john.id, susan.id).unwrap());
    assert_eq!(following_count(conn, john.id).unwrap(), 1);
    assert_eq!(follower_count(conn, susan.id).unwrap(), 1);
    assert_eq!(follower_count(conn, john.id).unwrap(), 0);

    unfollow(conn, john.id, susan.id).unwrap();
    unfollow(conn, john.id, susan.id).unwrap();
    assert!(!is_following(conn, john.id, susan.id).unwrap());
    assert_eq!(following_count(conn, john.id).unwrap(), 0);
}

#[test]
fn the_timeline_holds_own_and_followed_posts_newest_first() {
    let (_dir, pool) = database();
    let conn = &mut pool.get().unwrap();
    let [john, susan, mary, david] = ["john", "susan", "mary", "david"].map(|n| add_user(conn, n));
    for (user, body) in [
        (&john, "post from john"),
        (&susan, "post from susan"),
        (&mary, "post from mary"),
        (&david, "post from david"),
    ] {
        create_post(conn, user.id, body).unwrap();
    }
    follow(conn, john.id, susan.id).unwrap();
    follow(conn, john.id, david.id).unwrap();
    follow(conn, susan.id, mary.id).unwrap();
    follow(conn, mary.id, david.id).unwrap();

    let bodies = |user: &User, conn: &mut crate::db::DbConnection| -> Vec<String> {
        timeline_posts(conn, user.id, 1, 10)
            .unwrap()
            .items
            .into_iter()
            .map(|post| post.body)
            .collect()
    };
    assert_eq!(
        bodies(&john, conn),
        ["post from david", "post from susan", "post from john"]
    );
    assert_eq!(bodies(&susan, conn), ["post from mary", "post from susan"]);
    assert_eq!(bodies(&mary, conn), ["post from david", "post from mary"]);
    assert_eq!(bodies(&david, conn), ["post from david"]);
}

#[test]
fn usernames_and_emails_are_unique_regardless_of_case() {
    let (_dir, pool) = database();
    let conn = &mut pool.get().unwrap();
    add_user(conn, "john");

    let same_name = User::insert(
        conn,
        &NewUser {
            username: "JOHN",
            email: "other@example.com",
            password_hash: "x",
        },
    );
    let same_email = User::insert(
        conn,
        &NewUser {
            username: "other",
            email: "John@Example.com",
            password_hash: "x",
        },
    );

    assert!(matches!(
        same_name,
        Err(AppError::Taken(UniqueField::Username))
    ));
    assert!(matches!(
        same_email,
        Err(AppError::Taken(UniqueField::Email))
    ));
    assert!(User::username_taken(conn, "jOhN", None).unwrap());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// SQLite's timeline keeps only the newest posts it has seen so far and leaves an author
    /// after the first post too old for the page: whatever the follows, times (ties included)
    /// and page size, every page is still the one a full sort gives.
    #[test]
    fn every_timeline_page_is_the_one_a_full_sort_gives(
        follows in proptest::collection::vec((0..6usize, 0..6usize), 0..20),
        posts in proptest::collection::vec((0..6usize, 0..30i64), 0..60),
        per_page in 1..7i64,
    ) {
        use crate::db::schema::posts as columns;
        use diesel::prelude::*;

        let (_dir, pool) = database();
        let mut pooled = pool.get().unwrap();
        let conn: &mut crate::db::DbConnection = &mut pooled;
        let users = ["ann", "bob", "cid", "dee", "eve", "fay"].map(|n| add_user(conn, n));
        for &(follower, followed) in follows.iter().filter(|(a, b)| a != b) {
            follow(conn, users[follower].id, users[followed].id).unwrap();
        }
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|day| day.and_hms_opt(12, 0, 0))
            .unwrap();
        let mut written = Vec::new();
        for &(author, minute) in &posts {
            let timestamp = start + chrono::TimeDelta::minutes(minute);
            let id: i32 = diesel::insert_into(columns::table)
                .values((
                    columns::body.eq("a post"),
                    columns::timestamp.eq(timestamp),
                    columns::user_id.eq(users[author].id),
                ))
                .returning(columns::id)
                .get_result(conn)
                .unwrap();
            written.push((users[author].id, timestamp, id));
        }

        for (index, user) in users.iter().enumerate() {
            let followed: Vec<i32> = follows
                .iter()
                .filter(|&&(follower, followed)| follower == index && followed != index)
                .map(|&(_, followed)| users[followed].id)
                .collect();
            let mut expected: Vec<_> = written
                .iter()
                .filter(|(author, _, _)| *author == user.id || followed.contains(author))
                .map(|&(_, timestamp, id)| (timestamp, id))
                .collect();
            expected.sort_unstable_by(|a, b| b.cmp(a));
            let pages = expected.len() as i64 / per_page + 1;
            for page in 1..=pages {
                let shown = timeline_posts(conn, user.id, page, per_page).unwrap();
                let ids: Vec<i32> = shown.items.iter().map(|post| post.id).collect();
                let from = ((page - 1) * per_page) as usize;
                let want: Vec<i32> = expected
                    .iter()
                    .skip(from)
                    .take(per_page as usize)
                    .map(|&(_, id)| id)
                    .collect();
                proptest::prop_assert_eq!(ids, want, "user {} page {}", user.username, page);
                proptest::prop_assert_eq!(shown.has_next, expected.len() > from + per_page as usize);
            }
        }
    }
}
