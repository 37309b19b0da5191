//! The storage capabilities as a guest reaches them: one module per WIT interface
//! ([`registry`], [`events`], [`state`]), each owning its linker functions and the grant operation each
//! function needs, and this module's one path every call takes ([`storage_call`]): fuel for the bytes,
//! the node's [`Gate`](sealed_capability::Gate), the conversion to the WIT result.
//!
//! What a call *means* (write-once, gap-free numbering, compare-and-swap) is decided by
//! `sealed_storage::{registry, events, state}`, shared by every backend; what it is *allowed* to do is
//! the node's grants, checked by the gate. This module must never decide either: it links, converts and
//! charges. The linker holds only the interfaces the node is granted, so an ungranted interface cannot
//! be reached even if the static import gate had a bug.

use sealed_capability::{StorageError, StorageRequest, StorageResponse};
use sealed_snapshot::{Interface, Op};
use wasmtime::StoreContextMut;
use wasmtime::Trap;
use wasmtime::component::Linker;

use crate::bindings::sealed::capability::types;
use crate::host::HostState;

pub(crate) mod events;
pub(crate) mod registry;
pub(crate) mod state;

/// The `types` interface holds only the `storage-error` type; a side effect that uses any storage
/// interface imports it too. Defined at the contract's current version: an import of an older
/// compatible version (`@0.1.0`) resolves to it through wasmtime's semver-compatible lookup.
fn types_import() -> String {
    sealed_snapshot::contract_item_name("types")
}

/// The WIT functions a capability module links, each with the grant operation that allows it.
pub(crate) type Functions = &'static [(&'static str, Op)];

/// Adds `types` and each interface of `interfaces` to `linker`, and nothing else.
pub(crate) fn add_storage(linker: &mut Linker<HostState>, interfaces: &[Interface]) -> wasmtime::Result<()> {
    // `types` defines only a type: its linker instance is empty, but it must exist for a component
    // that imports it.
    linker.instance(&types_import())?;
    for interface in interfaces {
        let name = interface.import_name();
        let mut inst = linker.instance(&name)?;
        match interface {
            Interface::Registry => registry::add_to_linker(&mut inst)?,
            Interface::Events => events::add_to_linker(&mut inst)?,
            Interface::State => state::add_to_linker(&mut inst)?,
        }
    }
    Ok(())
}

pub(crate) type Store<'a> = StoreContextMut<'a, HostState>;

