//! The binary's settings: defaults < config file (TOML) < environment < flags.

use anyhow::Context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `passkey-magic serve` flags; each also reads `PASSKEY_MAGIC_*` from the environment.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ServeArgs {
    /// TOML config file (flags and environment variables override it).
    #[arg(long, env = "PASSKEY_MAGIC_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "PASSKEY_MAGIC_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Path prefix of the API [default: /auth].
    #[arg(long, env = "PASSKEY_MAGIC_PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Relying-party id: the domain passkeys are bound to [default: localhost].
    #[arg(long, env = "PASSKEY_MAGIC_RP_ID")]
    pub(crate) rp_id: Option<String>,
    /// Name shown in passkey prompts [default: the rp id].
    #[arg(long, env = "PASSKEY_MAGIC_RP_NAME")]
    pub(crate) rp_name: Option<String>,
    /// Allowed origin; repeat for several (comma-separated in the environment)
    /// [default: http://localhost:<port>].
    #[arg(long = "origin", env = "PASSKEY_MAGIC_ORIGINS", value_delimiter = ',')]
    pub(crate) origins: Vec<String>,
    /// Session lifetime in seconds [default: 604800 = 7 days].
    #[arg(long, env = "PASSKEY_MAGIC_SESSION_TTL")]
    pub(crate) session_ttl_seconds: Option<u64>,
    /// Challenge lifetime in seconds [default: 60].
    #[arg(long, env = "PASSKEY_MAGIC_CHALLENGE_TTL")]
    pub(crate) challenge_ttl_seconds: Option<u64>,
    /// Serve this directory (the www-example demo) for paths outside the API.
    #[arg(long, env = "PASSKEY_MAGIC_DEMO_DIR")]
    pub(crate) demo_dir: Option<PathBuf>,
}

/// The config file's shape (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    listen: Option<SocketAddr>,
    prefix: Option<String>,
    rp_id: Option<String>,
    rp_name: Option<String>,
    origins: Option<Vec<String>>,
    session_ttl_seconds: Option<u64>,
    challenge_ttl_seconds: Option<u64>,
    demo_dir: Option<PathBuf>,
}

/// Final settings.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) prefix: String,
    pub(crate) rp_id: String,
    pub(crate) rp_name: Option<String>,
    /// Empty: `http://localhost:<bound port>`.
    pub(crate) origins: Vec<String>,
    pub(crate) session_ttl_seconds: Option<u64>,
    pub(crate) challenge_ttl_seconds: Option<u64>,
    pub(crate) demo_dir: Option<PathBuf>,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

impl ServeArgs {
    /// Merges flags/environment over the config file over defaults.
    pub(crate) fn settings(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let prefix = self
            .prefix
            .or(file.prefix)
            .unwrap_or_else(|| "/auth".into());
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
            anyhow::bail!("prefix must start with '/' and not end with it (got {prefix:?})");
        }
        Ok(Settings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787))),
            prefix,
            rp_id: self
                .rp_id
                .or(file.rp_id)
                .unwrap_or_else(|| "localhost".into()),
            rp_name: self.rp_name.or(file.rp_name),
            origins: if self.origins.is_empty() {
                file.origins.unwrap_or_default()
            } else {
                self.origins
            },
            session_ttl_seconds: self.session_ttl_seconds.or(file.session_ttl_seconds),
            challenge_ttl_seconds: self.challenge_ttl_seconds.or(file.challenge_ttl_seconds),
            demo_dir: self.demo_dir.or(file.demo_dir),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let path = std::env::temp_dir().join(format!("pm-config-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "rp_id = \"example.com\"\norigins = [\"https://example.com\"]\nprefix = \"/id\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            prefix: Some("/auth2".into()),
            ..ServeArgs::default()
        };
        let settings = args.settings().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(settings.rp_id, "example.com");
        assert_eq!(settings.origins, ["https://example.com"]);
        assert_eq!(settings.prefix, "/auth2");
        assert_eq!(settings.listen.port(), 8787);
    }

    #[test]
    fn unknown_keys_and_bad_prefixes_are_errors() {
        let path = std::env::temp_dir().join(format!("pm-config-bad-{}.toml", std::process::id()));
        std::fs::write(&path, "rpid = \"typo\"\n").unwrap();
        let error = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        }
        .settings()
        .unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(format!("{error:#}").contains("rpid"), "{error:#}");
        let bad_prefix = ServeArgs {
            prefix: Some("auth/".into()),
            ..ServeArgs::default()
        };
        assert!(bad_prefix.settings().is_err());
    }
}
