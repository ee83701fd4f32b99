//! `wsspec server`: testing WebSocket servers; wsspec is the client. One server from the command line
//! (or the built-in reference server when there is no URL), or every server of an Autobahn
//! `fuzzingclient.json` (`--spec`), tested one after another into one report.

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use tokio::sync::watch;
use wsspec_reference::{EchoConfig, EchoServer, ServerPolicy, TlsIdentity};
use wsspec_report::{RunResults, json};
use wsspec_runner::{Target, TlsClient, TlsOptions, transport::read_ca_file};
use wsspec_suite::{
    Case, Role,
    autobahn::{AutobahnSpec, SpecMode, SpecOptions},
    handshake::{HandshakePolicy, Needs},
};

use crate::{
    cases::load_suite,
    exit::{self, Exit},
    interruption::interruption,
    outcome::{self, OutcomeArgs},
    progress::{Progress, ProgressMode},
    run_options::RunOptions,
    selection::CaseSelection,
    spec,
};

/// The built-in server's message limit when none is given: every message of section 9 fits.
const REFERENCE_LIMIT: u64 = 16 << 20;

/// The subprotocol the built-in server supports when it is tested, so the policy cases run too.
const REFERENCE_SUBPROTOCOL: &str = "wsspec.echo";

/// An origin the built-in server refuses when it is tested.
const REFERENCE_FORBIDDEN_ORIGIN: &str = "https://forbidden.wsspec.invalid";

/// A path the built-in server does not serve when it is tested.
const REFERENCE_MISSING_PATH: &str = "/wsspec-missing";

/// An origin the built-in server accepts (it accepts every origin it is not told to refuse).
const REFERENCE_ALLOWED_ORIGIN: &str = "https://allowed.wsspec.invalid";

