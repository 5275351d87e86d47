//! Every snapshot that ever decided, kept by its version: the text of its
//! rule files, and its plugins' manifests and components, each stored once
//! by its sha256 (`blobs`). A logged decision names its snapshot, so
//! `redress replay` can compile exactly the rules that decided it, and
//! `--rerun-plugins` can run exactly the plugins.

use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use crate::decision::Name;
use crate::rules::RuleFileText;
use crate::store::StoreError;
use crate::time::Timestamp;

/// A snapshot as kept.
#[derive(Debug, Clone)]
pub struct SnapshotRecord {
    pub version: Name,
    pub ruleset_version: Name,
    /// The rule files, by name (`10-routing.toml`), in load order.
    pub files: Vec<RuleFileText>,
    /// Its plugins, in run order.
    pub plugins: Vec<PluginRecord>,
}

/// A plugin of a kept snapshot.
#[derive(Debug, Clone)]
pub struct PluginRecord {
    pub name: String,
    /// `sha256:<hex>` of the component; the component is the blob `<hex>`.
    pub digest: Name,
    pub manifest: String,
    /// The component, when it was given (recording) or asked for.
    pub component: Option<std::sync::Arc<[u8]>>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn put_blob(connection: &Connection, bytes: &[u8]) -> Result<String, StoreError> {
    let sha = sha256_hex(bytes);
    connection
        .prepare_cached("INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?1, ?2)")?
        .execute(params![sha, bytes])?;
    Ok(sha)
}

/// Keeps `record` (a no-op if its version is kept already), inside the
/// writer's transaction.
pub(in crate::store) fn record_snapshot(
    transaction: &Connection,
    record: &SnapshotRecord,
) -> Result<(), StoreError> {
    let known: Option<i64> = transaction
        .query_row(
            "SELECT 1 FROM snapshots WHERE version = ?1",
            params![&*record.version],
            |row| row.get(0),
        )
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    let mut files = Vec::with_capacity(record.files.len());
    for file in &record.files {
        let name = file.name().display().to_string();
        files.push((name, put_blob(transaction, file.text.as_bytes())?));
    }
    let mut plugins = Vec::with_capacity(record.plugins.len());
    for plugin in &record.plugins {
        let manifest = put_blob(transaction, plugin.manifest.as_bytes())?;
        if let Some(component) = &plugin.component {
            let sha = put_blob(transaction, component)?;
            if plugin.digest.strip_prefix("sha256:") != Some(sha.as_str()) {
                return Err(StoreError::Inconsistent(format!(
                    "plugin `{}`'s digest {} is not its component's sha256 {sha}",
                    plugin.name, plugin.digest
                )));
            }
        }
        plugins.push((plugin.name.clone(), plugin.digest.to_string(), manifest));
    }
    transaction.execute(
        "INSERT INTO snapshots (version, ruleset_version, rule_files, plugins, first_served) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            &*record.version,
            &*record.ruleset_version,
            serde_json::to_string(&files)?,
            serde_json::to_string(&plugins)?,
            Timestamp::now().millis()
        ],
    )?;
    Ok(())
}

fn blob(connection: &Connection, sha: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT content FROM blobs WHERE sha256 = ?1")?
        .query_row(params![sha], |row| row.get(0))
        .optional()?)
}

fn text_blob(connection: &Connection, sha: &str, what: &str) -> Result<String, StoreError> {
    let bytes = blob(connection, sha)?.ok_or_else(|| {
        StoreError::Inconsistent(format!("the text of {what} (blob {sha}) is missing"))
    })?;
    String::from_utf8(bytes)
        .map_err(|_| StoreError::Inconsistent(format!("the text of {what} is not UTF-8")))
}

/// The kept snapshot `version`, without its components (see
/// [`component`]); `None` if it was never kept (decided before schema
/// version 6).
pub(in crate::store) fn read_snapshot(
    connection: &Connection,
    version: &str,
) -> Result<Option<SnapshotRecord>, StoreError> {
    let row: Option<(String, String, String)> = connection
        .prepare_cached(
            "SELECT ruleset_version, rule_files, plugins FROM snapshots WHERE version = ?1",
        )?
        .query_row(params![version], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let Some((ruleset_version, files, plugins)) = row else {
        return Ok(None);
    };
    let files: Vec<(String, String)> = serde_json::from_str(&files)?;
    let plugins: Vec<(String, String, String)> = serde_json::from_str(&plugins)?;
    let files = files
        .into_iter()
        .map(|(name, sha)| {
            Ok(RuleFileText {
                text: text_blob(connection, &sha, &format!("rule file {name}"))?,
                path: name.into(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let plugins = plugins
        .into_iter()
        .map(|(name, digest, manifest)| {
            Ok(PluginRecord {
                manifest: text_blob(
                    connection,
                    &manifest,
                    &format!("plugin `{name}`'s manifest"),
                )?,
                name,
                digest: Name::from(digest),
                component: None,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(SnapshotRecord {
        version: Name::from(version),
        ruleset_version: Name::from(ruleset_version),
        files,
        plugins,
    }))
}

/// The component of digest `sha256:<hex>`, if kept.
pub(in crate::store) fn component(
    connection: &Connection,
    digest: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    match digest.strip_prefix("sha256:") {
        Some(sha) => blob(connection, sha),
        None => Ok(None),
    }
}
