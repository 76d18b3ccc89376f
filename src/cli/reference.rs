//! The configuration reference, rendered from the clap definitions themselves
//! ([`crate::config::Cli`]), so README.md's table cannot drift from what the binary accepts:
//! `tests/readme.rs` compares the two and rewrites the README's table when run with
//! `UPDATE_README=1`.
//!
//! Generic over the command tree: a flag added anywhere in [`crate::config`] appears with its
//! name, environment variable, default and help, without touching this file.

use clap::{Arg, ArgAction, Command, CommandFactory};

/// The comment before the generated table in README.md.
pub const BEGIN: &str = "<!-- configuration table: generated from src/config.rs; \
    regenerate with `UPDATE_README=1 cargo test --test readme` -->";
/// The comment after it.
pub const END: &str = "<!-- end of configuration table -->";

/// The markdown table of every flag of `job-history`: global flags first, then each command's
/// (subcommands nested as `keys create`), in definition order.
pub fn configuration_table() -> String {
    let mut out = String::from("| flag | env | default | meaning |\n|---|---|---|---|\n");
    rows(&crate::config::Cli::command(), "", &mut out);
    out
}

/// Every argument shown to users, with the command path it belongs to (`""` for global flags,
/// `keys create`, …); for tests that check properties of all flags.
pub fn arguments() -> Vec<(String, Arg)> {
    let mut all = Vec::new();
    collect(&crate::config::Cli::command(), "", &mut all);
    all
}

fn collect(cmd: &Command, path: &str, all: &mut Vec<(String, Arg)>) {
    for arg in cmd.get_arguments().filter(|a| shown(a)) {
        all.push((path.to_string(), arg.clone()));
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, &join(path, sub.get_name()), all);
    }
}

fn shown(arg: &Arg) -> bool {
    !arg.is_hide_set()
        && !matches!(
            arg.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
        )
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path} {name}")
    }
}

fn rows(cmd: &Command, path: &str, out: &mut String) {
    for arg in cmd.get_arguments().filter(|a| shown(a)) {
        let name = match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => arg.get_value_names().and_then(|n| n.first()).map_or_else(
                || arg.get_id().to_string().to_uppercase(),
                |n| n.to_string(),
            ),
        };
        let flag = if path.is_empty() {
            format!("`{name}`")
        } else {
            format!("`{path} {name}`")
        };
        let env = arg
            .get_env()
            .map_or("—".to_string(), |e| format!("`{}`", e.to_string_lossy()));
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = match defaults.join(",") {
            d if d.is_empty() && defaults.len() == 1 => "`\"\"`".to_string(),
            _ if defaults.is_empty() && is_boolean(arg) => "`false`".to_string(),
            _ if defaults.is_empty() => "—".to_string(),
            d => format!("`{d}`"),
        };
        let mut meaning = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        if !values.is_empty() && !is_boolean(arg) {
            meaning.push_str(&format!("; one of {}", values.join(", ")));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&flag),
            cell(&env),
            cell(&default),
            cell(&meaning)
        ));
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        rows(sub, &join(path, sub.get_name()), out);
    }
}

/// True for flags whose value is a boolean (switches and `--flag=BOOL` settings).
pub fn is_boolean(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
        || arg.get_value_parser().type_id() == std::any::TypeId::of::<bool>()
}

/// One markdown table cell: a single line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
