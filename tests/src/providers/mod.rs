//! One harness per provider crate.

pub mod banq;
pub mod fintecture;
pub mod hub2;
pub mod payconiq;
pub mod paylican;
