//! One function per client command. Each restores the stored session when it needs
//! one; the session refreshes an expired token by itself and saves the new pair.

use cloudbase_auth::types::{
    SendVerificationRequest, SendVerificationRequestTarget, VerifyVerificationRequest,
};
use cloudbase_auth::{
    AccessToken, Contact, RefreshToken, Revocable, Session, SignUp, VerificationToken,
    with_bearer_token,
};

use crate::args::{ClientCommand, ContactArgs};
use crate::config::Context;
use crate::device_signin;
use crate::error::CliError;
use crate::files;
use crate::output::Output;
use crate::secrets;

pub async fn run(command: ClientCommand, ctx: &Context, out: Output) -> Result<(), CliError> {
    use ClientCommand as C;
    match command {
        C::Signin {
            username: Some(username),
            print,
            ..
        } => signin(ctx, out, &username, print.print_access_token).await,
        C::Signin { print, .. } => {
            device_signin::signin_with_device(ctx, out, print.print_access_token).await
        }
        C::SigninAnonymous { print } => signin_anonymous(ctx, out, print.print_access_token).await,
        C::SendCode { contact } => send_code(ctx, out, to_contact(contact)?).await,
        C::VerifyCode {
            verification_id,
            print_verification_token,
        } => verify_code(ctx, out, verification_id, print_verification_token).await,
        C::Signup {
            contact,
            username,
            name,
            print,
        } => {
            let mut sign_up = SignUp::new(to_contact(contact)?, stored_verification(ctx)?);
            if let Some(username) = username {
                sign_up = sign_up.with_username(username);
            }
            if let Some(name) = name {
                sign_up = sign_up.with_name(name);
            }
            signup(ctx, out, sign_up, print.print_access_token).await
        }
        C::Refresh { print } => refresh(ctx, out, print.print_access_token).await,
        C::Token { print } => token(ctx, out, print.print_access_token).await,
        C::Introspect { token_stdin } => introspect(ctx, out, token_stdin).await,
        C::Revoke { token_stdin } => revoke(ctx, out, token_stdin).await,
        C::Signout => signout(ctx, out).await,
        C::Me => out.response(&ctx.signed_in().await?.me().await?),
        C::ChangePassword => change_password(ctx, out).await,
        C::DeleteMe { yes } => delete_me(ctx, out, yes).await,
        C::Providers => out.providers(&ctx.signed_in().await?.providers().await?),
        C::Bind { provider } => bind(ctx, out, &provider).await,
        C::Unbind { provider } => {
            ctx.signed_in().await?.unbind_provider(&provider).await?;
            out.done(&format!("Unbound {provider}."));
            Ok(())
        }
    }
}

/// After a sign-in or refresh: the session's state, and its token only if asked for.
pub(crate) async fn report(
    ctx: &Context,
    out: Output,
    headline: &str,
    session: &Session,
    print_token: bool,
) -> Result<(), CliError> {
    let token = if print_token {
        Some(session.access_token().await?)
    } else {
        None
    };
    out.session(headline, session, &ctx.clock, token.as_ref());
    Ok(())
}

async fn signin(ctx: &Context, out: Output, username: &str, print: bool) -> Result<(), CliError> {
    let password = secrets::read("Password")?;
    let session = ctx.session()?;
    session.sign_in_with_password(username, password).await?;
    report(ctx, out, "Signed in", &session, print).await
}

async fn signin_anonymous(ctx: &Context, out: Output, print: bool) -> Result<(), CliError> {
    let session = ctx.session()?;
    session.sign_in_anonymously().await?;
    report(ctx, out, "Signed in anonymously", &session, print).await
}

/// Through the generated call rather than `send_verification_code`, so `--json` is the
/// API's body.
async fn send_code(ctx: &Context, out: Output, contact: Contact) -> Result<(), CliError> {
    let body = SendVerificationRequest::builder().target(SendVerificationRequestTarget::Any);
    let body = match contact {
        Contact::Phone(phone) => body.phone_number(phone),
        Contact::Email(email) => body.email(email),
    };
    let session = ctx.session()?;
    let sent = session
        .send(|raw| raw.send_verification().body(body).send())
        .await?;
    out.response(&sent)?;
    let next = match sent.is_user {
        Some(true) => "(this contact already has an account)",
        _ => "then `cloudbase-auth signup`",
    };
    out.hint(&format!(
        "next: cloudbase-auth verify-code --verification-id {} {next}",
        sent.verification_id.as_deref().unwrap_or("ID")
    ));
    Ok(())
}

/// Keeps the verification token in a private file for `signup`: it spans invocations
/// but must not land in a terminal or a log unless asked for.
async fn verify_code(
    ctx: &Context,
    out: Output,
    verification_id: String,
    print: bool,
) -> Result<(), CliError> {
    let code = secrets::read("Verification code")?;
    let body = VerifyVerificationRequest::builder()
        .verification_id(verification_id)
        .verification_code(code);
    let session = ctx.session()?;
    let mut verified = session
        .send(|raw| raw.verify_verification().body(body).send())
        .await?;
    let token = verified
        .verification_token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CliError::Malformed("the answer held no verification token".into()))?;
    files::write_private(&ctx.paths.verification_token, token.as_bytes())?;
    if print && out.is_json() {
        return out.response(&verified);
    }
    if print {
        out.secret(&token);
        return Ok(());
    }
    verified.verification_token = None;
    out.response(&verified)?;
    out.hint(&format!(
        "the verification token is kept in {} for `cloudbase-auth signup`",
        ctx.paths.verification_token.display()
    ));
    Ok(())
}

