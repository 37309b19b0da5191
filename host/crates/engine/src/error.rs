//! Errors of the engine. [`EngineError`] is about a component or the engine itself (before anything runs);
//! [`InvokeError`] is about one invocation. Both carry a stable SCREAMING_SNAKE code for traces and
//! `--json` output.

use sealed_capability::Refusal;

/// Why an engine could not be built, or a component could not be inspected or prepared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The profile asks for something this build cannot honour (another wasmtime version, no fuel, ...).
    #[error("engine profile not supported by this host: {0}")]
    ProfileUnsupported(String),
    /// wasmtime refused the configuration.
    #[error("cannot create the wasmtime engine: {0}")]
    Init(String),
    /// The bytes handed to `prepare` no longer hash to their pin (checked again before compiling).
    #[error("component {name} does not match its pin: pinned {expected}, bytes hash to {actual}")]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    /// The bytes are not a valid component (or Cranelift could not compile them).
    #[error("component {name} is not a valid WebAssembly component: {detail}")]
    Compile { name: String, detail: String },
    /// The component imports something its world never allows (WASI, another package, a storage
    /// interface in a transform).
    #[error(
        "component {component} imports `{import}`, which the `{world}` world does not allow (a transform imports \
         nothing; a side effect only sealed:capability/{{types,registry,events,state}}@0.1.x)"
    )]
    ImportNotAllowed {
        component: String,
        world: &'static str,
        import: String,
    },
    /// The component imports a storage interface the node holds no grant on.
    #[error(
        "component {component} imports `{import}`, but this node is granted only {granted}; grant the node an \
         operation on `{interface}` or use a component that does not import it"
    )]
    ImportNotGranted {
        component: String,
        import: String,
        interface: &'static str,
        granted: String,
    },
    /// A linear memory of the component declares an initial size over the node's memory budget: it could
    /// never be instantiated within `limits.memory_bytes`.
    #[error(
        "component {component} declares an initial linear memory of {bytes} bytes, more than the node's memory \
         budget of {limit} bytes (limits.memory_bytes)"
    )]
    MemoryDeclared { component: String, bytes: u64, limit: u64 },
    /// The node asks for a budget above what this engine's instance pool can ever give one component: the
    /// pool would refuse first, and the run would fail at a limit the snapshot did not set.
    #[error(
        "limits.{limit} = {value} is above this engine's pooling cap of {cap} (engine profile `pooling`); \
         lower the node's limit to at most {cap}"
    )]
    LimitUnsupported { limit: &'static str, value: u64, cap: u64 },
    /// The component does not export `sealed:capability/node@0.1.x` with `run` of the contract's type, or
    /// its imports have the right names but the wrong types.
    #[error("component {component} does not fit the sealed:capability contract: {detail}")]
    Contract { component: String, detail: String },
    /// The component is over the compile budget (size or function count): compiling it would cost the
    /// host seconds and gigabytes, at seal and on every cold run.
    #[error("component {name} is over the compile budget: {detail}")]
    CompileBudget { name: String, detail: String },
    /// Compiling the component took longer than its wall-clock bound (`run_limits.compile_ms`). Cranelift
    /// cannot be interrupted: the compilation was abandoned (it finishes in the background, its result
    /// discarded). Machine-dependent, like the node wall clock; a cached component is not compiled.
    #[error(
        "component {name} is over the compile budget: compiling it took longer than {limit_ms} ms \
         (run_limits.compile_ms), so the compilation was abandoned (it finishes in the background and its result \
         is discarded)"
    )]
    CompileTimeout { name: String, limit_ms: u64 },
    /// The compiled-component disk cache could not be used where it had to be ([`crate::Engine::warm`]).
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
}