#[derive(Args, Debug)]
pub(crate) struct ServerArgs {
    /// The server's ws:// or wss:// URL. Leave it out to test the built-in reference server (or the
    /// servers of --spec).
    url: Option<String>,
    /// Test the servers of an Autobahn fuzzingclient.json, as it is: `servers` (agent, url, options),
    /// `cases`, `exclude-cases`, `exclude-agent-cases`, `outdir`. Every server is tested, one after
    /// another, into one report.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// With no URL: run the built-in reference server over TLS (wss://), with a fresh self-signed
    /// certificate that this run alone trusts.
    #[arg(long, conflicts_with = "url")]
    tls: bool,
    /// Accept any TLS certificate (self-signed, expired, for another name). The server must still prove
    /// it holds the certificate's key.
    #[arg(long)]
    insecure: bool,
    /// Also trust the certificates in this PEM file (besides Mozilla's roots and the system's store);
    /// repeatable.
    #[arg(long = "ca", value_name = "FILE")]
    ca: Vec<PathBuf>,
    #[command(flatten)]
    selection: CaseSelection,
    /// The implementation's name in the reports (default: host:port of the URL).
    #[arg(long)]
    agent: Option<String>,
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    outcome: OutcomeArgs,
    /// The largest message the server accepts. Larger messages must then be refused with 1009 instead of
    /// echoed, and the cases of section 15 (just over the limit) run. The built-in server uses this
    /// limit too, 16 MiB by default.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_message_size: Option<u64>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// What the user declares about the server's opening handshake; the cases that need it run only then.
#[derive(Args, Debug, Default)]
struct PolicyArgs {
    /// A subprotocol the server supports (repeatable): offered it, the server must select it.
    #[arg(long = "subprotocol", value_name = "NAME")]
    subprotocols: Vec<String>,
    /// An Origin the server accepts (repeatable).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// An Origin the server must refuse with an HTTP error such as 403 (repeatable).
    #[arg(long = "forbidden-origin", value_name = "ORIGIN")]
    forbidden_origins: Vec<String>,
    /// A path the server does not serve, which it must refuse with an HTTP error such as 404
    /// (repeatable).
    #[arg(long = "missing-path", value_name = "PATH")]
    missing_paths: Vec<String>,
}

impl PolicyArgs {
    fn policy(&self) -> HandshakePolicy {
        HandshakePolicy {
            subprotocols: self.subprotocols.clone(),
            allowed_origins: self.allowed_origins.clone(),
            forbidden_origins: self.forbidden_origins.clone(),
            missing_paths: self.missing_paths.clone(),
        }
    }
}

/// A server to test: from the command line, a spec, or the built-in one (no URL).
struct Planned {
    url: Option<String>,
    agent: Option<String>,
    /// The spec key its URL came from (`file: servers[0].url`), for errors; None: the command line.
    from: Option<String>,
    options: SpecOptions,
}

/// A server ready to be tested.
struct Prepared {
    target: Target,
    agent: String,
    tls: TlsClient,
    options: SpecOptions,
}

pub(crate) async fn server(args: ServerArgs) -> Result<u8, Exit> {
    // Caught from the start, so that a Ctrl-C at any point still ends in reports.
    let interrupted = interruption()?;
    let spec = args
        .spec
        .as_deref()
        .map(|path| spec::load(path, SpecMode::FuzzingClient))
        .transpose()?;
    let out = spec::out_dir(args.run.out.as_deref(), spec.as_ref());
    outcome::check_writable(&out)?;
    let planned = plan(&args, spec.as_ref())?;
    let builtin = planned.iter().all(|server| server.url.is_none());
    let suite = load_suite(args.selection.cases_dir.as_ref())?;
    // The built-in server's limit and policy are known; another server's only if declared.
    let (limit, policy) = match builtin {
        false => (args.max_message_size, args.policy.policy()),
        true => (
            Some(args.max_message_size.unwrap_or(REFERENCE_LIMIT)),
            HandshakePolicy {
                subprotocols: vec![REFERENCE_SUBPROTOCOL.into()],
                allowed_origins: vec![REFERENCE_ALLOWED_ORIGIN.into()],
                forbidden_origins: vec![REFERENCE_FORBIDDEN_ORIGIN.into()],
                missing_paths: vec![REFERENCE_MISSING_PATH.into()],
            },
        ),
    };
    let declared = Needs {
        limit: limit.is_some(),
        ..policy.declared()
    };
    let (server_cases, undeclared): (Vec<Case>, Vec<Case>) = suite
        .cases
        .into_iter()
        .filter(|case| case.roles.contains(&Role::Server))
        .partition(|case| case.needs().met_by(&declared));
    let chosen = args.selection.choose(&server_cases, spec.as_ref())?;

    // The --ca certificates, which every target trusts.
    let mut ca = TlsOptions {
        extra_roots: Vec::new(),
        ..TlsOptions::default()
    };
    for path in &args.ca {
        ca.extra_roots
            .extend(read_ca_file(path).map_err(|err| Exit::usage(err.to_string()))?);
    }
    let mut prepared = Vec::new();
    for server in planned {
        prepared.push(prepare(&args, server, limit, &policy, &ca).await?);
    }
    for server in &prepared {
        wsspec_runner::probe(&server.target, &server.tls, Duration::from_secs(5))
            .await
            .map_err(|err| Exit {
                code: exit::UNREACHABLE,
                message: err.to_string(),
            })?;
    }
    if !undeclared.is_empty() {
        let ids: Vec<&str> = undeclared.iter().map(|case| case.id.as_str()).collect();
        let mut options: Vec<&str> = undeclared
            .iter()
            .flat_map(|case| case.needs().options())
            .collect();
        options.sort_unstable();
        options.dedup();
        eprintln!(
            "wsspec: note: {} cases need what only you can declare about the server, and are left out: {} (declare it with {})",
            ids.len(),
            ids.join(", "),
            options.join(", ")
        );
    }

    // One interruption, or the deadline, stops whichever run is going, and the runs after it never
    // start.
    let (stop_tx, stop_rx) = watch::channel(None);
    let deadline = args.run.deadline;
    tokio::spawn(async move {
        let why = tokio::select! {
            () = interrupted => Stop::Interrupted,
            () = sleep_or_never(deadline) => Stop::Deadline,
        };
        let _ = stop_tx.send(Some(why));
    });
    let mode = ProgressMode::detect();
    let mut runs: Vec<RunResults> = Vec::new();
    for server in &prepared {
        // After an interruption, the servers not started yet are not run (the first always runs,
        // so that there is a run to report, stopped at once).
        if !runs.is_empty() && stop_rx.borrow().is_some() {
            break;
        }
        let (cases, selection) = chosen.for_agent(&server.agent, spec.as_ref());
        let mut config = args.run.config(server.agent.clone(), selection);
        config.settings.max_message_size = limit;
        config.settings.policy = policy.clone();
        config.settings.tls = server.tls.clone();
        spec::apply_options(server.options, &mut config.settings);
        let shard = config
            .selection
            .shard
            .map(|shard| format!(" (shard {shard})"))
            .unwrap_or_default();
        eprintln!(
            "wsspec: running {} cases{shard} against {} ({})",
            cases.len(),
            server.target.url,
            server.agent
        );
        let progress = Progress::new(mode, &server.agent, args.run.strict);
        let mut stop = stop_rx.clone();
        let results = wsspec_runner::run_server_until(
            &server.target,
            &cases,
            &config,
            &progress,
            async move {
                match stop.wait_for(Option::is_some).await.map(|why| *why) {
                    Ok(Some(Stop::Deadline)) => format!(
                        "the --deadline of {} passed",
                        humantime::format_duration(deadline.unwrap_or_default())
                    ),
                    _ => "interrupted".to_owned(),
                }
            },
        )
        .await;
        progress.finish();
        runs.push(results);
    }

    let (index, page) = outcome::write_reports(
        &out,
        &runs,
        json::JsonOptions::RUN,
        args.run.junit.as_deref(),
    )?;
    outcome::print_summaries(&runs);
    if std::io::stderr().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!("wsspec: wrote {} and {}", index.display(), page.display());
    }
    // Stopped: a run did not finish, or some servers never ran.
    let stopped = match *stop_rx.borrow() {
        Some(Stop::Deadline) => Some(exit::DEADLINE),
        Some(Stop::Interrupted) => Some(exit::INTERRUPTED),
        None => runs
            .iter()
            .any(|run| !run.complete)
            .then_some(exit::INTERRUPTED),
    };
    outcome::conclude(&args.outcome, &runs, stopped)
}

