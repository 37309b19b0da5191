//! What a compiled component imports and exports, which world that makes it, and whether it exports the
//! contract's entry point with the contract's type. Used by `host seal` / `host inspect` (through
//! [`crate::Engine::inspect`]) and by the static import gate of [`crate::Engine::prepare`].

use serde::{Deserialize, Serialize};
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, types::ComponentFunc};

use sealed_snapshot::{Interface, World};

/// The export every capability must have, at the contract's current version (a component built against
/// an older compatible version exports it under that version: see [`node_export_name`]).
pub const NODE_EXPORT: &str = sealed_snapshot::seal::NODE_EXPORT;

/// Report of [`crate::Engine::inspect`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentInfo {
    /// Lowercase hex sha256 of the bytes (the pin to put in a source declaration).
    pub sha256: String,
    pub size: u64,
    pub imports: Vec<ItemInfo>,
    pub exports: Vec<ItemInfo>,
    /// The world the imports fit (see [`InferredWorld`]).
    pub world: InferredWorld,
    /// Whether `sealed:capability/node@0.1.x` is exported with `run` of the contract's type.
    pub exports_node_run: bool,
    /// Why not, when `exports_node_run` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_run_problem: Option<String>,
    /// Set when the imports have the contract's names but not its types (a `registry.exists` with another
    /// signature, a function smuggled into `types`): the linker a run builds would refuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_type_problem: Option<String>,
}

impl ComponentInfo {
    /// Whether this component may run at a node of `world`: its imports fit the world and it exports
    /// the entry point. The error lists every reason.
    pub fn check_world(&self, world: World) -> Result<(), String> {
        let mut problems = Vec::new();
        let names: Vec<&str> = self.imports.iter().map(|i| i.name.as_str()).collect();
        let disallowed = disallowed_imports(&names, world);
        if !disallowed.is_empty() {
            problems.push(format!(
                "the `{}` world does not allow importing {}",
                world.as_str(),
                disallowed.join(", ")
            ));
        }
        if let Some(p) = &self.node_run_problem {
            problems.push(p.clone());
        }
        if let Some(p) = &self.import_type_problem {
            problems.push(p.clone());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// One import or export: its name and what kind of item it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemInfo {
    pub name: String,
    /// `instance`, `func`, `type`, `resource`, `component`, `module` or `core-func`.
    pub kind: String,
}

/// The world a component's imports fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InferredWorld {
    /// No imports at all (fits a side-effect node too).
    Transform,
    /// Imports only `sealed:capability/{types,registry,events,state}@0.1.x`.
    SideEffect,
    /// Imports something else (WASI, another package): it can run nowhere.
    Other,
}

fn kind(item: &ComponentItem) -> &'static str {
    match item {
        ComponentItem::ComponentFunc(_) => "func",
        ComponentItem::CoreFunc(_) => "core-func",
        ComponentItem::Module(_) => "module",
        ComponentItem::Component(_) => "component",
        ComponentItem::ComponentInstance(_) => "instance",
        ComponentItem::Type(_) => "type",
        ComponentItem::Resource(_) => "resource",
    }
}

/// Every import and export of `component`, in the component's order.
pub(crate) fn items(engine: &wasmtime::Engine, component: &Component) -> (Vec<ItemInfo>, Vec<ItemInfo>) {
    let ty = component.component_type();
    let imports = ty
        .imports(engine)
        .map(|(name, ext)| ItemInfo {
            name: name.to_string(),
            kind: kind(&ext.ty).into(),
        })
        .collect();
    let exports = ty
        .exports(engine)
        .map(|(name, ext)| ItemInfo {
            name: name.to_string(),
            kind: kind(&ext.ty).into(),
        })
        .collect();
    (imports, exports)
}

/// The storage interface an import name denotes (at any contract version this host runs), if any.
pub(crate) fn storage_interface(import: &str) -> Option<Interface> {
    Interface::from_import_name(import)
}

/// The name under which `component` exports `sealed:capability/node`, at a version this host runs.
fn node_export_name(engine: &wasmtime::Engine, component: &Component) -> Option<String> {
    let ty = component.component_type();
    ty.exports(engine)
        .map(|(name, _)| name)
        .find(|name| sealed_snapshot::contract_item(name) == Some("node"))
        .map(str::to_string)
}

/// Imports a component of `world` may not have at all (independently of grants).
pub(crate) fn disallowed_imports<'a>(imports: &[&'a str], world: World) -> Vec<&'a str> {
    imports
        .iter()
        .copied()
        .filter(|name| match world {
            World::Transform => true,
            World::SideEffect => !sealed_snapshot::seal::import_allowed(World::SideEffect, name),
        })
        .collect()
}

