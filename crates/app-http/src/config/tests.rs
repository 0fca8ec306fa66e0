#![allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours

use std::collections::BTreeSet;

use figment::Jail;

use super::*;

#[test]
fn environment_overrides_file_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file("conversa.toml", "port = 9000\nlog_format = \"pretty\"\ndb_pool_size = 20")?;
        jail.set_env("CONVERSA_PORT", "9100");
        jail.set_env("DATABASE_URL", "postgres://admin@db:5432/conversa");
        jail.set_env("CONVERSA_METRICS_TOKEN", "scrape-me");
        jail.set_env("CONVERSA_HTTP_WORKERS", "1");
        jail.set_env("CONVERSA_SWEEP_INTERVAL_MS", "250");
        let config = Config::load().map_err(|e| e.to_string())?;
        assert_eq!(config.http.port, 9100);
        assert_eq!(config.database.pool_size, 20, "from the file");
        assert_eq!((config.http.workers, Config::default().http.workers), (1, 0));
        assert_eq!(config.workers.sweep_interval, Duration::from_millis(250));
        assert_eq!(config.metrics.token.as_ref().map(SecretString::expose), Some("scrape-me"));
        assert_eq!(Config::default().metrics.token, None, "open unless configured");
        assert_eq!(config.telemetry.log_format, LogFormat::Pretty);
        assert_eq!(config.database.app_role_url().expose(), "postgres://conversa_app@db:5432/conversa");
        Ok(())
    });
}

#[test]
fn values_that_look_like_numbers_stay_text() {
    Jail::expect_with(|jail| {
        jail.set_env("CONVERSA_METRICS_TOKEN", "123456");
        jail.set_env("CONVERSA_TOKEN_ENCRYPTION_KEY", "0".repeat(64));
        jail.set_env("CONVERSA_LOG_FILTER", "true");
        jail.set_env(
            "CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS",
            format!("{} , ,{}", "1".repeat(64), "2".repeat(64)),
        );
        let config = Config::load().map_err(|e| e.to_string())?;
        assert_eq!(config.metrics.token.as_ref().map(SecretString::expose), Some("123456"));
        assert_eq!(config.twilio.token_encryption_key.expose(), "0".repeat(64));
        let previous: Vec<_> =
            config.twilio.previous_token_encryption_keys.iter().map(SecretString::expose).collect();
        assert_eq!(previous, ["1".repeat(64), "2".repeat(64)]);
        assert_eq!(Config::default().twilio.previous_token_encryption_keys, Vec::new());
        assert_eq!(config.telemetry.log_filter, "true");
        Ok(())
    });
}

#[test]
fn empty_secrets_are_none() {
    Jail::expect_with(|jail| {
        // As `.env.example` writes them.
        jail.set_env("CONVERSA_METRICS_TOKEN", "");
        jail.set_env("CONVERSA_APP_DATABASE_URL", "");
        jail.set_env("CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS", "");
        let config = Config::load().map_err(|e| e.to_string())?;
        assert_eq!((config.metrics.token, config.database.app_url), (None, None));
        assert!(config.twilio.previous_token_encryption_keys.is_empty());
        Ok(())
    });
}

#[test]
fn debug_prints_no_secret() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        let secrets = [
            ("DATABASE_URL", "postgres://owner:owner-pass-1@db:5432/conversa", "owner-pass-1"),
            (
                "CONVERSA_APP_DATABASE_URL",
                "postgres://conversa_app:app-pass-2@db:5432/conversa",
                "app-pass-2",
            ),
            ("CONVERSA_TOKEN_ENCRYPTION_KEY", &"ab".repeat(32), "abababab"),
            (
                "CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS",
                &format!("{},{}", "cd".repeat(32), "ef".repeat(32)),
                "cdcdcdcd",
            ),
            ("CONVERSA_METRICS_TOKEN", "scrape-token-3", "scrape-token-3"),
        ];
        for (key, value, _) in &secrets {
            jail.set_env(key, value);
        }
        let config = Config::load().map_err(|e| e.to_string())?;
        let printed = format!("{config:?} {config:#?}");
        for (key, _, secret) in &secrets {
            assert!(!printed.contains(secret), "{key} printed: {printed}");
        }
        assert!(!printed.contains("efefefef"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(printed.contains("pool_size: 16"), "the rest is printed: {printed}");
        Ok(())
    });
}

