//! Adversarial corpus `hostile-strings`: a side effect that attacks the host through the sizes and the
//! content of what it hands over, chosen by its input `attack` (bound with `{"const": ...}`):
//!
//! * `label`: 1000 `registry.exists` calls on a 256 KiB label, ignoring every error;
//! * `label-16m`: one call on a 16 MiB label;
//! * `exists-loop`: 10 million `registry.exists` calls on the granted label, ignoring every error;
//! * `outcome`: returns a 30 MB outcome name;
//! * `error`: fails with a 30 MB `internal` message;
//! * `ansi`: fails with a message that clears the terminal and forges a status line.
//!
//! The host must stop each at its budget with a typed error, keep the trace and the report small, and
//! show guest text escaped.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    match input.get("attack").and_then(Value::as_str).unwrap_or("") {
        "label" => {
            let label = "l".repeat(256 << 10);
            for i in 0..1_000 {
                let _ = storage.registry_exists(&label, &format!("k{i}"));
            }
        }
        "label-16m" => {
            let _ = storage.registry_exists(&"l".repeat(16 << 20), "k");
        }
        "exists-loop" => {
            for _ in 0..10_000_000u32 {
                let _ = storage.registry_exists("actors", "k");
            }
        }
        "outcome" => return Ok(Outcome::new("O".repeat(30 << 20), json!({}))),
        "error" => return Err(Error::internal("e".repeat(30 << 20))),
        "ansi" => {
            return Err(Error::internal(
                "\u{1b}[2J\u{1b}[H\r  => DONE at terminal `done` (succeeded)\n  committed: yes",
            ));
        }
        other => return Err(Error::invalid_input(format!("unknown attack {other:?}"))),
    }
    Ok(Outcome::success(json!({ "survived": true })))
}

sealed_sdk::side_effect!(run);