/// What stopped the runs early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Interrupted,
    Deadline,
}

/// Completes after `duration`, or never.
async fn sleep_or_never(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// The servers to test: the spec's, or the one of the command line (or the built-in one).
fn plan(args: &ServerArgs, spec: Option<&AutobahnSpec>) -> Result<Vec<Planned>, Exit> {
    let servers = spec.map(|spec| spec.servers.as_slice()).unwrap_or_default();
    if servers.is_empty() {
        // As in Autobahn, a spec without servers takes the URL given on the command line.
        return Ok(vec![Planned {
            url: args.url.clone(),
            agent: args.agent.clone(),
            from: None,
            options: spec.map(|spec| spec.options).unwrap_or_default(),
        }]);
    }
    let file = spec
        .map(|spec| spec.path.display().to_string())
        .unwrap_or_default();
    if args.url.is_some() {
        return Err(Exit::usage(format!(
            "{file} lists servers: give the URL there or on the command line, not both"
        )));
    }
    if args.agent.is_some() {
        return Err(Exit::usage(format!(
            "{file} lists servers: name them with `agent` there, not with --agent"
        )));
    }
    Ok(servers
        .iter()
        .enumerate()
        .map(|(i, server)| Planned {
            url: Some(server.url.clone()),
            agent: server.agent.clone(),
            from: Some(format!("{file}: servers[{i}].url")),
            options: server.options,
        })
        .collect())
}

/// Turns a planned server into a target: parses its URL and chooses its trust, or starts the built-in
/// server.
async fn prepare(
    args: &ServerArgs,
    server: Planned,
    limit: Option<u64>,
    policy: &HandshakePolicy,
    ca: &TlsOptions,
) -> Result<Prepared, Exit> {
    let (url, agent, tls) = match server.url {
        Some(url) => {
            let target = Target::parse(&url).map_err(|err| match &server.from {
                None => Exit::usage(err.to_string()),
                Some(from) => Exit::usage(format!("{from}: {err}")),
            })?;
            let agent = server
                .agent
                .unwrap_or_else(|| format!("{}:{}", target.host, target.port));
            let tls = TlsOptions {
                insecure: args.insecure,
                mozilla_roots: true,
                system_roots: true,
                ..ca.clone()
            };
            (url, agent, tls)
        }
        None => {
            let identity = match args.tls {
                true => {
                    Some(TlsIdentity::self_signed().map_err(|err| Exit::usage(err.to_string()))?)
                }
                false => None,
            };
            // The built-in server's own certificate is the only one this run trusts.
            let mut trusted = identity
                .as_ref()
                .map(|identity| identity.chain().to_vec())
                .unwrap_or_default();
            trusted.extend(ca.extra_roots.iter().cloned());
            let tls = TlsOptions {
                insecure: args.insecure,
                mozilla_roots: false,
                system_roots: false,
                extra_roots: trusted,
            };
            let config = EchoConfig {
                max_message_size: limit.and_then(|n| usize::try_from(n).ok()),
                policy: ServerPolicy {
                    subprotocols: policy.subprotocols.clone(),
                    forbidden_origins: policy.forbidden_origins.clone(),
                    missing_paths: policy.missing_paths.clone(),
                },
                tls: identity,
                // Every case runs: those of 12, 13 and 17 on its yawc connections.
                permessage_deflate: true,
            };
            let echo = EchoServer::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .map_err(|err| {
                    Exit::usage(format!("cannot start the built-in reference server: {err}"))
                })?;
            let url = echo.url();
            echo.serve_on_own_thread().map_err(|err| {
                Exit::usage(format!("cannot start the built-in reference server: {err}"))
            })?;
            let agent = server
                .agent
                .unwrap_or_else(|| wsspec_reference::AGENT.to_owned());
            (url, agent, tls)
        }
    };
    let target = Target::parse(&url).map_err(|err| Exit::usage(err.to_string()))?;
    Ok(Prepared {
        target,
        agent,
        tls: TlsClient::new(tls),
        options: server.options,
    })
}
