//! The crate's `Session` against the emulator: every seed scenario, expiry with the
//! clocks advanced, and the "rotation committed, then the response dropped" fault.

mod support;

use cloudbase_auth::{Contact, Error, SignInReason, SignUp};
use cloudbase_auth_emulator::Fault;
use support::world::World;

#[tokio::test]
async fn scenario_1_and_7_password_sign_in_me_password_change_and_delete() {
    let world = World::start().await;
    let session = world.session();
    let signed_in = session
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .unwrap();
    assert_eq!(signed_in.scope.as_deref(), Some("user"));
    let me = session.me().await.unwrap();
    assert_eq!(
        (me.username.as_deref(), me.name.as_deref()),
        (Some("alice"), Some("Alice"))
    );

    session
        .change_password("Alice-pw-1", "Alice-pw-2")
        .await
        .unwrap();
    let wrong = world
        .session()
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .expect_err("old password");
    assert!(wrong.as_api().is_some(), "{wrong}");
    world
        .session()
        .sign_in_with_password("alice", "Alice-pw-2")
        .await
        .expect("new password works");

    session.delete_me("Alice-pw-2").await.unwrap();
    assert!(!session.is_signed_in());
    let gone = world
        .session()
        .sign_in_with_password("alice", "Alice-pw-2")
        .await
        .expect_err("deleted");
    assert!(gone.as_api().is_some());
    world.emulator.shutdown().await;
}

#[tokio::test]
async fn scenario_2_sign_up_with_a_verification_code() {
    let world = World::start().await;
    let session = world.session();
    let contact = Contact::Phone("+86 13800000000".into());
    let sent = session.send_verification_code(&contact).await.unwrap();
    assert!(!sent.is_user);
    let code = world
        .control
        .latest_code_for("+86 13800000000")
        .expect("a code was sent");
    let token = session
        .verify_code(&sent.verification_id, &code)
        .await
        .unwrap();
    let signed_up = session
        .sign_up(
            SignUp::new(contact.clone(), token)
                .with_username("phoneuser")
                .with_password("Phone-pw-1")
                .with_name("手机用户"),
        )
        .await
        .unwrap();
    assert!(signed_up.sub.is_some());
    assert_eq!(
        session.me().await.unwrap().phone_number.as_deref(),
        Some("+86 13800000000")
    );

    // The same phone is now a user: a code signs it in.
    world.advance(61);
    let again = world.session();
    let sent = again.send_verification_code(&contact).await.unwrap();
    assert!(sent.is_user);
    let code = world.control.latest_code_for("+86 13800000000").unwrap();
    let token = again
        .verify_code(&sent.verification_id, &code)
        .await
        .unwrap();
    assert_eq!(
        again.sign_in_with_verification(&token).await.unwrap().sub,
        signed_up.sub
    );
}

#[tokio::test]
async fn scenario_3_anonymous_sign_in_renews_itself_on_the_same_device() {
    let world = World::start().await;
    let session = world.session();
    let first = session.sign_in_anonymously().await.unwrap();
    assert!(session.is_anonymous());
    assert!(session.refresh_token().is_none());
    world.advance(7200);
    let me = session
        .me()
        .await
        .expect("renewed by a new anonymous sign-in");
    assert_eq!(me.sub, first.sub, "same device id, same anonymous user");
    assert_eq!(world.control.request_count("sign_in_anonymously"), 2);
    assert_eq!(world.control.request_count("grant_token"), 0);
}

#[tokio::test]
async fn scenarios_4_to_6_refresh_on_expiry_introspect_and_revoke() {
    let world = World::start().await;
    let session = world.session();
    session
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .unwrap();
    let first_refresh = session.refresh_token().unwrap().expose_secret().to_string();

    world.advance(7200 - 30);
    session.me().await.expect("refreshed inside the margin");
    assert_eq!(world.control.request_count("grant_token"), 1);
    assert_ne!(
        session.refresh_token().unwrap().expose_secret(),
        first_refresh,
        "rotated"
    );

    let introspection = session.introspect().await.unwrap();
    assert!(introspection.active);
    let old_token = session.access_token().await.unwrap();

    session.sign_out().await.unwrap();
    let checker = world.session();
    checker.sign_in_anonymously().await.unwrap();
    let after = checker.introspect_token(&old_token).await.unwrap();
    assert!(!after.active, "a signed-out token is inactive");

    // Scenario 6's revoke: 200 even for an unknown token.
    checker
        .revoke(&cloudbase_auth::RefreshToken::new("m.not-a-token"))
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_tokens_are_refused_by_the_server_and_introspect_inactive() {
    let world = World::start().await;
    let session = world.session();
    session
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .unwrap();
    let token = session.access_token().await.unwrap();
    world.advance(7201);
    let raw = reqwest::Client::new()
        .get(format!("{}/auth/v1/user/me", world.emulator.base_url()))
        .bearer_auth(token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    // The session itself recovers by refreshing.
    session.me().await.unwrap();
}

#[tokio::test]
async fn a_rotation_whose_response_was_dropped_recovers_without_a_new_sign_in() {
    let world = World::start().await;
    let session = world.session();
    session
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .unwrap();
    world
        .control
        .inject_fault("grant_token", Fault::CommitThenDrop, 1);
    world.advance(7200 - 30);
    // The first refresh is committed by the server but its response is lost; the
    // retry presents the same refresh token inside the reuse window and gets the
    // current pair.
    session.me().await.expect("recovered");
    assert!(session.is_signed_in());
    assert_eq!(world.control.request_count("grant_token"), 2);
    world.advance(7200);
    session
        .me()
        .await
        .expect("and the recovered refresh token works later too");
}

#[tokio::test]
async fn a_reused_refresh_token_outside_the_window_ends_the_session_cleanly() {
    let world = World::start().await;
    let session = world.session();
    session
        .sign_in_with_password("alice", "Alice-pw-1")
        .await
        .unwrap();
    let stolen = session.refresh_token().unwrap();
    session.refresh().await.unwrap();
    world.advance(60);
    // Another party replays the spent token: the server revokes the family.
    let thief = world.session();
    let replay = thief
        .adopt_refresh_token(stolen)
        .await
        .expect_err("reuse detected");
    assert!(
        matches!(
            replay,
            Error::SignInRequired {
                reason: SignInReason::RefreshRejected,
                ..
            }
        ),
        "{replay:?}"
    );
    // The victim's session is now refused too, and ends without looping.
    let error = session.refresh().await.expect_err("family revoked");
    assert!(
        matches!(
            error,
            Error::SignInRequired {
                reason: SignInReason::RefreshRejected,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!session.is_signed_in());
}
