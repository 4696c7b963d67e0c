use clap::Parser;
use hearth::cli::{Cli, Command};
use hearth::{commands, config, logging};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: request handling allocates on the async workers
/// and frees on the writer and reader threads (and back), which glibc serialises on its
/// arena locks; mimalloc frees across threads without a lock and keeps small
/// allocations cheaper (measured with ops/bench; see the commit that added it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Everything Hearth creates (database, WAL, backups, lock) is for its own user only;
    // the explicit modes in `storage::private_files` hold even without this.
    storage::private_files::restrict_umask();
    // clap prints usage errors itself and exits with status 2.
    let cli = Cli::parse();
    let flags = cli.settings.flags();
    let mut config = match config::load(&flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("hearth: {e}");
            return ExitCode::from(2);
        }
    };
    // One-shot commands report on stdout; their logs stay quiet unless asked for.
    let log_asked = flags.values.contains_key("log") || std::env::var_os("HEARTH_LOG").is_some();
    if !matches!(cli.command, Command::Serve) && !log_asked {
        config.log = "warn".into();
    }
    // The runtime first: the trace exporter sends its requests on it.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hearth: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let telemetry = match logging::init(&config, runtime.handle()) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("hearth: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(commands::run(cli.command, config));
    // After the server has drained and the database is closed, so their spans are in.
    runtime.block_on(telemetry.shutdown());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {}", e.message());
            ExitCode::from(e.exit_code())
        }
    }
}
