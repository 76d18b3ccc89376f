//! The `job-history` binary: see `job-history --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    job_history::cli::main()
}
