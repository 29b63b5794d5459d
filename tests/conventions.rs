//! What a Rust user expects of the crate's HTTP side: a user agent they can set, a
//! re-exported `reqwest` for their own client, and bad input refused with a typed error.

mod support;

use cloudbase_auth::{ConfigError, Error, Session};
use httpmock::MockServer;
use support::*;

/// Sends one cheap operation and reports whether `user-agent: <expected>` arrived.
async fn sends_user_agent(config: cloudbase_auth::Config, server: &MockServer, expected: &str) {
    let mock = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/auth/v1/signin/anonymously")
                .header("user-agent", expected);
            then.status(200)
                .json_body(token_body("a1", Some("r1"), 7200, "anonymous"));
        })
        .await;
    let session = Session::new(config).expect("valid config");
    session.sign_in_anonymously().await.expect("sign-in");
    mock.assert_async().await;
}

#[tokio::test]
async fn the_default_user_agent_names_the_crate_and_its_version() {
    let server = MockServer::start_async().await;
    let config = config(&server.base_url(), &clock());
    let expected = format!("cloudbase-auth-rust/{}", env!("CARGO_PKG_VERSION"));
    sends_user_agent(config, &server, &expected).await;
}

#[tokio::test]
async fn with_user_agent_replaces_it() {
    let server = MockServer::start_async().await;
    let config = config(&server.base_url(), &clock()).with_user_agent("billing/2.3");
    sends_user_agent(config, &server, "billing/2.3").await;
}

#[test]
fn a_user_agent_that_is_no_header_value_is_a_config_error() {
    let config = config("http://127.0.0.1:9", &clock()).with_user_agent("two\nlines");
    let error = Session::new(config).expect_err("a newline cannot go in a header");
    assert!(
        matches!(error, Error::Config(ConfigError::HttpClient(_))),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_client_named_through_the_reexport_is_accepted() {
    let server = MockServer::start_async().await;
    let http = cloudbase_auth::reqwest::Client::builder()
        .user_agent("own-client/1")
        .build()
        .expect("client");
    let config = config(&server.base_url(), &clock()).with_http_client(http);
    sends_user_agent(config, &server, "own-client/1").await;
}
