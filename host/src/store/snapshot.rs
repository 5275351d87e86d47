//! Every snapshot that ever decided, kept by its version: the text of its
//! rule files, and its plugins' manifests and components, each stored once
//! by its sha256 (a table of blobs). A logged decision names its snapshot,
//! so `redress replay` can compile exactly the rules that decided it, and
//! `--rerun-plugins` can run exactly the plugins.
//!
//! What a snapshot's row holds is the same on every backend; each backend
//! only reads and writes the rows and blobs ([`to_row`], [`from_row`]).

use crate::decision::Name;
use crate::rules::RuleFileText;
use crate::store::StoreError;

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

/// The key of a blob: its sha256, in hex.
pub(in crate::store) fn blob_key(bytes: &[u8]) -> String {
    crate::digest::hex(bytes)
}

/// The blob key of a component's digest (`sha256:<hex>`).
pub(in crate::store) fn component_key(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:")
}

/// A snapshot's row: JSON lists naming blobs.
pub(in crate::store) struct SnapshotRow {
    /// `[[file name, blob], ...]` in load order.
    pub rule_files: String,
    /// `[[name, component digest, manifest blob], ...]` in run order.
    pub plugins: String,
}

/// The row of `record`, each text and component kept with `put_blob`
/// (which answers the blob's key).
pub(in crate::store) fn to_row(
    record: &SnapshotRecord,
    mut put_blob: impl FnMut(&[u8]) -> Result<String, StoreError>,
) -> Result<SnapshotRow, StoreError> {
    let mut files = Vec::with_capacity(record.files.len());
    for file in &record.files {
        let name = file.name().display().to_string();
        files.push((name, put_blob(file.text.as_bytes())?));
    }
    let mut plugins = Vec::with_capacity(record.plugins.len());
    for plugin in &record.plugins {
        let manifest = put_blob(plugin.manifest.as_bytes())?;
        if let Some(component) = &plugin.component {
            let key = put_blob(component)?;
            if component_key(&plugin.digest) != Some(key.as_str()) {
                return Err(StoreError::Inconsistent(format!(
                    "plugin `{}`'s digest {} is not its component's sha256 {key}",
                    plugin.name, plugin.digest
                )));
            }
        }
        plugins.push((plugin.name.clone(), plugin.digest.to_string(), manifest));
    }
    Ok(SnapshotRow {
        rule_files: serde_json::to_string(&files)?,
        plugins: serde_json::to_string(&plugins)?,
    })
}

/// The record of a row, each text read with `blob` (the blob's bytes, if
/// kept); without components (they are read when asked for).
pub(in crate::store) fn from_row(
    version: &str,
    ruleset_version: &str,
    row: &SnapshotRow,
    mut blob: impl FnMut(&str) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<SnapshotRecord, StoreError> {
    let mut text = |key: &str, what: &str| -> Result<String, StoreError> {
        let bytes = blob(key)?.ok_or_else(|| {
            StoreError::Inconsistent(format!("the text of {what} (blob {key}) is missing"))
        })?;
        String::from_utf8(bytes)
            .map_err(|_| StoreError::Inconsistent(format!("the text of {what} is not UTF-8")))
    };
    let files: Vec<(String, String)> = serde_json::from_str(&row.rule_files)?;
    let plugins: Vec<(String, String, String)> = serde_json::from_str(&row.plugins)?;
    let files = files
        .into_iter()
        .map(|(name, key)| {
            Ok(RuleFileText {
                text: text(&key, &format!("rule file {name}"))?,
                path: name.into(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let plugins = plugins
        .into_iter()
        .map(|(name, digest, manifest)| {
            Ok(PluginRecord {
                manifest: text(&manifest, &format!("plugin `{name}`'s manifest"))?,
                name,
                digest: Name::from(digest),
                component: None,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(SnapshotRecord {
        version: Name::from(version),
        ruleset_version: Name::from(ruleset_version),
        files,
        plugins,
    })
}
