//! The `web-gateway passwd FILE USER` subcommand's arguments: data only, so the command line
//! ([`super::Flags`]) is declared here; `auth::passwd` runs it.

use std::path::PathBuf;

/// Subcommands of the `web-gateway` binary.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Add USER to the htpasswd FILE (for --auth-file), or set their password, and exit.
    /// The password is asked twice on the terminal, or read as two lines from stdin.
    Passwd(PasswdArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct PasswdArgs {
    /// htpasswd file to create or update (other users are kept).
    pub file: PathBuf,
    /// User name (no `:` and no blanks).
    pub user: String,
    /// Make a random password and print it once on stdout instead of asking for one.
    #[arg(long)]
    pub generate: bool,
    /// bcrypt cost: each step doubles the time of one password check (12 ≈ 0.5 s on a 2-core VM;
    /// the gateway caches successful checks).
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = clap::value_parser!(u32).range(10..=16))]
    pub cost: u32,
}