/// Takes `bytes × fuel_per_byte` fuel from the store, or traps with `OutOfFuel` (leaving 0) when there is
/// not enough: a guest cannot move data for free by pushing it through storage calls.
fn charge(store: &mut StoreContextMut<'_, HostState>, bytes: u64) -> wasmtime::Result<()> {
    let cost = bytes.saturating_mul(store.data().fuel_per_byte);
    let fuel = store.get_fuel()?;
    if cost > fuel {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    store.set_fuel(fuel - cost)
}

/// One storage call: charge the request bytes, pass it through the gate, charge the response bytes,
/// convert the response to the WIT type.
pub(crate) fn storage_call<R>(
    store: &mut StoreContextMut<'_, HostState>,
    request: StorageRequest,
    convert: impl FnOnce(StorageResponse) -> Option<R>,
) -> wasmtime::Result<Result<R, types::StorageError>> {
    // Refuse to even present a request whose own bytes cannot be paid for.
    let request_bytes =
        request.label().len() as u64 + request.key().len() as u64 + request.value().map_or(0, |v| v.len() as u64);
    let fuel = store.get_fuel()?;
    if request_bytes.saturating_mul(store.data().fuel_per_byte) > fuel {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }

    let name = request.name();
    let host = store.data_mut();
    let before = host.gate.bytes_moved();
    let result = host.gate.call(request);
    let moved = host.gate.bytes_moved().saturating_sub(before);
    let result = match result {
        Ok(response) => {
            let kind = response_kind(&response);
            match convert(response) {
                Some(value) => Ok(value),
                None => {
                    let detail = format!("backend answered {name} with an unexpected response: {kind}");
                    host.storage_failure.get_or_insert_with(|| detail.clone());
                    Err(types::StorageError::Other(detail))
                }
            }
        }
        Err(err) => {
            if let StorageError::Other(detail) = &err {
                host.storage_failure.get_or_insert_with(|| format!("{name}: {detail}"));
            }
            Err(to_wit_error(err))
        }
    };
    charge(store, moved)?;
    // A refusal fails the invocation whatever the guest does next (the first refusal is its error), so
    // the guest is stopped here rather than told: letting it carry on could only make it loop on refused
    // calls, each one journaled and copied into the trace.
    if store.data().gate.refused() {
        return Err(wasmtime::Error::msg(REFUSAL_TRAP));
    }
    Ok(result)
}

/// The message of the trap that stops a guest at its first refused storage call (never shown: the
/// invocation's error is the refusal itself).
pub(crate) const REFUSAL_TRAP: &str = "storage call refused: the invocation stops at the first refusal";

fn response_kind(response: &StorageResponse) -> &'static str {
    match response {
        StorageResponse::Insert(_) => "insert",
        StorageResponse::Value(_) => "value",
        StorageResponse::Exists(_) => "exists",
        StorageResponse::Seq(_) => "seq",
        StorageResponse::Events(_) => "events",
        StorageResponse::State(_) => "state",
        StorageResponse::Version(_) => "version",
        StorageResponse::Removed(_) => "removed",
        StorageResponse::Keys(_) => "keys",
    }
}

fn to_wit_error(err: StorageError) -> types::StorageError {
    match err {
        StorageError::NotGranted(m) => types::StorageError::NotGranted(m),
        StorageError::InvalidArgument(m) => types::StorageError::InvalidArgument(m),
        StorageError::Conflict(m) => types::StorageError::Conflict(m),
        StorageError::LimitExceeded(m) => types::StorageError::LimitExceeded(m),
        StorageError::Other(m) => types::StorageError::Other(m),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The functions each interface's module links (checked against the WIT and the manifest's operations by
    /// this module's tests).
    fn functions(interface: Interface) -> Functions {
        match interface {
            Interface::Registry => registry::FUNCTIONS,
            Interface::Events => events::FUNCTIONS,
            Interface::State => state::FUNCTIONS,
        }
    }

    /// The functions `wit/capability.wit` declares in `interface`.
    fn wit_functions(interface: Interface) -> BTreeSet<String> {
        let mut resolve = wit_parser::Resolve::default();
        let wit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../wit/capability.wit");
        let pkg = resolve.push_file(&wit).unwrap();
        let id = resolve.packages[pkg].interfaces[interface.as_str()];
        resolve.interfaces[id].functions.keys().cloned().collect()
    }

    #[test]
    fn each_module_links_exactly_the_functions_its_wit_interface_declares() {
        for interface in Interface::ALL {
            let linked: BTreeSet<String> = functions(interface).iter().map(|(f, _)| f.to_string()).collect();
            assert_eq!(linked, wit_functions(interface), "{}", interface.as_str());
        }
    }

    #[test]
    fn each_function_needs_one_grantable_operation_and_each_operation_has_a_function() {
        for interface in Interface::ALL {
            let ops: Vec<Op> = functions(interface).iter().map(|(_, op)| *op).collect();
            let distinct: BTreeSet<&str> = ops.iter().map(|o| o.as_str()).collect();
            assert_eq!(
                distinct.len(),
                ops.len(),
                "{}: two functions share an operation",
                interface.as_str()
            );
            let grantable: BTreeSet<&str> = interface.ops().iter().map(|o| o.as_str()).collect();
            assert_eq!(distinct, grantable, "{}", interface.as_str());
        }
    }
}
