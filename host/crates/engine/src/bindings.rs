//! Types and the typed `InstancePre` generated from `wit/capability.wit`, world `side-effect`.
//!
//! Only the generated *types* and `SideEffectPre` are used: the host functions are registered by hand in
//! [`crate::host`] (through `func_wrap`) because they need the whole store to charge fuel per byte, and
//! wasmtime's `store` flag for sync imports requires the `component-model-async` feature.
//! A transform uses the same `SideEffectPre`: it only looks up the `node.run` export, and the import
//! side is decided by the linker (empty for a transform).
//!
//! The generated code calls `TypedFunc::new_unchecked` in an `unsafe` block (sound: the export's type was
//! checked when the indices were loaded), hence this `allow(unsafe_code)`, scoped to generated code. The
//! crate's only hand-written `unsafe` is the disk cache's load (`cache::deserialize_checked`).
#![allow(unsafe_code)]

wasmtime::component::bindgen!({
    world: "side-effect",
    path: "../../../wit",
});