pub(crate) fn infer_world(imports: &[&str]) -> InferredWorld {
    if imports.is_empty() {
        InferredWorld::Transform
    } else if disallowed_imports(imports, World::SideEffect).is_empty() {
        InferredWorld::SideEffect
    } else {
        InferredWorld::Other
    }
}

/// Checks that `component` exports `node` with `run: func(input: string) -> result<node-result, run-error>`,
/// structurally (field and case names, payload types), before anything is instantiated.
pub(crate) fn check_node_run(engine: &wasmtime::Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    let name = node_export_name(engine, component).ok_or_else(|| format!("does not export `{NODE_EXPORT}`"))?;
    let node = ty
        .get_export(engine, &name)
        .ok_or_else(|| format!("does not export `{NODE_EXPORT}`"))?;
    let ComponentItem::ComponentInstance(node) = node.ty else {
        return Err(format!(
            "exports `{NODE_EXPORT}` as a {}, not an instance",
            kind(&node.ty)
        ));
    };
    let run = node
        .get_export(engine, "run")
        .ok_or_else(|| format!("`{NODE_EXPORT}` has no `run` export"))?;
    let ComponentItem::ComponentFunc(run) = run.ty else {
        return Err(format!("`{NODE_EXPORT}`.run is a {}, not a function", kind(&run.ty)));
    };
    check_run_type(&run).map_err(|detail| format!("`{NODE_EXPORT}`.run has the wrong type: {detail}"))
}

fn check_run_type(run: &ComponentFunc) -> Result<(), String> {
    const EXPECTED: &str = "expected func(input: string) -> result<node-result, run-error>";
    if run.async_() {
        return Err(format!("it is async; {EXPECTED}"));
    }
    let params: Vec<(&str, Type)> = run.params().collect();
    if !matches!(params.as_slice(), [(_, Type::String)]) {
        return Err(format!("parameters differ; {EXPECTED}"));
    }
    let results: Vec<Type> = run.results().collect();
    let [Type::Result(result)] = results.as_slice() else {
        return Err(format!("results differ; {EXPECTED}"));
    };
    match result.ok() {
        Some(Type::Record(record)) => {
            let fields: Vec<(&str, bool)> = record
                .fields()
                .map(|f| (f.name, matches!(f.ty, Type::String)))
                .collect();
            if fields != [("outcome", true), ("output", true)] {
                return Err(format!(
                    "node-result must be record {{ outcome: string, output: string }}; {EXPECTED}"
                ));
            }
        }
        _ => return Err(format!("the ok type is not the node-result record; {EXPECTED}")),
    }
    match result.err() {
        Some(Type::Variant(variant)) => {
            let cases: Vec<(&str, bool)> = variant
                .cases()
                .map(|c| (c.name, matches!(c.ty, Some(Type::String))))
                .collect();
            if cases != [("invalid-input", true), ("internal", true)] {
                return Err(format!(
                    "run-error must be variant {{ invalid-input(string), internal(string) }}; {EXPECTED}"
                ));
            }
        }
        _ => return Err(format!("the error type is not the run-error variant; {EXPECTED}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_are_inferred_from_import_names() {
        assert_eq!(infer_world(&[]), InferredWorld::Transform);
        assert_eq!(
            infer_world(&["sealed:capability/types@0.1.0", "sealed:capability/registry@0.1.0"]),
            InferredWorld::SideEffect
        );
        assert_eq!(
            infer_world(&["sealed:capability/state@0.1.0"]),
            InferredWorld::SideEffect
        );
        // 0.1.1 only adds to 0.1.0: both are the same contract; 0.2.0 and a patch outside the list are not.
        assert_eq!(
            infer_world(&["sealed:capability/types@0.1.1", "sealed:capability/registry@0.1.1"]),
            InferredWorld::SideEffect
        );
        assert_eq!(infer_world(&["sealed:capability/state@0.1.9"]), InferredWorld::Other);
        assert_eq!(infer_world(&["wasi:io/poll@0.2.6"]), InferredWorld::Other);
        assert_eq!(infer_world(&["sealed:capability/registry@0.2.0"]), InferredWorld::Other);
        assert_eq!(infer_world(&["sealed:capability/node@0.1.0"]), InferredWorld::Other);
        assert_eq!(
            disallowed_imports(&["sealed:capability/types@0.1.0"], World::Transform).len(),
            1
        );
    }
}
