//! Secret hygiene across every seed scenario, against the in-process emulator, with one
//! global tracing subscriber at TRACE capturing the client's AND the emulator's logs.
//!
//! Scanned for: every password, the client secret, every access, refresh, sudo,
//! verification and provider token the run handled — whole, and by an 8-character
//! prefix, suffix and middle window (for a JWT also the first 8 characters of each of
//! its three parts) — in the captured logs and in the `Display` and `Debug` of every
//! error and result.
//!
//! Verification CODES: the emulator logs each code it "sends" at info level, by design
//! (dev-only, like Firebase's emulator: that is how a developer reads the SMS). A code
//! is a short-lived one-time value, not a credential of a session, so it is not counted
//! as a token leak when the emulator logs it. The CLIENT must never log one: lines of
//! the `cloudbase_auth` targets are checked for it, and so are errors and results.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::server::{ServerCredential, ServiceSession};
use cloudbase_auth::{Config, Contact, Error, ManualClock, RefreshToken, Session, SignUp};
use cloudbase_auth_emulator::{
    ClientConfig, CloudSecret, Control, CustomLoginPublicKey, Emulator, EmulatorConfig,
    RunningEmulator, SeedUser,
};
use cloudbase_auth_testkit::{CLIENT_ID, emulator_config_from};

const CLIENT_SECRET: &str = "Cs-9f2k7Qx4vT1m";
const ALICE_PASSWORD: &str = "Pw-Alice-7f3kZq";
const ALICE_NEW_PASSWORD: &str = "Pw-Alice-new-8hW2";
const PHONE_PASSWORD: &str = "Pw-Phone-5tRb9s";
const WRONG_PASSWORD: &str = "Pw-Wrong-2xYv6n";
const PUBLIC_CLIENT_ID: &str = "public-client";
const SECRET_ID: &str = "AKIDscan";
const SECRET_KEY: &str = "Sk-scan-4Jd8wQz1Lm";
const STS_TOKEN: &str = "Sts-scan-7Hn3pXe5Rt";

/// The one capture of this test binary (a global subscriber sees every thread, so the
/// emulator's tasks are captured along with the client's).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_target(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    })
}

/// Everything the run handled that must not leak, and the text to scan.
#[derive(Default)]
struct Evidence {
    secrets: Vec<(String, String)>,
    codes: Vec<String>,
    texts: Vec<String>,
}

impl Evidence {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.secrets.push((what.to_string(), value.to_string()));
    }

    /// `Display` and `Debug` of an error or a result.
    fn text(&mut self, value: &(impl std::fmt::Debug + ?Sized)) {
        self.texts.push(format!("{value:?}"));
    }

    fn error(&mut self, error: &Error) {
        self.texts.push(format!("{error}\n{error:?}"));
    }

    fn session(&mut self, session: &Session) {
        self.text(session);
        self.text(session.raw());
        if let Some(refresh) = session.refresh_token() {
            self.secret("refresh token", refresh.expose_secret());
            self.text(&refresh);
        }
    }

    async fn access(&mut self, session: &Session) {
        let token = session.access_token().await.expect("a valid access token");
        self.secret("access token", token.expose_secret());
        self.text(&token);
    }
}

/// The pieces of a secret that count as a leak: whole, 8-character prefix, suffix and
/// middle, and for a JWT the start of each part.
fn needles(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let window = |from: usize| chars[from..(from + 8).min(chars.len())].iter().collect();
    let mut out = vec![secret.to_string(), window(0)];
    if chars.len() > 8 {
        out.push(window(chars.len() - 8));
        out.push(window(chars.len() / 2 - 4.min(chars.len() / 2)));
    }
    if secret.split('.').count() == 3 {
        out.extend(
            secret
                .split('.')
                .filter(|p| p.len() >= 8)
                .map(|p| p[..8].to_string()),
        );
    }
    out
}

struct World {
    emulator: RunningEmulator,
    control: Control,
    clock: ManualClock,
}

