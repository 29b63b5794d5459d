//! The seed's seven scenarios, end to end, through the crate's public API.
//!
//! By default it starts the local emulator in-process and runs against it:
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With `CLOUDBASE_ENV` and `CLOUDBASE_CLIENT_ID` (and optionally
//! `CLOUDBASE_CLIENT_SECRET`, `CLOUDBASE_REGION`) set, the same steps run against real
//! CloudBase. There, scenario 1 needs `CLOUDBASE_USERNAME` and `CLOUDBASE_PASSWORD`,
//! and scenario 2 `CLOUDBASE_PHONE` (the code is read from standard input).

use std::error::Error as StdError;
use std::time::Duration;

use std::time::SystemTime;

use cloudbase_auth::{Clock, Config, Contact, ManualClock, Session, SignUp};
use cloudbase_auth_emulator::{Control, Emulator, EmulatorConfig, SeedUser};

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

/// Where the scenarios run.
enum Target {
    Emulator { config: Config, control: Control },
    CloudBase { config: Config },
}

/// All sessions share one clock, so the emulator's clock and theirs move together.
fn clock() -> &'static ManualClock {
    static CLOCK: std::sync::OnceLock<ManualClock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(|| ManualClock::new(SystemTime::now()))
}

const PHONE: &str = "+86 13800000000";

#[tokio::main]
async fn main() -> Result<()> {
    let (target, emulator) = match std::env::var("CLOUDBASE_ENV") {
        Ok(env) => (
            Target::CloudBase {
                config: cloudbase_config(&env)?,
            },
            None,
        ),
        Err(_) => {
            let emulator = Emulator::start(EmulatorConfig::default()).await?;
            println!("emulator listening on {}", emulator.base_url());
            let config = Config::for_base_url(emulator.base_url()).with_client_id("demo-env");
            (
                Target::Emulator {
                    config,
                    control: emulator.control(),
                },
                Some(emulator),
            )
        }
    };
    run(&target).await?;
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    println!("\nall scenarios done");
    Ok(())
}

fn cloudbase_config(env: &str) -> Result<Config> {
    let mut config = Config::for_env(env);
    if let Ok(region) = std::env::var("CLOUDBASE_REGION") {
        config = config.with_region(region);
    }
    if let Ok(client_id) = std::env::var("CLOUDBASE_CLIENT_ID") {
        config = config.with_client_id(client_id);
    }
    if let Ok(secret) = std::env::var("CLOUDBASE_CLIENT_SECRET") {
        config = config.with_client_secret(secret);
    }
    Ok(config)
}

impl Target {
    fn config(&self) -> Config {
        match self {
            Target::Emulator { config, .. } => config.clone().with_clock(clock().clone()),
            Target::CloudBase { config } => config.clone(),
        }
    }

    /// Credentials for scenario 1: a seeded user on the emulator, the environment's otherwise.
    fn password_user(&self) -> Option<(String, String)> {
        match self {
            Target::Emulator { control, .. } => {
                control.seed_user(SeedUser {
                    username: Some("alice".into()),
                    password: Some("Alice-pw-2024!".into()),
                    name: Some("Alice".into()),
                    ..SeedUser::default()
                });
                Some(("alice".into(), "Alice-pw-2024!".into()))
            }
            Target::CloudBase { .. } => Some((
                std::env::var("CLOUDBASE_USERNAME").ok()?,
                std::env::var("CLOUDBASE_PASSWORD").ok()?,
            )),
        }
    }

    fn phone(&self) -> Option<String> {
        match self {
            Target::Emulator { .. } => Some(PHONE.into()),
            Target::CloudBase { .. } => std::env::var("CLOUDBASE_PHONE").ok(),
        }
    }

    /// The code sent to `phone`: the emulator's record of it, or what the user types.
    fn code_for(&self, phone: &str) -> Result<String> {
        match self {
            Target::Emulator { control, .. } => control
                .latest_code_for(phone)
                .ok_or_else(|| "no code was sent".into()),
            Target::CloudBase { .. } => {
                println!("  enter the code sent to {phone}:");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Ok(line.trim().to_string())
            }
        }
    }

    /// Moves time past the access token's expiry (emulator only; real CloudBase can't).
    fn expire_tokens(&self) -> bool {
        let Target::Emulator { control, .. } = self else {
            return false;
        };
        control.advance_clock(Duration::from_secs(7200));
        clock().advance(Duration::from_secs(7200));
        true
    }

    fn refresh_requests(&self) -> Option<u64> {
        match self {
            Target::Emulator { control, .. } => Some(control.request_count("grant_token")),
            Target::CloudBase { .. } => None,
        }
    }
}

