//! The compile budget: what a component may cost before Cranelift is asked to compile it.
//!
//! Compilation is the one host cost a component controls before any fuel or wall clock applies: a
//! 6.5 MB component of 300,000 trivial functions took 16-18 s and 1.8 GB to compile, at seal and on every
//! cold run. The budget bounds its two drivers, checked by a streaming parse (no compilation, no
//! allocation in proportion to the component): the size in bytes and the number of function bodies,
//! summed over every core module the component holds, nested ones included.
//!
//! It must never compile, instantiate or keep any part of the component.

use sealed_snapshot::RunLimits;

use crate::EngineError;

/// The largest component the engine compiles, in bytes. A Rust capability is tens to hundreds of KiB; an
/// interpreter-based one (CPython or SpiderMonkey inside) is 10-40 MiB. The ceiling of
/// `run_limits.max_component_bytes`.
pub const MAX_COMPONENT_BYTES: u64 = RunLimits::CEILING.max_component_bytes;

/// The most function bodies the engine compiles for one component. Interpreter-based components have
/// tens of thousands; compile time grows with the count (about 55 µs each on the reference machine). The
/// ceiling of `run_limits.max_component_functions`.
pub const MAX_FUNCTIONS: u64 = RunLimits::CEILING.max_component_functions;

/// What compiling one component may cost: its size, its function bodies (both counted before Cranelift
/// runs) and the wall clock Cranelift may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileBudget {
    pub max_bytes: u64,
    pub max_functions: u64,
    /// Milliseconds; see [`crate::Engine`]'s compile thread: on expiry the compilation is abandoned.
    pub max_ms: u64,
}

impl CompileBudget {
    /// The host's own budget (the ceilings of [`RunLimits::CEILING`]): used where no manifest applies
    /// (`host inspect`, `host cache warm`).
    pub const HOST: CompileBudget = CompileBudget {
        max_bytes: MAX_COMPONENT_BYTES,
        max_functions: MAX_FUNCTIONS,
        max_ms: RunLimits::CEILING.compile_ms,
    };

    /// The compile budget of a workflow's run limits, never above [`CompileBudget::HOST`] (a loaded
    /// manifest is already checked against the ceilings; this keeps the engine safe on its own).
    pub fn of(limits: &RunLimits) -> CompileBudget {
        CompileBudget {
            max_bytes: limits.max_component_bytes.min(Self::HOST.max_bytes),
            max_functions: limits.max_component_functions.min(Self::HOST.max_functions),
            max_ms: limits.compile_ms.min(Self::HOST.max_ms),
        }
    }
}

impl Default for CompileBudget {
    fn default() -> Self {
        Self::HOST
    }
}

/// Refuses `bytes` when it is over the host's budget ([`CompileBudget::HOST`]).
pub fn check(name: &str, bytes: &[u8]) -> Result<(), EngineError> {
    check_within(name, bytes, &CompileBudget::HOST)
}

/// Refuses `bytes` when it is over `budget` (size, then function count); a parse error is left to the
/// compiler, which reports it better (`COMPONENT_INVALID`).
pub fn check_within(name: &str, bytes: &[u8], budget: &CompileBudget) -> Result<(), EngineError> {
    let over = |detail: String| EngineError::CompileBudget {
        name: name.to_string(),
        detail,
    };
    let (max_bytes, max_functions) = (budget.max_bytes, budget.max_functions);
    if bytes.len() as u64 > max_bytes {
        return Err(over(format!(
            "{} bytes, more than the {max_bytes} bytes allowed (run_limits.max_component_bytes; host ceiling \
             {MAX_COMPONENT_BYTES})",
            bytes.len()
        )));
    }
    let mut functions: u64 = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        if let wasmparser::Payload::CodeSectionStart { count, .. } = payload {
            functions = functions.saturating_add(u64::from(count));
            if functions > max_functions {
                return Err(over(format!(
                    "more than {max_functions} function bodies (run_limits.max_component_functions; host ceiling \
                     {MAX_FUNCTIONS}; a core module declares {count}); split the capability or trim its \
                     dependencies"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A core module with `n` empty functions of type `[] -> []`, wrapped as the code section declares.
    fn module_with_functions(n: u32) -> Vec<u8> {
        fn leb(mut v: u32, out: &mut Vec<u8>) {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    return;
                }
                out.push(byte | 0x80);
            }
        }
        fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
            out.push(id);
            leb(body.len() as u32, out);
            out.extend(body);
        }
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        section(1, vec![1, 0x60, 0, 0], &mut m);
        let mut funcs = Vec::new();
        leb(n, &mut funcs);
        funcs.extend(std::iter::repeat_n(0u8, n as usize));
        section(3, funcs, &mut m);
        let mut code = Vec::new();
        leb(n, &mut code);
        for _ in 0..n {
            code.extend([2, 0, 0x0b]);
        }
        section(10, code, &mut m);
        m
    }

    #[test]
    fn counts_function_bodies_before_compiling() {
        assert!(check("small", &module_with_functions(10)).is_ok());
        let err = check("many", &module_with_functions(MAX_FUNCTIONS as u32 + 1)).unwrap_err();
        assert_eq!(err.code(), "COMPILE_BUDGET");
        assert!(err.to_string().contains("100000 function bodies"), "{err}");
    }

    #[test]
    fn size_is_checked_first() {
        let big = vec![0u8; MAX_COMPONENT_BYTES as usize + 1];
        assert_eq!(check("big", &big).unwrap_err().code(), "COMPILE_BUDGET");
    }
}
