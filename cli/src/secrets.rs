//! Reading passwords, codes and tokens: never from arguments (they show up in `ps` and
//! shell history), but from a no-echo prompt, or line by line from a piped stdin.

use std::io::{BufRead, IsTerminal};

use crate::error::CliError;

/// One secret: prompted for on a terminal, else the next line of stdin.
pub fn read(prompt: &str) -> Result<String, CliError> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| CliError::other(format!("reading from the terminal: {e}")))?
    } else {
        next_stdin_line(prompt)?
    };
    if value.is_empty() {
        return Err(CliError::usage(format!("{prompt}: empty")));
    }
    Ok(value)
}

/// A new secret: typed twice on a terminal, since a typo there cannot be seen.
pub fn read_new(prompt: &str) -> Result<String, CliError> {
    let value = read(prompt)?;
    if std::io::stdin().is_terminal() && read(&format!("{prompt} (again)"))? != value {
        return Err(CliError::usage(format!("{prompt}: the two entries differ")));
    }
    Ok(value)
}

/// The next line of stdin without its line ending; spaces are part of the secret.
fn next_stdin_line(what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    // `Stdin` buffers internally, so successive calls read successive lines.
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::other(format!("reading stdin: {e}")))?;
    if read == 0 {
        return Err(CliError::usage(format!(
            "{what}: expected on standard input (one secret per line), found none"
        )));
    }
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    Ok(trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string())
}
