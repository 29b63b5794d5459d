//! A service whose route only answers signed-in users, checked by the token verifier.
//!
//! Starts the emulator in-process, signs in anonymously with this crate, serves
//! `GET /hello` behind `VerifyLayer`, and calls it with and without the token:
//!
//! ```text
//! cargo run --example protect_service --features axum
//! ```

use std::error::Error;

use axum::Router;
use axum::routing::get;
use cloudbase_auth::verifier::{Claims, Verifier, VerifyLayer};
use cloudbase_auth::{Config, Session};
use cloudbase_auth_emulator::{Emulator, EmulatorConfig};

/// The protected handler: it runs only with verified claims.
async fn hello(claims: Claims) -> String {
    let kind = if claims.is_anonymous() {
        "anonymous user"
    } else {
        "user"
    };
    format!("hello, {kind} {}", claims.sub())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let config = Config::for_base_url(emulator.base_url()).with_client_id("demo-env");

    // The gateway side: online mode sees sign-outs within the cache TTL (60 s by default).
    let verifier = Verifier::online(config.clone()).build()?;
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(VerifyLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hello", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // The client side: an anonymous sign-in, then the call with its access token.
    let session = Session::new(config)?;
    session.sign_in_anonymously().await?;
    let token = session.access_token().await?;
    let http = reqwest::Client::new();
    let signed_in = http
        .get(&url)
        .bearer_auth(token.expose_secret())
        .send()
        .await?;
    println!(
        "with the token:    {} {}",
        signed_in.status(),
        signed_in.text().await?
    );
    let anonymous = http.get(&url).send().await?;
    println!(
        "without a token:   {} {}",
        anonymous.status(),
        anonymous.text().await?
    );

    server.abort();
    emulator.shutdown().await;
    Ok(())
}
