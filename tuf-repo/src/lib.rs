//! Placeholder; being written.

pub mod cli;
