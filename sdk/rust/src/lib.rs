//! Write a sealed capability as a plain Rust function.
//!
//! A transform (node kind CT) is a function of its input:
//!
//! ```ignore
//! use sealed_sdk::{Error, Outcome, Value};
//!
//! fn run(input: Value) -> Result<Outcome, Error> {
//!     let n = input["n"].as_i64().ok_or_else(|| Error::invalid_input("n must be an integer"))?;
//!     Ok(Outcome::success(sealed_sdk::json!({ "double": n * 2 })))
//! }
//! sealed_sdk::transform!(run);
//! ```
//!
//! A side effect (node kind CS) also receives the host's storage, through the [`Storage`] trait, so the
//! same function runs against [`testing::MemoryStorage`] in native unit tests:
//!
//! ```ignore
//! fn run<S: sealed_sdk::Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> { ... }
//! sealed_sdk::side_effect!(run);
//! ```
//!
//! This crate owns the guest side of the `sealed:capability` WIT contract. It must never offer an ambient
//! I/O path (clock, randomness, files): everything a component touches comes through [`Storage`].

pub mod json;
pub mod storage;
pub mod testing;

pub use serde_json::{self, Value, json};
pub use storage::{Event, Host, InsertOutcome, Storage, StorageError, Versioned};

/// Bindings generated from the SDK's copy of `wit/capability.wit` (`tests/wit_copy.rs` keeps it identical).
#[doc(hidden)]
pub mod bindings {
    // One world for both kinds: a transform simply never calls a storage import, and the component
    // encoder drops unused imports, so a transform built with this SDK imports nothing at all (the
    // component build tool checks that, and so does the host).
    wit_bindgen::generate!({
        world: "side-effect",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_component",
        default_bindings_module: "::sealed_sdk::bindings",
    });

    pub use exports::sealed::capability::node::{NodeResult, RunError};
}

/// A node's result: the outcome name the workflow routes on, and the output later nodes can read.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub name: String,
    pub output: Value,
}

impl Outcome {
    /// An outcome with any name. Names are conventionally UPPER_SNAKE_CASE.
    pub fn new(name: impl Into<String>, output: Value) -> Self {
        Self {
            name: name.into(),
            output,
        }
    }

    /// `SUCCESS` with `output`.
    pub fn success(output: Value) -> Self {
        Self::new("SUCCESS", output)
    }

    /// `VIOLATION` with `{"reason": reason}`: a business rejection the workflow can route.
    pub fn violation(reason: impl Into<String>) -> Self {
        Self::new("VIOLATION", json!({ "reason": reason.into() }))
    }
}

/// Why a node could not produce an outcome. Both variants fail the run; route business rejections
/// with an [`Outcome`] instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input is not what this capability accepts.
    InvalidInput(String),
    /// The capability failed for a reason of its own (including a storage error it cannot handle).
    Internal(String),
}

impl Error {
    pub fn invalid_input(msg: impl Into<String>) -> Self {
        Self::InvalidInput(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::Internal(msg.into())
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Error::Internal(format!("storage: {e}"))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Helpers used by the export macros. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use super::{Error, Outcome, Value, bindings};

    pub fn parse_input(input: &str) -> Result<Value, bindings::RunError> {
        serde_json::from_str(input).map_err(|e| bindings::RunError::InvalidInput(format!("input is not JSON: {e}")))
    }

    pub fn finish(result: Result<Outcome, Error>) -> Result<bindings::NodeResult, bindings::RunError> {
        match result {
            Ok(outcome) => match serde_json::to_string(&outcome.output) {
                Ok(output) => Ok(bindings::NodeResult {
                    outcome: outcome.name,
                    output,
                }),
                Err(e) => Err(bindings::RunError::Internal(format!("output is not serialisable: {e}"))),
            },
            Err(Error::InvalidInput(m)) => Err(bindings::RunError::InvalidInput(m)),
            Err(Error::Internal(m)) => Err(bindings::RunError::Internal(m)),
        }
    }
}

/// Exports `fn(Value) -> Result<Outcome, Error>` as a transform component (world `transform`).
#[macro_export]
macro_rules! transform {
    ($run:path) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __SealedTransform;
            impl $crate::bindings::exports::sealed::capability::node::Guest for __SealedTransform {
                fn run(
                    input: ::std::string::String,
                ) -> ::std::result::Result<$crate::bindings::NodeResult, $crate::bindings::RunError> {
                    let input = $crate::__private::parse_input(&input)?;
                    $crate::__private::finish($run(input))
                }
            }
    $crate::bindings::__export_component!(__SealedTransform with_types_in $crate::bindings);
        };
    };
}

/// Exports `fn<S: Storage>(Value, &mut S) -> Result<Outcome, Error>` as a side-effect component
/// (world `side-effect`).
#[macro_export]
macro_rules! side_effect {
    ($run:path) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __SealedSideEffect;
            impl $crate::bindings::exports::sealed::capability::node::Guest for __SealedSideEffect {
                fn run(
                    input: ::std::string::String,
                ) -> ::std::result::Result<$crate::bindings::NodeResult, $crate::bindings::RunError> {
                    let input = $crate::__private::parse_input(&input)?;
                    $crate::__private::finish($run(input, &mut $crate::Host))
                }
            }
    $crate::bindings::__export_component!(__SealedSideEffect with_types_in $crate::bindings);
        };
    };
}

// The export macro generated by wit-bindgen names the bindings module by its absolute path.
extern crate self as sealed_sdk;
