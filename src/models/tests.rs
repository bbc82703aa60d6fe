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
