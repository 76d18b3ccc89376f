//! The `job-history` binary: see `job-history --help`.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a GraphQL response is thousands of small, short-lived
/// allocations (values, futures, strings), and under load glibc's malloc/free took ~35 % of
/// the server's CPU (see docs/ARCHITECTURE.md, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    job_history::cli::main()
}
