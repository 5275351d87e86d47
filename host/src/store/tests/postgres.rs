//! What only the PostgreSQL backend has: its schema versions, and errors
//! that say what the server said.

use super::*;

fn server(test: &str) -> Option<&'static postgres_server::PostgresServer> {
    postgres_server::server(test)
}

#[test]
fn a_database_of_a_newer_schema_is_refused_naming_both_versions() {
    let Some(server) = server("postgres::a_database_of_a_newer_schema_is_refused") else {
        return;
    };
    let url = server.fresh_database();
    let clock = Arc::new(ManualClock::new(start()));
    drop(PostgresStore::open(PostgresOptions::new(url.clone()), clock.clone()).unwrap());
    server.psql(
        &url,
        "INSERT INTO redress_schema_migrations (version) VALUES (99)",
    );
    let error = PostgresStore::open(PostgresOptions::new(url.clone()), clock).unwrap_err();
    assert!(
        matches!(error, StoreError::NewerSchema { found: 99, .. }),
        "{error}"
    );
    let error = PostgresReader::connect(&PostgresOptions::new(url))
        .err()
        .unwrap();
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn a_database_error_says_what_the_server_said() {
    let Some(server) = server("postgres::a_database_error_says_what_the_server_said") else {
        return;
    };
    let url = server.fresh_database();
    let clock = Arc::new(ManualClock::new(start()));
    drop(PostgresStore::open(PostgresOptions::new(url.clone()), clock).unwrap());
    let reader = PostgresReader::connect(&PostgresOptions::new(url.clone())).unwrap();
    server.psql(&url, "DROP TABLE cases CASCADE");
    let error = reader.case("c-1").unwrap_err().to_string();
    assert!(
        error.contains("relation \"cases\" does not exist"),
        "{error}"
    );
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    let error = PostgresReader::connect(&PostgresOptions::new(
        "postgres://redress:hunter2@127.0.0.1:1/redress",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(
        error.contains("postgres://redress@127.0.0.1:1/redress") && error.contains("refused"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}
