//! `conversa`: the service and its operator commands.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{HttpServer, web};
use anyhow::Context;
use app_http::config::Config;
use app_http::role_guard::{self, BeforeServing, RoleGuard};
use app_http::simulate::{self, SimulateCommand};
use app_http::workers::Workers;
use app_http::{server, telemetry, wiring};
use chrono::Utc;
use clap::{Parser, Subcommand};
use domain::UserId;
use services::{CreateApiKey, NewOwnerRequest};

/// Conversa: multi-tenant SMS and WhatsApp conversations over Twilio.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations (as the schema owner, `DATABASE_URL`).
    Migrate,
    /// Create the demo data unless it exists; prints the demo API key when it creates it.
    Seed,
    /// Tenant operations.
    Owner {
        #[command(subcommand)]
        command: OwnerCommand,
    },
    /// API key operations.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// A tenant's rate limits and send quotas.
    Limits {
        #[command(subcommand)]
        command: LimitsCommand,
    },
    /// Token encryption key operations.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Send a running server the webhooks Twilio would send, signed (default: the demo account).
    Simulate {
        #[command(subcommand)]
        command: SimulateCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OwnerCommand {
    /// Create a tenant with an admin user and an API key; prints them as JSON.
    Create {
        /// The tenant's name.
        #[arg(long)]
        name: String,
        /// The tenant's contact address (also the admin's login).
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create an API key for a user; prints it as JSON (shown once).
    Create {
        /// The user's id.
        #[arg(long)]
        user: uuid::Uuid,
        /// A label.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum LimitsCommand {
    /// Override the configured limits of a tenant (its `limits` feature, as an admin's
    /// `PUT /api/v1/features/limits` would); every instance applies it within
    /// CONVERSA_LIMITS_CACHE_TTL_MS. Prints the feature as JSON.
    Set {
        /// The tenant's id.
        #[arg(long)]
        owner: uuid::Uuid,
        /// The overrides, a JSON object: `requests_per_minute`, `burst`,
        /// `key_requests_per_minute`, `key_burst`, `sends_per_day`, `sends_per_month` (a quota
        /// of `null` is unlimited; a field left out keeps the default).
        #[arg(long)]
        config: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-encrypt every tenant's Twilio auth token under CONVERSA_TOKEN_ENCRYPTION_KEY, reading
    /// those sealed under CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS (as the schema owner,
    /// `DATABASE_URL`); prints counts as JSON. Running it again changes nothing.
    Rotate,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load()?;
    let _log_writer = telemetry::init(config.telemetry.log_format, &config.telemetry.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(serve(config)),
        Command::Migrate => runtime.block_on(migrate(&config)),
        Command::Seed => runtime.block_on(seed(&config)),
        Command::Owner { command: OwnerCommand::Create { name, email } } => {
            runtime.block_on(create_owner(&config, name, email))
        }
        Command::ApiKey { command: ApiKeyCommand::Create { user, name } } => {
            runtime.block_on(create_api_key(&config, user, name))
        }
        Command::Keys { command: KeysCommand::Rotate } => runtime.block_on(rotate_keys(&config)),
        Command::Limits { command: LimitsCommand::Set { owner, config: limits } } => {
            runtime.block_on(set_limits(&config, owner, &limits))
        }
        Command::Simulate { command } => {
            runtime.block_on(simulate::run(&command, &config.http.public_base_url))
        }
    }
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = adapters_postgres::run_migrations(config.database.url.expose()).await?;
    tracing::info!(applied = applied.len(), "migrations applied");
    println!("{}", serde_json::json!({ "applied": applied }));
    Ok(())
}

async fn seed(config: &Config) -> anyhow::Result<()> {
    let store = wiring::store(config)?;
    let report =
        adapters_postgres::seed_demo_data(&store, &adapters_postgres::Sha256ApiKeys, Utc::now()).await?;
    println!(
        "{}",
        serde_json::json!({
            "owners_created": report.owners_created,
            "demo_owner_id": report.demo_owner_id.map(|id| id.to_string()),
            "demo_api_key": report.demo_api_key.as_ref().map(|key| key.expose().to_owned()),
        })
    );
    Ok(())
}

async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    let cipher = wiring::token_cipher(config)?;
    let report = adapters_postgres::rotate_token_keys(config.database.url.expose(), &cipher)
        .await
        .context("cannot rotate the token encryption keys")?;
    let unreadable: Vec<_> = report
        .unreadable
        .iter()
        .map(|(owner_id, id)| serde_json::json!({ "owner_id": owner_id.to_string(), "id": id.to_string() }))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "key_id": cipher.key_id(),
            "accounts": report.accounts,
            "resealed": report.resealed,
            "already_current": report.already_current,
            "unreadable": unreadable,
            "webhook_endpoints": report.webhook_endpoints,
            "webhook_secrets_resealed": report.webhook_secrets_resealed,
            "webhook_secrets_unreadable": report.webhook_secrets_unreadable.iter()
                .map(|(owner_id, id)| serde_json::json!({ "owner_id": owner_id.to_string(), "id": id.to_string() }))
                .collect::<Vec<_>>(),
        })
    );
    // A token no configured key opens would be lost with its key: say so, and fail, so the
    // operator keeps that key until it is dealt with.
    if !unreadable.is_empty() {
        anyhow::bail!(
            "{} auth token(s) open with no configured key: add the key that sealed them to \
             CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS and run again, or have the tenants set their \
             auth tokens again (PATCH /api/v1/twilio-accounts/{{id}})",
            unreadable.len()
        );
    }
    if !report.webhook_secrets_unreadable.is_empty() {
        anyhow::bail!(
            "{} webhook endpoint secret(s) open with no configured key: add the key that sealed them \
             to CONVERSA_TOKEN_ENCRYPTION_KEYS_PREVIOUS and run again, or have the tenants rotate them \
             (POST /api/v1/webhook-endpoints/{{id}}/rotate-secret)",
            report.webhook_secrets_unreadable.len()
        );
    }
    Ok(())
}