#[test]
fn the_send_lease_must_outlast_a_batch() {
    Jail::expect_with(|jail| {
        jail.set_env("CONVERSA_DISPATCH_BATCH_SIZE", "50");
        jail.set_env("CONVERSA_SEND_LEASE_SECONDS", "60");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("CONVERSA_SEND_LEASE_SECONDS"), "{err}");
        jail.set_env("CONVERSA_SEND_LEASE_SECONDS", "600");
        Config::load().map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn the_workers_pool_and_the_socket_timeouts_come_from_the_environment() {
    Jail::expect_with(|jail| {
        jail.set_env("CONVERSA_DB_WORKER_POOL_SIZE", "3");
        jail.set_env("CONVERSA_DB_CONNECT_TIMEOUT_MS", "1500");
        jail.set_env("CONVERSA_DB_KEEPALIVE_IDLE_SECONDS", "9");
        let database = Config::load().map_err(|e| e.to_string())?.database;
        assert_eq!((database.pool_size, database.worker_pool_size), (16, 3));
        assert_eq!(database.connect_timeout, Duration::from_millis(1500));
        assert_eq!(database.keepalive_idle, Duration::from_secs(9));
        jail.set_env("CONVERSA_DB_WORKER_POOL_SIZE", "0");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("CONVERSA_DB_WORKER_POOL_SIZE"), "{err}");
        Ok(())
    });
}

#[test]
fn limits_default_to_the_issues_numbers_and_quotas_may_be_unlimited() {
    Jail::expect_with(|jail| {
        let defaults = Config::load().map_err(|e| e.to_string())?.limits.defaults();
        assert_eq!((defaults.tenant_rate.per_minute, defaults.tenant_rate.burst), (600, 100));
        assert_eq!((defaults.sends.per_day, defaults.sends.per_month), (Some(10_000), None));
        jail.set_env("CONVERSA_SEND_QUOTA_PER_DAY", "unlimited");
        jail.set_env("CONVERSA_SEND_QUOTA_PER_MONTH", "25000");
        jail.set_env("CONVERSA_RATE_LIMIT_INSTANCES", "3");
        let limits = Config::load().map_err(|e| e.to_string())?.limits;
        assert_eq!((limits.sends_per_day, limits.sends_per_month, limits.instances), (None, Some(25_000), 3));
        jail.set_env("CONVERSA_SEND_QUOTA_PER_DAY", "lots");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("CONVERSA_SEND_QUOTA_PER_DAY") && err.contains("lots"), "{err}");
        jail.set_env("CONVERSA_SEND_QUOTA_PER_DAY", "10");
        jail.set_env("CONVERSA_KEY_RATE_LIMIT_BURST", "0");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("CONVERSA_KEY_RATE_LIMIT_BURST"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_values_name_the_key() {
    Jail::expect_with(|jail| {
        jail.set_env("CONVERSA_PORT", "eighty");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("\"CONVERSA_PORT\"") && err.contains("eighty"), "{err}");
        jail.set_env("CONVERSA_PORT", "8080");
        jail.set_env("CONVERSA_PUBLIC_BASE_URL", "example.com/");
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("CONVERSA_PUBLIC_BASE_URL"), "{err}");
        Ok(())
    });
}

#[test]
fn the_file_names_its_keys_and_refuses_unknown_ones() {
    Jail::expect_with(|jail| {
        jail.create_file("conversa.toml", "db_pool_size = \"many\"")?;
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("\"db_pool_size\"") && err.contains("conversa.toml"), "{err}");
        jail.create_file("conversa.toml", "db_pool_sise = 4")?;
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("unknown key `db_pool_sise`"), "{err}");
        // The sections are the code's; the file keeps the flat names.
        jail.create_file("conversa.toml", "[database]\npool_size = 4")?;
        let err = Config::load().unwrap_err().to_string();
        assert!(err.contains("unknown key `database`"), "{err}");
        Ok(())
    });
}

#[test]
fn other_conversa_variables_are_not_configuration() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.set_env("CONVERSA_PG_PORT", "54329");
        assert_eq!(Config::load().map_err(|e| e.to_string())?, Config::default());
        Ok(())
    });
}

#[test]
fn every_key_is_declared_once_and_documented_in_the_example_environment() {
    let example = include_str!("../../../../.env.example");
    let mut names = BTreeSet::new();
    let mut fields = BTreeSet::new();
    for key in Config::KEYS {
        assert!(names.insert(key.env), "{} declared twice", key.env);
        assert!(fields.insert((key.section, key.field)), "{}.{} set by two keys", key.section, key.field);
        assert!(
            example.lines().any(|line| line.starts_with(&format!("{}=", key.env))),
            "{} not in .env.example",
            key.env
        );
        assert_eq!(Key::named(&key.file_name()), Some(key));
        assert_eq!(Key::at(&[key.section, key.field]), Some(key));
    }
    assert_eq!(Key::named("port").map(|key| key.env), Some("CONVERSA_PORT"));
    assert_eq!(Key::named("database_url").map(|key| key.env), Some("DATABASE_URL"));
}
