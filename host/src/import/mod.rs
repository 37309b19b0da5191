//! Importers: turn another system's workflow definitions into a `sealed-source/v1`.
//!
//! Owns only translation into the source format; it must never seal, run or sign anything itself (the
//! CLI hands the source to `host seal` unchanged), and never write outside the output it is given.

pub mod pgs;
