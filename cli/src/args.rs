//! The command line: global connection flags and one subcommand per seed scenario.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Passwords, codes and tokens are never taken as arguments: they are read from a prompt
without echo, or one per line from standard input when it is not a terminal, e.g.
  printf 'correct horse\\n' | cloudbase-auth signin --username alice

The session is kept in a file (default: $XDG_CONFIG_HOME/cloudbase-auth/session.json,
else ~/.config/cloudbase-auth/session.json); `device-id` and `verification-token` live
next to it.

Exit codes:
  0  success
  1  any other failure: not signed in, a session file that cannot be read or written
  2  usage: a missing or invalid argument, flag, environment variable or input
  3  API error: the server refused the request (`error`, `error_code`, description and
     request id are printed on stderr) or answered in an undocumented shape
  4  transport error: the server could not be reached or did not answer";

/// CloudBase Auth v1 from the shell: the seed's curl scenarios as commands.
#[derive(Debug, Parser)]
#[command(name = "cloudbase-auth", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,
    /// Print the API's JSON on stdout (and errors as JSON on stderr, with a `kind`) instead
    /// of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log each request (operation, request id, status, time), retry and refresh on
    /// stderr. RUST_LOG (e.g. `cloudbase_auth=trace`) sets the filter instead.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the server is, as whom to call it, and where the session is kept.
#[derive(Debug, Args)]
pub struct Connection {
    /// CloudBase environment id: the server is https://ENV.REGION.tcb-api.tencentcloudapi.com.
    #[arg(long, env = "CLOUDBASE_ENV", global = true, value_parser = identifier)]
    pub env: Option<String>,
    /// Region of the environment [default: ap-shanghai].
    #[arg(long, env = "CLOUDBASE_REGION", global = true)]
    pub region: Option<String>,
    /// Any server instead (scheme and host, no path), e.g. a local emulator.
    #[arg(long, env = "CLOUDBASE_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Client id [default: the environment id].
    #[arg(long, env = "CLOUDBASE_CLIENT_ID", global = true, value_parser = identifier)]
    pub client_id: Option<String>,
    /// Client secret (prefer the environment variable: arguments show up in `ps`).
    #[arg(
        long,
        env = "CLOUDBASE_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub client_secret: Option<String>,
    /// The session file.
    #[arg(long, env = "CLOUDBASE_SESSION_FILE", global = true)]
    pub session_file: Option<PathBuf>,
    /// Test hook: shift this program's clock by N seconds, to make a stored token look
    /// expired without waiting. Hidden: not for normal use.
    #[arg(
        long,
        env = "CLOUDBASE_AUTH_CLOCK_OFFSET_SECS",
        hide = true,
        global = true,
        allow_negative_numbers = true
    )]
    pub clock_offset_secs: Option<i64>,
}

/// An environment or client id, checked whatever server it goes to (`--base-url`
/// included): it ends up in a host name, a query string and a basic-auth header, so
/// anything but `a-z A-Z 0-9 - _` (at most 64) is a typo, refused before any request.
fn identifier(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(value.to_string())
    } else {
        Err(
            "use the id shown in the CloudBase console: letters, digits, `-` and `_`, \
             at most 64 (e.g. `my-env-1a2b3c`; the emulator's is `demo-env`)"
                .into(),
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Client(ClientCommand),
    #[command(flatten)]
    Server(crate::server::ServerCommand),
    /// Run the local emulator in the foreground; prints its base URL.
    Emulator(EmulatorArgs),
}

/// The commands that talk to a server.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Scenario 1: sign in with a username (or phone/e-mail) and password; or, with
    /// `--device`, by approving a code on another, signed-in device.
    Signin {
        /// Username, phone number (`+86 13800000000`) or e-mail address.
        #[arg(long, required_unless_present = "device")]
        username: Option<String>,
        /// Device-code sign-in: prints a code and a page where a signed-in user approves
        /// it, then waits (polling as the server's interval and slow-down ask).
        #[arg(long, conflicts_with = "username")]
        device: bool,
        #[command(flatten)]
        print: PrintToken,
    },
    /// Scenario 3: sign in anonymously (the user is tied to this machine's device id).
    SigninAnonymous {
        #[command(flatten)]
        print: PrintToken,
    },
    /// Scenario 2, step 1: send a verification code; prints the verification id.
    SendCode {
        #[command(flatten)]
        contact: ContactArgs,
    },
    /// Scenario 2, step 2: check the code and keep the verification token for `signup`.
    VerifyCode {
        /// The id `send-code` printed.
        #[arg(long)]
        verification_id: String,
        /// Also print the verification token (a secret) on stdout, for another tool.
        #[arg(long)]
        print_verification_token: bool,
    },
    /// Scenario 2, step 3: sign up with the verified phone/e-mail; reads the new password.
    Signup {
        #[command(flatten)]
        contact: ContactArgs,
        /// A username to sign in with later.
        #[arg(long)]
        username: Option<String>,
        /// A display name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        print: PrintToken,
    },
    /// Scenario 4: exchange the refresh token for a new access token now.
    Refresh {
        #[command(flatten)]
        print: PrintToken,
    },
    /// The session's state; a fresh access token with `--print-access-token`.
    Token {
        #[command(flatten)]
        print: PrintToken,
    },
    /// Scenario 5: ask the server whether the session's access token is valid.
    Introspect {
        /// Check a token read from stdin (or a prompt) instead of the session's.
        #[arg(long)]
        token_stdin: bool,
    },
    /// Scenario 6: revoke the session's refresh token (or access token) and end the session.
    Revoke {
        /// Revoke a token read from stdin (or a prompt) instead of the session's.
        #[arg(long)]
        token_stdin: bool,
    },
    /// Sign out on the server and forget the session here.
    Signout,
    /// Scenario 7: the signed-in user's profile.
    Me,
    /// Scenario 7: change the password; reads the current, then the new password.
    ChangePassword,
    /// Scenario 7: delete the signed-in user; reads the password.
    DeleteMe {
        /// Confirm: the account and its data are gone for good.
        #[arg(long)]
        yes: bool,
    },
    /// Scenario 7: the linked third-party providers.
    Providers,
    /// Scenario 7: link a provider; reads the provider's OAuth code.
    Bind {
        /// The provider id, e.g. `wx_open`.
        #[arg(long)]
        provider: String,
    },
    /// Scenario 7: unlink a provider.
    Unbind {
        /// The provider id, e.g. `wx_open`.
        #[arg(long)]
        provider: String,
    },
}

/// Where a verification code goes: exactly one of phone and e-mail.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ContactArgs {
    /// A phone number in CloudBase's form: `+86 13800000000`.
    #[arg(long)]
    pub phone: Option<String>,
    /// An e-mail address.
    #[arg(long)]
    pub email: Option<String>,
}

/// The explicit opt-in to a secret on stdout.
#[derive(Debug, Args)]
pub struct PrintToken {
    /// Print the access token (a secret) on stdout, for another tool.
    #[arg(long)]
    pub print_access_token: bool,
}

/// The flags of the emulator's own binary (`cloudbase-auth-emulator`).
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// State file: loaded at start if it exists, written (0600) at Ctrl-C or SIGTERM.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// JSON file with an emulator configuration (any subset of its fields).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Minimal password-hashing cost (tests only: such hashes protect nothing).
    #[arg(long)]
    pub fast_hashing: bool,
}
