//! One harness per provider crate.

pub mod payconiq;
