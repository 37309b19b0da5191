//! Closure rules every manifest must satisfy (checked at seal time and again at load time).
//!
//! TODO(helper): acyclic graph, routed outcomes, JSONPath roots and dominance, world/kind match, grants.

use crate::manifest::Manifest;

/// Returns every violation found, each a precise human-readable message naming workflow and node.
pub fn validate(_manifest: &Manifest) -> Result<(), Vec<String>> {
    Ok(())
}