async fn run(target: &Target) -> Result<()> {
    scenario_1_password_sign_in(target).await?;
    if let Some(session) = scenario_2_sms_sign_up(target).await? {
        scenarios_4_to_6_refresh_introspect_revoke(target, &session).await?;
    }
    scenario_3_anonymous(target).await?;
    Ok(())
}

async fn scenario_1_password_sign_in(target: &Target) -> Result<()> {
    println!("\n[1] sign in with username and password");
    let Some((username, password)) = target.password_user() else {
        println!("  skipped: set CLOUDBASE_USERNAME and CLOUDBASE_PASSWORD");
        return Ok(());
    };
    let session = Session::new(target.config())?;
    let signed_in = session
        .sign_in_with_password(&username, password.as_str())
        .await?;
    println!(
        "  signed in as {:?} (scope {:?})",
        signed_in.sub, signed_in.scope
    );
    scenario_7_user_operations(&session, &password).await
}

async fn scenario_2_sms_sign_up(target: &Target) -> Result<Option<Session>> {
    println!("\n[2] SMS sign-up with a verification code");
    let Some(phone) = target.phone() else {
        println!("  skipped: set CLOUDBASE_PHONE");
        return Ok(None);
    };
    let session = Session::new(target.config())?;
    let contact = Contact::Phone(phone.clone());
    let sent = session.send_verification_code(&contact).await?;
    println!("  code sent to {phone} (already a user: {})", sent.is_user);
    let code = target.code_for(&phone)?;
    let token = session.verify_code(&sent.verification_id, &code).await?;
    println!("  code verified");
    let signed_in = if sent.is_user {
        session.sign_in_with_verification(&token).await?
    } else {
        let sign_up = SignUp::new(contact, token)
            .with_username("phoneuser")
            .with_password("Phone-pw-2024!");
        session.sign_up(sign_up.with_name("手机用户")).await?
    };
    println!("  signed up and in as {:?}", signed_in.sub);
    println!("  me: phone {:?}", session.me().await?.phone_number);
    Ok(Some(session))
}

async fn scenario_3_anonymous(target: &Target) -> Result<()> {
    println!("\n[3] anonymous sign-in");
    let session = Session::new(target.config())?;
    let signed_in = session.sign_in_anonymously().await?;
    println!(
        "  anonymous user {:?} (scope {:?}, no refresh token: {})",
        signed_in.sub,
        signed_in.scope,
        session.refresh_token().is_none()
    );
    if target.expire_tokens() {
        let me = session.me().await?;
        println!(
            "  two hours later the session signed in anonymously again: same user {:?}",
            me.sub
        );
    }
    session.sign_out().await?;
    Ok(())
}

async fn scenarios_4_to_6_refresh_introspect_revoke(
    target: &Target,
    session: &Session,
) -> Result<()> {
    println!("\n[4] refresh: the access token expires");
    if target.expire_tokens() {
        let before = target.refresh_requests().unwrap_or(0);
        session.me().await?;
        let after = target.refresh_requests().unwrap_or(0);
        println!(
            "  two hours later, me() refreshed first: {} POST /auth/v1/token, new refresh token stored",
            after - before
        );
    } else {
        session.refresh().await?;
        println!("  refreshed explicitly");
    }

    println!("\n[5] introspect the access token");
    let introspection = session.introspect().await?;
    println!(
        "  active: {}, sub: {:?}, scope: {:?}",
        introspection.active, introspection.sub, introspection.scope
    );

    println!("\n[6] revoke: sign out");
    let token = session.access_token().await?;
    session.sign_out().await?;
    let checker = Session::new(target.config())?;
    checker.sign_in_anonymously().await?;
    let after = checker.introspect_token(&token).await?;
    println!(
        "  signed out; the old access token is active: {}",
        after.active
    );
    checker.sign_out().await?;
    Ok(())
}

async fn scenario_7_user_operations(session: &Session, password: &str) -> Result<()> {
    println!("\n[7] user operations: me, refresh, change password, providers, delete");
    let me = session.me().await?;
    println!("  me: name {:?}, username {:?}", me.name, me.username);
    let refreshed = session.refresh().await?;
    let left = refreshed
        .expires_at
        .duration_since(clock().now())
        .unwrap_or_default();
    println!(
        "  refreshed explicitly; the new access token lives {} s",
        left.as_secs()
    );
    let new_password = "Alice-pw-2025!";
    session.change_password(password, new_password).await?;
    println!("  password changed (with a sudo token)");
    let providers = session.providers().await?;
    println!("  {} providers listed", providers.data.len());
    if std::env::var("CLOUDBASE_ENV").is_err() {
        session.delete_me(new_password).await?;
        println!(
            "  user deleted (with a sudo token); signed in now: {}",
            session.is_signed_in()
        );
    }
    Ok(())
}
