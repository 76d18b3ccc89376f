//! `models add` and `models list`: the model catalogue from the command line, through the same
//! function as the `addModel` mutation ([`crate::graphql::mutation::add_model`]).

use crate::cli::outln;
use crate::config::ModelsAddArgs;
use crate::db::{Db, catalogue};

/// Adds a model version, idempotently; says on stderr whether it was new.
pub async fn add(db: &Db, args: &ModelsAddArgs) -> anyhow::Result<()> {
    let (model, created) =
        crate::graphql::mutation::add_model(db, &args.identifier, &args.version, &args.name)
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    let what = if created {
        "added"
    } else {
        "already in the catalogue:"
    };
    eprintln!(
        "{what} model {} version {} ({})",
        model.identifier, model.version, model.name
    );
    outln!("{}\t{}\t{}", model.identifier, model.version, model.name)?;
    Ok(())
}

/// Prints the catalogue, one model version per line: identifier, version, name (tab-separated).
pub async fn list(db: &Db) -> anyhow::Result<()> {
    let models = db.read(async |c| catalogue::all_models(c).await).await?;
    for m in models {
        outln!("{}\t{}\t{}", m.identifier, m.version, m.name)?;
    }
    Ok(())
}
