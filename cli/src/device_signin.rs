//! `cloudbase-auth signin --device`: the device-code sign-in for machines without a browser.

use crate::commands::report;
use crate::config::Context;
use crate::error::CliError;
use crate::output::Output;

/// Prints the user code and the page to approve it on (to stderr, so even `--json` users
/// see it), then waits for the approval.
pub async fn signin_with_device(ctx: &Context, out: Output, print: bool) -> Result<(), CliError> {
    let session = ctx.session()?;
    let started = session.start_device_sign_in(None).await?;
    let page = started
        .verification_uri
        .as_deref()
        .unwrap_or("the sign-in page of your app");
    eprintln!(
        "To sign in, open {page} on a signed-in device and approve the code {}",
        started.user_code
    );
    if let Some(complete) = &started.verification_uri_complete {
        eprintln!("(or open {complete})");
    }
    eprintln!(
        "Waiting for approval (checking every {} s, for up to {} s)...",
        started.interval.as_secs(),
        started.expires_in.as_secs()
    );
    session.sign_in_with_device_code(&started).await?;
    report(ctx, out, "Signed in", &session, print).await
}
