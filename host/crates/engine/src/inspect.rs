//! What a compiled component imports and exports, which world that makes it, and whether it exports the
//! contract's entry point with the contract's type. Used by `host seal` / `host inspect` (through
//! [`crate::Engine::inspect`]) and by the static import gate of [`crate::Engine::prepare`].

use serde::{Deserialize, Serialize};
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::{Component, types::ComponentFunc};

use sealed_snapshot::{Interface, World};

use crate::host::TYPES_IMPORT;

/// The export every capability must have.
pub const NODE_EXPORT: &str = "sealed:capability/node@0.1.0";

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
    /// Whether `sealed:capability/node@0.1.0` is exported with `run` of the contract's type.
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
    /// Imports only `sealed:capability/{types,registry,events,state}@0.1.0`.
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

/// The storage interface an import name denotes, if any.
pub(crate) fn storage_interface(import: &str) -> Option<Interface> {
    Interface::ALL.into_iter().find(|i| i.import_name() == import)
}

/// Imports a component of `world` may not have at all (independently of grants).
pub(crate) fn disallowed_imports<'a>(imports: &[&'a str], world: World) -> Vec<&'a str> {
    imports
        .iter()
        .copied()
        .filter(|name| match world {
            World::Transform => true,
            World::SideEffect => *name != TYPES_IMPORT && storage_interface(name).is_none(),
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
    let node = ty
        .get_export(engine, NODE_EXPORT)
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
        assert_eq!(infer_world(&["wasi:io/poll@0.2.6"]), InferredWorld::Other);
        assert_eq!(infer_world(&["sealed:capability/registry@0.2.0"]), InferredWorld::Other);
        assert_eq!(infer_world(&["sealed:capability/node@0.1.0"]), InferredWorld::Other);
        assert_eq!(
            disallowed_imports(&["sealed:capability/types@0.1.0"], World::Transform).len(),
            1
        );
    }
}
