//! The server side against the emulator: the TC3-signed admin token in a `ServiceSession`
//! (single-flight grants, re-grant at the margin, typed errors; tokio paused time and a manual
//! clock, no sleeps), and custom-login tickets both ways between node-sdk and the crate.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::server::{ServerCredential, ServiceSession};
use cloudbase_auth::{Error, SessionEvent};
use cloudbase_auth_emulator::{CloudSecret, EmulatorConfig, Fault};
use support::world::World;

const SECRET_ID: &str = "AKIDserverside";
const SECRET_KEY: &str = "server-side-secret-key";
const GRANT: &str = "client_credential_token";

async fn world() -> World {
    World::start_with(EmulatorConfig {
        cloud_secret: Some(CloudSecret {
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
            session_token: None,
        }),
        ..EmulatorConfig::default()
    })
    .await
}

fn service(world: &World, credential: ServerCredential) -> ServiceSession {
    ServiceSession::new(world.config().with_server_credential(credential)).expect("config")
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_signed_grant_and_then_the_cache() {
    let world = world().await;
    let service = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    let mut events = service.subscribe();
    // The grant is slow: every caller arrives while it is in flight.
    world.inject(GRANT, Fault::Delay { millis: 500 }, 1);
    let callers = (0..50).map(|_| {
        let service = service.clone();
        tokio::spawn(async move { service.access_token().await })
    });
    let tokens: Vec<String> = futures_collect(callers).await;
    assert_eq!(world.count(GRANT), 1, "one grant for 50 callers");
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "one token for all");
    assert_eq!(
        events.recv().await.unwrap(),
        SessionEvent::SignedIn { sub: None }
    );
    // Cached: no second request.
    service.access_token().await.unwrap();
    assert_eq!(world.count(GRANT), 1);
    let expires = service.expires_at().unwrap();
    assert_eq!(
        expires,
        UNIX_EPOCH + Duration::from_secs(world.control.now() + 432_000)
    );
}

async fn futures_collect(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<cloudbase_auth::AccessToken, Error>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap().unwrap().expose_secret().to_string());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_token_is_granted_again_single_flight_at_the_margin() {
    let world = world().await;
    let service = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    let mut events = service.subscribe();
    let first = service.access_token().await.unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SessionEvent::SignedIn { sub: None }
    );
    // 61 s before expiry: outside the default 60 s margin.
    world.advance(432_000 - 61);
    service.access_token().await.unwrap();
    assert_eq!(world.count(GRANT), 1);
    // Inside the margin: one new grant for every concurrent caller.
    world.advance(1);
    world.inject(GRANT, Fault::Delay { millis: 200 }, 1);
    let callers = (0..20).map(|_| {
        let service = service.clone();
        tokio::spawn(async move { service.access_token().await })
    });
    let tokens = futures_collect(callers).await;
    assert_eq!(world.count(GRANT), 2);
    assert!(tokens.iter().all(|t| t != first.expose_secret()));
    assert_eq!(events.recv().await.unwrap(), SessionEvent::TokenRefreshed);
}

fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        body: None,
        retry_after_secs: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_keeps_a_still_valid_token_and_an_expired_one_is_not_used() {
    let world = world().await;
    let service = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    let first = service.access_token().await.unwrap();
    world.advance(432_000 - 30);
    world.inject(GRANT, unavailable(), 1);
    let kept = service.access_token().await.unwrap();
    assert_eq!(kept.expose_secret(), first.expose_secret());
    world.advance(30);
    world.inject(GRANT, unavailable(), 1);
    let error = service.access_token().await.unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    // The next call grants again.
    let next = service.access_token().await.unwrap();
    assert_ne!(next.expose_secret(), first.expose_secret());
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_a_typed_error_that_names_no_secret() {
    let world = world().await;
    for credential in [
        ServerCredential::tc3(SECRET_ID, "not-the-key"),
        ServerCredential::tc3("AKIDunknown", SECRET_KEY),
        ServerCredential::tc3_with_session_token(SECRET_ID, SECRET_KEY, "unexpected-sts-token"),
        ServerCredential::basic_sending_secret_key(SECRET_ID, "not-the-key"),
    ] {
        let error = service(&world, credential)
            .access_token()
            .await
            .unwrap_err();
        let api = error
            .as_api()
            .unwrap_or_else(|| panic!("an API error: {error:?}"));
        assert_eq!(api.status, 401);
        assert!(api.is_unauthenticated(), "{error:?}");
        let text = format!("{error}\n{error:?}");
        for secret in [SECRET_KEY, "not-the-key", "unexpected-sts-token"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // Basic with the right pair works (the docs allow it), and so does a configured STS token.
    service(
        &world,
        ServerCredential::basic_sending_secret_key(SECRET_ID, SECRET_KEY),
    )
    .access_token()
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn temporary_credentials_sign_with_their_session_token() {
    let world = World::start_with(EmulatorConfig {
        cloud_secret: Some(CloudSecret {
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
            session_token: Some("sts-token-1".into()),
        }),
        ..EmulatorConfig::default()
    })
    .await;
    let sts = ServerCredential::tc3_with_session_token(SECRET_ID, SECRET_KEY, "sts-token-1");
    service(&world, sts).access_token().await.unwrap();
    let without = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    assert!(without.access_token().await.unwrap_err().as_api().is_some());
}

#[tokio::test(start_paused = true)]
async fn a_signature_off_by_more_than_five_minutes_is_refused() {
    let world = world().await;
    let service = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    // This machine's clock runs 10 minutes ahead of the server's.
    world.clock.advance(Duration::from_secs(600));
    let error = service.access_token().await.unwrap_err();
    assert!(format!("{error}").contains("5 minutes"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn an_api_key_is_the_admin_bearer_without_an_exchange() {
    let world = world().await;
    let service = service(&world, ServerCredential::api_key("the-api-key"));
    assert_eq!(
        service.access_token().await.unwrap().expose_secret(),
        "the-api-key"
    );
    assert_eq!(world.count(GRANT), 0);
    let debug = format!("{service:?}");
    assert!(!debug.contains("the-api-key"), "{debug}");
}

#[tokio::test(start_paused = true)]
async fn authorized_operations_carry_the_admin_token() {
    let world = world().await;
    let service = service(&world, ServerCredential::tc3(SECRET_ID, SECRET_KEY));
    let token = service.access_token().await.unwrap();
    // Introspection of the bearer it was sent with: the admin token belongs to no user
    // session, so the emulator reports it inactive — but it was the admin token that went.
    let result = service
        .authorized(|raw| async move { raw.introspect_token().send().await })
        .await
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(world.count("introspect_token"), 1);
    assert_eq!(world.count(GRANT), 1, "the cached token was used");
    assert!(!token.expose_secret().is_empty());
}

#[test]
fn without_a_server_credential_a_service_session_is_a_config_error() {
    let error = ServiceSession::new(cloudbase_auth::Config::for_env("my-env")).unwrap_err();
    assert!(
        format!("{error}").contains("with_server_credential"),
        "{error}"
    );
}

#[cfg(feature = "server")]
mod tickets {
    use std::time::{Duration, UNIX_EPOCH};

    use cloudbase_auth::server::{CustomLoginKey, TicketError, TicketOptions};
    use cloudbase_auth::{CustomLoginTicket, ManualClock};
    use cloudbase_auth_emulator::{CustomLoginPublicKey, EmulatorConfig};
    use serde_json::Value;

    use crate::support::world::World;

    const KEY_FILE: &str = include_str!("fixtures/custom-login/dev-only-key.json");
    const PUBLIC_KEY: &str = include_str!("fixtures/custom-login/dev-only-public.pem");

    fn vectors() -> Value {
        serde_json::from_str(include_str!("js-oracle/ticket-vectors.json")).unwrap()
    }

    fn key_at(now_ms: u64) -> CustomLoginKey {
        CustomLoginKey::from_json(KEY_FILE)
            .unwrap()
            .with_clock(ManualClock::new(UNIX_EPOCH + Duration::from_millis(now_ms)))
    }

    #[test]
    fn the_crate_mints_node_sdk_tickets_byte_for_byte() {
        let table = vectors();
        let vectors = table["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 5);
        for vector in vectors {
            let mut options = TicketOptions::default();
            if let Some(refresh) = vector["refresh_ms"].as_u64() {
                options = options.with_refresh(Duration::from_millis(refresh));
            }
            if let Some(expire) = vector["expire_ms"].as_u64() {
                options = options.with_expire(UNIX_EPOCH + Duration::from_millis(expire));
            }
            let ticket = key_at(vector["now_ms"].as_u64().unwrap())
                .create_ticket(vector["uid"].as_str().unwrap(), &options)
                .unwrap();
            assert_eq!(
                ticket.expose_secret(),
                vector["ticket"].as_str().unwrap(),
                "{}",
                vector["name"]
            );
        }
    }

    #[test]
    fn uids_node_sdk_refuses_are_refused() {
        let table = vectors();
        let refused = table["refused_uids"].as_array().unwrap();
        assert!(refused.len() >= 5);
        let key = key_at(1_700_000_000_000);
        for uid in refused {
            let error = key
                .create_ticket(uid.as_str().unwrap(), &TicketOptions::default())
                .unwrap_err();
            assert!(
                matches!(error, TicketError::InvalidUid { .. }),
                "{uid}: {error:?}"
            );
            assert!(
                !error.to_string().contains(uid.as_str().unwrap()),
                "the uid is not echoed"
            );
        }
    }

    #[test]
    fn bad_key_files_are_typed_errors_without_key_material() {
        let without_env = KEY_FILE.replace("\"env_id\": \"demo-env\"", "\"env_id\": \"\"");
        assert_eq!(
            CustomLoginKey::from_json(&without_env).unwrap_err(),
            TicketError::MissingEnvId
        );
        let file: Value = serde_json::from_str(KEY_FILE).unwrap();
        let pem = file["private_key"].as_str().unwrap();
        let broken = KEY_FILE.replace(&pem[40..80], "");
        let error = CustomLoginKey::from_json(&broken).unwrap_err();
        assert_eq!(error, TicketError::InvalidPrivateKey);
        let not_json = format!("{{\"private_key\": \"{}", &pem[40..120]);
        let error = CustomLoginKey::from_json(&not_json).unwrap_err();
        assert!(matches!(error, TicketError::KeyFile(_)));
        assert!(
            !format!("{error} {error:?}").contains(&pem[40..60]),
            "{error}"
        );
        let key = CustomLoginKey::from_json(KEY_FILE).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            "CustomLoginKey { private_key_id: \"dev-only-key-1\", env_id: \"demo-env\", private_key: \"[redacted]\" }"
        );
    }

    async fn world_with_key() -> World {
        World::start_with(EmulatorConfig {
            custom_login_keys: vec![CustomLoginPublicKey {
                private_key_id: "dev-only-key-1".into(),
                public_key: PUBLIC_KEY.into(),
            }],
            ..EmulatorConfig::default()
        })
        .await
    }

    #[tokio::test]
    async fn a_node_sdk_ticket_signs_in_through_session() {
        let table = vectors();
        let vector = &table["vectors"][0];
        let world = world_with_key().await;
        let now_ms = vector["now_ms"].as_u64().unwrap();
        world.control.set_clock(now_ms / 1000);
        world
            .clock
            .set(UNIX_EPOCH + Duration::from_secs(now_ms / 1000));
        let session = world.session();
        let ticket = CustomLoginTicket::new(vector["ticket"].as_str().unwrap());
        let signed_in = session.sign_in_with_custom_ticket(&ticket).await.unwrap();
        assert!(signed_in.sub.is_some());
        assert_eq!(session.me().await.unwrap().sub, signed_in.sub);
    }

    #[tokio::test]
    async fn a_crate_ticket_signs_in_and_forged_expired_other_env_ones_do_not() {
        let world = world_with_key().await;
        let now = world.clock.clone();
        let key = CustomLoginKey::from_json(KEY_FILE).unwrap().with_clock(now);
        let ticket = key
            .create_ticket("crate-user-1", &TicketOptions::default())
            .unwrap();
        let session = world.session();
        let first = session.sign_in_with_custom_ticket(&ticket).await.unwrap();
        let again = world
            .session()
            .sign_in_with_custom_ticket(&ticket)
            .await
            .unwrap();
        assert_eq!(first.sub, again.sub, "the same uid, the same user");

        let forger = include_str!("fixtures/custom-login/forger-key.json");
        let forged = CustomLoginKey::from_json(forger)
            .unwrap()
            .with_clock(world.clock.clone())
            .create_ticket("crate-user-1", &TicketOptions::default())
            .unwrap();
        let other_env = CustomLoginKey::from_json(&KEY_FILE.replace("demo-env", "other-env"))
            .unwrap()
            .with_clock(world.clock.clone())
            .create_ticket("crate-user-1", &TicketOptions::default())
            .unwrap();
        for (what, ticket) in [("forged", &forged), ("other env", &other_env)] {
            let error = world
                .session()
                .sign_in_with_custom_ticket(ticket)
                .await
                .unwrap_err();
            assert!(
                error.as_api().is_some_and(|a| a.error == "invalid_grant"),
                "{what}: {error:?}"
            );
            assert!(
                !format!("{error:?}").contains(&ticket.expose_secret()[20..40]),
                "{what}"
            );
        }
        world.advance(600);
        let error = world
            .session()
            .sign_in_with_custom_ticket(&ticket)
            .await
            .unwrap_err();
        assert!(
            error.as_api().is_some_and(|a| a.error == "invalid_grant"),
            "expired: {error:?}"
        );
    }
}