fn stored_verification(ctx: &Context) -> Result<VerificationToken, CliError> {
    let token = files::read_optional(&ctx.paths.verification_token)?.ok_or_else(|| {
        CliError::other("no verification token: run `send-code`, then `verify-code` first")
    })?;
    Ok(VerificationToken::new(token.trim()))
}

async fn signup(ctx: &Context, out: Output, sign_up: SignUp, print: bool) -> Result<(), CliError> {
    let password = secrets::read_new("New password")?;
    let session = ctx.session()?;
    session.sign_up(sign_up.with_password(password)).await?;
    // A verification token is good for one sign-up.
    files::remove(&ctx.paths.verification_token)?;
    report(ctx, out, "Signed up", &session, print).await
}

async fn refresh(ctx: &Context, out: Output, print: bool) -> Result<(), CliError> {
    let session = ctx.signed_in().await?;
    session.refresh().await?;
    report(ctx, out, "Refreshed", &session, print).await
}

/// The stored state without a request, unless a (fresh) token is asked for.
async fn token(ctx: &Context, out: Output, print: bool) -> Result<(), CliError> {
    let session = ctx.signed_in().await?;
    report(ctx, out, "Signed in", &session, print).await
}

/// Through the generated call, so `--json` is the API's body; a token read from stdin is
/// sent as the bearer instead of the session's.
async fn introspect(ctx: &Context, out: Output, token_stdin: bool) -> Result<(), CliError> {
    let (session, token) = if token_stdin {
        let token = AccessToken::new(secrets::read("Access token")?);
        (ctx.session()?, Some(token))
    } else {
        (ctx.signed_in().await?, None)
    };
    let call = session.send(|raw| raw.introspect_token().send());
    let answer = match &token {
        Some(token) => with_bearer_token(token, call).await?,
        None => call.await?,
    };
    // Upstream answers an invalid token with `{}`, which would print nothing.
    let active = answer.sub.as_deref().is_some_and(|s| !s.is_empty());
    out.introspection(&answer, active)
}

async fn revoke(ctx: &Context, out: Output, token_stdin: bool) -> Result<(), CliError> {
    let session = ctx.session()?;
    let signed_in = session.restore().await?;
    // The refresh token when there is one: revoking only the access token would leave
    // the refresh token able to mint new ones, which is not a logout.
    let (access, refresh) = match (token_stdin, signed_in) {
        (true, _) => given_token(secrets::read("Token to revoke")?),
        (false, true) => match session.refresh_token() {
            Some(refresh) => (None, Some(refresh)),
            None => (Some(session.access_token().await?), None),
        },
        (false, false) => return Err(CliError::not_signed_in()),
    };
    let token: Revocable<'_> = match (&access, &refresh) {
        (Some(access), _) => access.into(),
        (None, Some(refresh)) => refresh.into(),
        (None, None) => return Err(CliError::usage("no token to revoke")),
    };
    // Revoking the session's own token also removes the session file.
    session.revoke(token).await?;
    out.done("Revoked.");
    Ok(())
}

/// A token from stdin: access tokens are JWTs (three dot-separated parts), refresh
/// tokens are not. The server revokes either the same way; the kind only decides
/// whether it is this session's own.
fn given_token(token: String) -> (Option<AccessToken>, Option<RefreshToken>) {
    if token.split('.').count() == 3 {
        (Some(AccessToken::new(token)), None)
    } else {
        (None, Some(RefreshToken::new(token)))
    }
}

async fn signout(ctx: &Context, out: Output) -> Result<(), CliError> {
    let session = ctx.session()?;
    if !session.restore().await? {
        out.done("Not signed in.");
        return Ok(());
    }
    session.sign_out().await?;
    out.done("Signed out.");
    Ok(())
}

async fn change_password(ctx: &Context, out: Output) -> Result<(), CliError> {
    let session = ctx.signed_in().await?;
    let current = secrets::read("Current password")?;
    let new = secrets::read_new("New password")?;
    session.change_password(current, new).await?;
    out.done("Password changed; other devices are signed out.");
    Ok(())
}

async fn delete_me(ctx: &Context, out: Output, yes: bool) -> Result<(), CliError> {
    if !yes {
        return Err(CliError::usage(
            "deleting the account cannot be undone: add --yes to confirm",
        ));
    }
    let session = ctx.signed_in().await?;
    let password = secrets::read("Password")?;
    session.delete_me(password).await?;
    out.done("Account deleted; the session is gone.");
    Ok(())
}

/// Exchanges the provider's OAuth code for a provider token, then binds it.
async fn bind(ctx: &Context, out: Output, provider: &str) -> Result<(), CliError> {
    let session = ctx.signed_in().await?;
    let code = secrets::read(&format!("OAuth code from {provider}"))?;
    let provider_token = session.grant_provider_token(provider, &code).await?;
    session.bind_provider(&provider_token).await?;
    out.done(&format!("Bound {provider}."));
    Ok(())
}

fn to_contact(contact: ContactArgs) -> Result<Contact, CliError> {
    match (contact.phone, contact.email) {
        (Some(phone), None) => Ok(Contact::Phone(phone)),
        (None, Some(email)) => Ok(Contact::Email(email)),
        // clap's group already enforces exactly one.
        _ => Err(CliError::usage("give exactly one of --phone and --email")),
    }
}