async fn create_owner(config: &Config, name: String, email: String) -> anyhow::Result<()> {
    let tenants = wiring::tenants(wiring::store(config)?);
    let request = NewOwnerRequest { name, email, admin_name: None, admin_email: None };
    let (created, key) = tenants.create_owner(request).await.context("cannot create the owner")?;
    println!(
        "{}",
        serde_json::json!({
            "owner_id": created.owner.id.to_string(),
            "admin_user_id": created.admin.id.to_string(),
            "api_key": key.expose(),
        })
    );
    Ok(())
}

async fn set_limits(config: &Config, owner: uuid::Uuid, limits: &str) -> anyhow::Result<()> {
    let limits: serde_json::Value = serde_json::from_str(limits).context("--config must be a JSON object")?;
    let store = std::sync::Arc::new(wiring::store(config)?);
    let features =
        services::FeatureService { features: store, clock: std::sync::Arc::new(wiring::SystemClock) };
    let request =
        services::PutFeature { name: domain::FeatureName::LIMITS.to_owned(), enabled: true, config: limits };
    let feature = features
        .put_as_operator(domain::OwnerId::from(owner), request)
        .await
        .context("cannot set the limits")?;
    println!("{}", serde_json::json!({ "owner_id": owner.to_string(), "limits": feature.config }));
    Ok(())
}

async fn create_api_key(config: &Config, user: uuid::Uuid, name: String) -> anyhow::Result<()> {
    let (key, plaintext) = wiring::tenants(wiring::store(config)?)
        .create_api_key_for_user(CreateApiKey { user_id: UserId::from(user), name })
        .await
        .context("cannot create the key")?;
    println!(
        "{}",
        serde_json::json!({ "api_key_id": key.id.to_string(), "user_id": user.to_string(), "api_key": plaintext.expose() })
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = wiring::store(&config)?;
    let role_check = role_guard::check_before_serving(&store).await?;
    // Before serving: webhooks spooled by an earlier run are replayed as soon as the drainer
    // starts, and a second instance on the same directory is refused here.
    let spool = wiring::spool(&config)?;
    let account_changes =
        store.listen_for_account_changes(config.database.app_role_url().expose().to_owned());
    let state = wiring::app_state(&config, store.clone(), Arc::new(spool))?;
    if state.metrics_token.is_none() {
        tracing::info!(
            "GET /metrics is open: set CONVERSA_METRICS_TOKEN unless only your network reaches it"
        );
    }
    let workers = if config.workers.enabled {
        Some(wiring::workers(&config, &store, state.metrics.clone())?)
    } else {
        None
    };
    let drainer = Workers::spool_drainer(
        state.webhooks.clone(),
        config.webhooks.spool_drain_interval,
        state.metrics.clone(),
    );
    let state = web::Data::new(state);
    let http = &config.http;
    let listener = TcpListener::bind((http.host.as_str(), http.port))
        .with_context(|| format!("cannot listen on {}:{}", http.host, http.port))?;
    tracing::info!(address = %listener.local_addr()?, "serving");
    let body_limit = http.body_limit_bytes;
    // actix-web stops on SIGTERM/SIGINT: it stops accepting, lets in-flight requests finish
    // (up to the shutdown timeout), then returns; the workers finish their round after that.
    let mut server = HttpServer::new(move || server::app(state.clone(), body_limit));
    if http.workers > 0 {
        server = server.workers(http.workers);
    }
    let server = server.listen(listener)?.shutdown_timeout(30).run();
    let guard = RoleGuard::default();
    let deferred_check =
        matches!(role_check, BeforeServing::Deferred).then(|| guard.watch(store.clone(), server.handle()));
    let served = server.await;
    if let Some(check) = deferred_check {
        check.abort();
    }
    if let Some(workers) = workers {
        workers.shutdown().await;
    }
    drainer.shutdown().await;
    account_changes.abort();
    served?;
    if let Some(refused) = guard.refusal() {
        return Err(refused.into());
    }
    tracing::info!("stopped");
    Ok(())
}