impl World {
    async fn start() -> World {
        let config = EmulatorConfig {
            clients: vec![
                ClientConfig {
                    client_id: CLIENT_ID.into(),
                    client_secret: Some(CLIENT_SECRET.into()),
                },
                // `signin/custom` is `security: []` in the spec: the crate sends no client secret.
                ClientConfig {
                    client_id: PUBLIC_CLIENT_ID.into(),
                    client_secret: None,
                },
            ],
            cloud_secret: Some(CloudSecret {
                secret_id: SECRET_ID.into(),
                secret_key: SECRET_KEY.into(),
                session_token: Some(STS_TOKEN.into()),
            }),
            custom_login_keys: vec![CustomLoginPublicKey {
                private_key_id: "dev-only-key-1".into(),
                public_key: include_str!("fixtures/custom-login/dev-only-public.pem").into(),
            }],
            ..EmulatorConfig::default()
        };
        let emulator = Emulator::start(emulator_config_from(config))
            .await
            .expect("emulator starts");
        let control = emulator.control();
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(control.now()));
        World {
            emulator,
            control,
            clock,
        }
    }

    fn session(&self) -> Session {
        Session::new(
            Config::for_base_url(self.emulator.base_url())
                .with_client_id(CLIENT_ID)
                .with_client_secret(CLIENT_SECRET)
                .with_clock(self.clock.clone())
                .with_refresh_jitter(Duration::ZERO),
        )
        .expect("config")
    }

    fn advance(&self, seconds: u64) {
        self.control.advance_clock(Duration::from_secs(seconds));
        self.clock.advance(Duration::from_secs(seconds));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seed_scenario_at_trace_level_leaks_no_secret() {
    let capture = capture();
    let world = World::start().await;
    let mut e = Evidence::default();
    for (what, value) in [
        ("client secret", CLIENT_SECRET),
        ("password", ALICE_PASSWORD),
        ("password", ALICE_NEW_PASSWORD),
        ("password", PHONE_PASSWORD),
        ("password", WRONG_PASSWORD),
    ] {
        e.secret(what, value);
    }
    world.control.seed_user(SeedUser {
        username: Some("alice".into()),
        password: Some(ALICE_PASSWORD.into()),
        email: Some("alice@example.com".into()),
        ..SeedUser::default()
    });

    // 1. Password sign-in (a wrong one first), me.
    let alice = world.session();
    let wrong = alice
        .sign_in_with_password("alice", WRONG_PASSWORD)
        .await
        .expect_err("wrong password");
    e.error(&wrong);
    let signed_in = alice
        .sign_in_with_password("alice", ALICE_PASSWORD)
        .await
        .unwrap();
    e.text(&signed_in);
    e.session(&alice);
    e.access(&alice).await;
    e.text(&alice.me().await.unwrap());

    // 2. Code sign-up: send, a wrong code, the right one, sign up with a password.
    let phone = Contact::Phone("+86 13800000001".into());
    let newcomer = world.session();
    let sent = newcomer.send_verification_code(&phone).await.unwrap();
    e.text(&sent);
    let code = world.control.latest_code_for("+86 13800000001").unwrap();
    e.codes.push(code.clone());
    let bad_code = if code == "000000" { "111111" } else { "000000" };
    e.error(
        &newcomer
            .verify_code(&sent.verification_id, bad_code)
            .await
            .expect_err("wrong code"),
    );
    let verification = newcomer
        .verify_code(&sent.verification_id, &code)
        .await
        .unwrap();
    e.secret("verification token", verification.expose_secret());
    e.text(&verification);
    let signed_up = newcomer
        .sign_up(
            SignUp::new(phone.clone(), verification.clone())
                .with_username("phone_user")
                .with_password(PHONE_PASSWORD),
        )
        .await
        .unwrap();
    e.text(&signed_up);
    e.error(
        &world
            .session()
            .sign_up(SignUp::new(phone, verification))
            .await
            .expect_err("a verification token is single-use"),
    );
    e.session(&newcomer);
    e.access(&newcomer).await;

    // 3. Anonymous.
    let anonymous = world.session();
    e.text(&anonymous.sign_in_anonymously().await.unwrap());
    e.access(&anonymous).await;

    // 4. Refresh: proactive (near expiry) and forced.
    world.advance(7200 - 30);
    e.text(&alice.me().await.unwrap());
    e.session(&alice);
    e.access(&alice).await;
    e.text(&alice.refresh().await.unwrap());
    e.session(&alice);
    e.access(&alice).await;

    // 5. Introspection: own token, another token, a dead one.
    e.text(&alice.introspect().await.unwrap());
    let newcomer_token = newcomer.access_token().await.unwrap();
    e.text(&alice.introspect_token(&newcomer_token).await.unwrap());

    // 6. Revoke and sign out; a revoked refresh token adopted elsewhere is refused.
    let spare = world.session();
    spare
        .sign_in_with_password("alice", ALICE_PASSWORD)
        .await
        .unwrap();
    e.session(&spare);
    e.access(&spare).await;
    let spare_refresh = spare.refresh_token().unwrap();
    spare.revoke(&spare_refresh).await.unwrap();
    let refused = world
        .session()
        .adopt_refresh_token(RefreshToken::new(spare_refresh.expose_secret()))
        .await
        .expect_err("revoked");
    e.error(&refused);
    newcomer.sign_out().await.unwrap();
    e.text(&newcomer.introspect_token(&newcomer_token).await);

    // 7. Providers: grant, bind, list, unbind.
    let provider_token = alice
        .grant_provider_token("github", "octocat")
        .await
        .unwrap();
    e.secret("provider token", &provider_token);
    alice.bind_provider(&provider_token).await.unwrap();
    e.text(&alice.providers().await.unwrap());
    alice.unbind_provider("github").await.unwrap();
    e.error(
        &alice
            .unbind_provider("github")
            .await
            .expect_err("not bound any more"),
    );

    // 8. Sudo, password change (a wrong sudo token first), delete.
    let sudo = alice.sudo_with_password(ALICE_PASSWORD).await.unwrap();
    e.secret("sudo token", sudo.expose_secret());
    e.text(&sudo);
    e.error(
        &alice
            .change_password_with_sudo(
                &cloudbase_auth::SudoToken::new("sudo.made-up-token"),
                ALICE_NEW_PASSWORD,
            )
            .await
            .expect_err("wrong sudo token"),
    );
    e.error(
        &alice
            .sudo_with_password(WRONG_PASSWORD)
            .await
            .expect_err("wrong password"),
    );
    alice
        .change_password_with_sudo(&sudo, ALICE_NEW_PASSWORD)
        .await
        .unwrap();
    let again = world.session();
    again
        .sign_in_with_password("alice", ALICE_NEW_PASSWORD)
        .await
        .unwrap();
    e.session(&again);
    e.access(&again).await;
    let delete_sudo = again.sudo_with_password(ALICE_NEW_PASSWORD).await.unwrap();
    e.secret("sudo token", delete_sudo.expose_secret());
    again.delete_me_with_sudo(&delete_sudo).await.unwrap();
    e.error(&again.me().await.expect_err("signed out by the deletion"));
    e.error(
        &world
            .session()
            .sign_in_with_password("alice", ALICE_NEW_PASSWORD)
            .await
            .expect_err("deleted"),
    );
    server_side(&world, &mut e).await;
    world.emulator.shutdown().await;

    // The scan.
    if std::env::var_os("SECRET_SCAN_DUMP").is_some() {
        std::fs::write(
            "/tmp/secret_scan.log",
            &*capture.0.lock().unwrap_or_else(|e| e.into_inner()),
        )
        .ok();
    }
    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("cloudbase_auth.request") && logs.contains("operation=\"grant_token\""),
        "the client's spans were captured"
    );
    assert!(
        logs.contains("emulated verification code sent"),
        "the emulator's logs were captured"
    );
    let texts = e.texts.join("\n");
    let mut leaks = Vec::new();
    for (what, secret) in &e.secrets {
        for needle in needles(secret) {
            if logs.contains(&needle) {
                leaks.push(format!("{what} `{needle}` in the logs"));
            }
            if texts.contains(&needle) {
                leaks.push(format!("{what} `{needle}` in an error or result"));
            }
        }
    }
    for code in &e.codes {
        for line in logs.lines().filter(|l| l.contains(code.as_str())) {
            if !line.contains("cloudbase_auth_emulator") {
                leaks.push(format!("verification code in a non-emulator line: {line}"));
            }
        }
        if texts.contains(code.as_str()) {
            leaks.push("verification code in an error or result".into());
        }
    }
    // No JWT of any kind: every JWT header and payload starts like this.
    if logs.contains("eyJ0eXAi") || logs.contains("eyJhbGci") {
        leaks.push("a JWT in the logs".into());
    }
    println!(
        "scanned {} log bytes, {} texts, {} secrets, {} codes: {} leaks",
        logs.len(),
        e.texts.len(),
        e.secrets.len(),
        e.codes.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// Scenario 8, the server side: a TC3-signed admin token with an STS token (and refused
/// ones), a custom-login ticket minted and signed in with, and a forged one refused.
async fn server_side(world: &World, e: &mut Evidence) {
    for (what, value) in [("SecretKey", SECRET_KEY), ("STS token", STS_TOKEN)] {
        e.secret(what, value);
    }
    let config = || {
        Config::for_base_url(world.emulator.base_url())
            .with_client_id(CLIENT_ID)
            .with_client_secret(CLIENT_SECRET)
            .with_clock(world.clock.clone())
    };
    let credential = ServerCredential::tc3_with_session_token(SECRET_ID, SECRET_KEY, STS_TOKEN);
    e.text(&credential);
    let service = ServiceSession::new(config().with_server_credential(credential)).unwrap();
    let admin = service.access_token().await.unwrap();
    e.secret("admin token", admin.expose_secret());
    e.text(&admin);
    e.text(&service);
    let wrong = ServerCredential::tc3_with_session_token(SECRET_ID, "Sk-wrong-9Qa2", STS_TOKEN);
    let refused = ServiceSession::new(config().with_server_credential(wrong)).unwrap();
    e.secret("wrong SecretKey", "Sk-wrong-9Qa2");
    e.error(&refused.access_token().await.expect_err("wrong key"));
    e.error(
        &config()
            .with_server_credential(ServerCredential::basic_sending_secret_key(
                SECRET_ID,
                "Sk-basic-5Tz7",
            ))
            .pipe(ServiceSession::new)
            .unwrap()
            .access_token()
            .await
            .expect_err("wrong basic key"),
    );
    #[cfg(feature = "server")]
    tickets(world, e, &|| config().with_client_id(PUBLIC_CLIENT_ID)).await;
}

/// `Config` has no `pipe`; this keeps the chain above readable.
trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for Config {}

#[cfg(feature = "server")]
async fn tickets(world: &World, e: &mut Evidence, config: &dyn Fn() -> Config) {
    use cloudbase_auth::server::{CustomLoginKey, TicketOptions};
    let file = include_str!("fixtures/custom-login/dev-only-key.json");
    let pem: serde_json::Value = serde_json::from_str(file).unwrap();
    // Lines of the private key's body: any of them in a log is a leak.
    for line in pem["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .skip(1)
        .step_by(5)
    {
        if line.len() > 16 && !line.starts_with("-----") {
            e.secret("private key", line);
        }
    }
    let key = CustomLoginKey::from_json(file)
        .unwrap()
        .with_clock(world.clock.clone());
    e.text(&key);
    let ticket = key
        .create_ticket("scan-user-01", &TicketOptions::default())
        .unwrap();
    // The key id before `/@@/` names the key (it is in the key's `Debug`); the JWT is the secret.
    let jwt = |ticket: &cloudbase_auth::CustomLoginTicket| {
        ticket
            .expose_secret()
            .split_once("/@@/")
            .unwrap()
            .1
            .to_string()
    };
    e.secret("ticket", &jwt(&ticket));
    e.text(&ticket);
    let session = Session::new(config()).unwrap();
    e.text(&session.sign_in_with_custom_ticket(&ticket).await.unwrap());
    e.session(&session);
    let forged = CustomLoginKey::from_json(include_str!("fixtures/custom-login/forger-key.json"))
        .unwrap()
        .with_clock(world.clock.clone())
        .create_ticket("scan-user-01", &TicketOptions::default())
        .unwrap();
    e.secret("forged ticket", &jwt(&forged));
    e.error(
        &Session::new(config())
            .unwrap()
            .sign_in_with_custom_ticket(&forged)
            .await
            .expect_err("forged"),
    );
    let broken = file.replace(&pem["private_key"].as_str().unwrap()[40..80], "");
    e.text(&CustomLoginKey::from_json(&broken).expect_err("broken key"));
}

#[test]
fn the_scanner_looks_for_prefixes_suffixes_and_jwt_parts() {
    let found = needles("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZw");
    for expected in ["eyJhbGci", "eyJzdWIi", "c2lnbmF0", "XJlLXNpZw"] {
        assert!(
            found
                .iter()
                .any(|n| n.len() >= 8 && expected.contains(n.as_str()) || n == expected),
            "{expected} in {found:?}"
        );
    }
    assert_eq!(
        needles("short"),
        vec!["short".to_string(), "short".to_string()]
    );
}