impl EngineError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::ProfileUnsupported(_) => "ENGINE_PROFILE_UNSUPPORTED",
            EngineError::Init(_) => "ENGINE_INIT",
            EngineError::HashMismatch { .. } => "COMPONENT_HASH_MISMATCH",
            EngineError::Compile { .. } => "COMPONENT_INVALID",
            EngineError::CompileBudget { .. } | EngineError::CompileTimeout { .. } => "COMPILE_BUDGET",
            EngineError::ImportNotAllowed { .. } | EngineError::ImportNotGranted { .. } => "IMPORT_NOT_GRANTED",
            EngineError::Contract { .. } => "COMPONENT_CONTRACT",
            // The same class (and operator remedy) as the run-time limit: raise `limits.memory_bytes`.
            EngineError::MemoryDeclared { .. } => "MEMORY_LIMIT",
            EngineError::LimitUnsupported { .. } => "LIMIT_UNSUPPORTED",
            EngineError::Cache(e) => e.code(),
        }
    }

    /// Whether the same component and budget always give this error: false for the compile wall clock,
    /// which depends on the machine (and on whether the component was already compiled and cached).
    pub fn is_deterministic(&self) -> bool {
        !matches!(self, EngineError::CompileTimeout { .. })
    }
}

/// Why one invocation did not produce a routable result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("input is {bytes} bytes, more than the node's limit of {limit}")]
    InputTooLarge { bytes: u64, limit: u64 },
    #[error("the node ran out of fuel (limit {limit})")]
    FuelExhausted { limit: u64 },
    #[error("the node exceeded its memory or table limit: {detail}")]
    MemoryLimit { detail: String },
    /// The wall-clock backstop fired. Unlike every other error this one depends on the machine.
    #[error("the node ran longer than its wall-clock backstop of {limit_ms} ms")]
    WallClock { limit_ms: u64 },
    #[error("the node trapped: {message}")]
    Trap { message: String },
    #[error("the node rejected its input: {0}")]
    InvalidInput(String),
    #[error("the node failed: {0}")]
    Internal(String),
    #[error("output is {bytes} bytes, more than the node's limit of {limit}")]
    OutputTooLarge { bytes: u64, limit: u64 },
    /// The outcome name is longer than any outcome can be ([`crate::MAX_OUTCOME_BYTES`]).
    #[error("outcome {prefix} is {bytes} bytes, more than the {limit} an outcome name may have")]
    OutcomeTooLong { prefix: String, bytes: u64, limit: u64 },
    #[error("output is not JSON: {detail}")]
    OutputNotJson { detail: String },
    /// A storage call was refused for lack of a grant. The run fails even if the guest carried on.
    #[error("storage call refused: {0}")]
    NotGranted(Refusal),
    /// A storage call was refused by a budget (call count, value size, key length).
    #[error("storage call refused: {0}")]
    StorageLimit(Refusal),
    /// The backend failed (`other`), or answered a request with the wrong kind of response.
    #[error("storage backend failed: {0}")]
    StorageFailed(String),
}

impl InvokeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InvokeError::InputTooLarge { .. } => "INPUT_TOO_LARGE",
            InvokeError::FuelExhausted { .. } => "FUEL_EXHAUSTED",
            InvokeError::MemoryLimit { .. } => "MEMORY_LIMIT",
            InvokeError::WallClock { .. } => "WALL_CLOCK",
            InvokeError::Trap { .. } => "NODE_TRAP",
            InvokeError::InvalidInput(_) => "NODE_INVALID_INPUT",
            InvokeError::Internal(_) => "NODE_INTERNAL",
            InvokeError::OutputTooLarge { .. } => "OUTPUT_TOO_LARGE",
            InvokeError::OutcomeTooLong { .. } => "OUTCOME_TOO_LONG",
            InvokeError::OutputNotJson { .. } => "OUTPUT_NOT_JSON",
            InvokeError::NotGranted(_) => "NOT_GRANTED",
            InvokeError::StorageLimit(_) => "STORAGE_LIMIT",
            InvokeError::StorageFailed(_) => "STORAGE_FAILED",
        }
    }

    /// Whether the same component, input, limits and storage state always give this error. False for
    /// the wall-clock backstop and for backend failures: a replay may legitimately differ there.
    pub fn is_deterministic(&self) -> bool {
        !matches!(self, InvokeError::WallClock { .. } | InvokeError::StorageFailed(_))
    }

    /// The error for a refusal recorded by the gate.
    pub fn from_refusal(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotGranted { .. } => InvokeError::NotGranted(refusal),
            Refusal::TooManyCalls { .. }
            | Refusal::ValueTooLarge { .. }
            | Refusal::KeyInvalid { .. }
            | Refusal::RunTooManyCalls { .. }
            | Refusal::RunBytesExceeded { .. } => InvokeError::StorageLimit(refusal),
        }
    }
}
